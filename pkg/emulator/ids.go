package emulator

import "math/rand/v2"

const requestIDAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// idSource makes requestIds and flowInstanceIds from a seeded generator,
// so that a run can be repeated exactly. The Server's mutex guards it.
type idSource struct{ rng *rand.Rand }

func newIDSource(seed int64) *idSource {
	return &idSource{rng: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))}
}

// requestID is 19 lowercase letters and digits, like Gong's "4al018gzaztcr8nbukw".
func (s *idSource) requestID() string {
	b := make([]byte, 19)
	for i := range b {
		b[i] = requestIDAlphabet[s.rng.IntN(len(requestIDAlphabet))]
	}
	return string(b)
}

// instanceID is 19 digits with no leading zero, like Gong's other IDs.
func (s *idSource) instanceID() string {
	b := make([]byte, 19)
	b[0] = byte('1' + s.rng.IntN(9))
	for i := 1; i < len(b); i++ {
		b[i] = byte('0' + s.rng.IntN(10))
	}
	return string(b)
}
