package ledger

// Lines is a set of input line numbers, one bit a line.
type Lines struct{ bits []uint64 }

// Add puts line in the set.
func (s *Lines) Add(line int) {
	if line < 0 {
		return
	}
	i := line / 64
	for i >= len(s.bits) {
		s.bits = append(s.bits, 0)
	}
	s.bits[i] |= 1 << (uint(line) % 64)
}

// Has reports whether line is in the set.
func (s *Lines) Has(line int) bool {
	i := line / 64
	return line >= 0 && i < len(s.bits) && s.bits[i]&(1<<(uint(line)%64)) != 0
}
