//go:build race

package input

// raceEnabled: the race detector slows XML decoding some twentyfold, and
// the bombs that are refused by count (cells, rows, shared strings) decode
// millions of elements first.
const raceEnabled = true
