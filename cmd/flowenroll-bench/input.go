package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
)

// header is the canonical header; the rows carry exactly these three columns,
// so the bare CSV loop and plan read the same cells.
const header = "crmProspectId,flowId,flowInstanceOwnerEmail\n"

// Flows and owners of emulator.DefaultFixture. The company flows are visible
// to every owner, so the preflight lets every row through.
const (
	flowOutbound = "1695493301223590792"
	flowWebinar  = "1702318845120411230"
	flowDemo     = "1711046208531772911"
	ownerAva     = "ava.reyes@example.com"
	ownerBen     = "ben.okafor@example.com"
	ownerChloe   = "chloe.martin@example.com"
	ownerDan     = "dan.kowalski@example.com"
)

// group is one (flow, owner) of an input.
type group struct{ flow, owner string }

// appendID appends a distinct, Salesforce-like CRM ID for n: "003X" and 14
// base-36 digits. The X keeps an ID such as 003000000000001E5 from reading
// as scientific notation, which flowenroll rejects as spreadsheet damage.
func appendID(b []byte, n int) []byte {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var d [14]byte
	for k := len(d) - 1; k >= 0; k-- {
		d[k] = digits[n%36]
		n /= 36
	}
	b = append(b, "003X"...)
	return append(b, d[:]...)
}

// writeRows writes a CSV of n rows with distinct IDs, dealt round-robin over
// groups.
func writeRows(path string, n int, groups []group) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(header)
	var b []byte
	for i := range n {
		g := groups[i%len(groups)]
		b = appendID(b[:0], i)
		b = append(b, ',')
		b = append(b, g.flow...)
		b = append(b, ',')
		b = append(b, g.owner...)
		b = append(b, '\n')
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// efficiencyInput writes the request-efficiency input: twelve (flow, owner)
// groups whose sizes sit on both sides of the chunk size, rows interleaved
// at random (seeded), owners spelled in two cases, and one row in twenty
// repeated later in the file. It returns the minimum number of assign
// requests for it: the sum over groups of the distinct IDs divided by the
// chunk size, rounded up, computed here on its own, not by flowenroll.
func efficiencyInput(path string, chunkSize int) (rows, minimum int, err error) {
	sizes := []int{1, 199, 200, 201, 399, 400, 401, 57, 650, 3, 200, 123}
	flows := []string{flowOutbound, flowWebinar, flowDemo}
	owners := []string{ownerAva, ownerBen, ownerChloe, ownerDan}
	type line struct {
		id int
		g  group
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var lines []line
	id := 0
	for i, size := range sizes {
		g := group{flow: flows[i%len(flows)], owner: owners[i/len(flows)]}
		for range size {
			lines = append(lines, line{id, g})
			id++
		}
	}
	rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	// Repeats go after their first row, so they are the ones rejected.
	var out []line
	for i, l := range lines {
		out = append(out, l)
		if i%20 == 7 {
			l.g.owner = strings.ToUpper(l.g.owner[:1]) + l.g.owner[1:]
			out = append(out, l)
		}
	}

	distinct := map[group]map[int]bool{}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, 0, err
	}
	w := bufio.NewWriter(f)
	w.WriteString(header)
	var b []byte
	for i, l := range out {
		owner := l.g.owner
		if i%3 == 0 {
			owner = strings.ToUpper(owner[:1]) + owner[1:] // same owner to Gong
		}
		key := group{l.g.flow, strings.ToLower(owner)}
		if distinct[key] == nil {
			distinct[key] = map[int]bool{}
		}
		distinct[key][l.id] = true
		b = appendID(b[:0], l.id)
		b = fmt.Appendf(b, ",%s,%s\n", l.g.flow, owner)
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, 0, err
	}
	if err := f.Close(); err != nil {
		return 0, 0, err
	}
	for _, ids := range distinct {
		minimum += (len(ids) + chunkSize - 1) / chunkSize
	}
	return len(out), minimum, nil
}
