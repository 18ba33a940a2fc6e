//go:build race

package e2e

// raceEnabled: under go test -race the binary is built with -race too, so
// that a data race in the job itself fails the suite.
const raceEnabled = true
