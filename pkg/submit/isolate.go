package submit

import (
	"context"
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// isolation finds the rows at fault in a request Gong refused with 400,
// by adaptive group testing: a request is refused when it holds at least
// one bad row, so a refused group holds one, and a group that passes holds
// none (and its rows are assigned).
//
//   - Rows a refusal names by their ID fail at once with what Gong said of
//     them; the rest of the request is sent again whole.
//   - A refusal that names the request's owner or flow and no row is about
//     the request: its rows, and later chunks of the flow and owner, fail.
//   - Otherwise the refused group is halved. The first refusal's halves are
//     both sent: both passing means Gong refused the request for its size.
//     Below that, only the first half of a refused group is sent: if it
//     passes, the bad row is in the second half, which is not sent as a
//     whole; if it is refused, the second half is not known either way and
//     waits in the pool. A bad row costs about log2 of its group's size.
//   - The pool is sent in groups sized by the bad rows seen so far (one
//     bad row per so many good ones: a group of that many holds about one),
//     generalized binary splitting with the number of bad rows estimated as
//     it goes. Requests grow with the bad rows k, about k·log2(n/k) + 2k for
//     n rows, not with n. When every row is bad (the request's own fault,
//     with a message that names nothing), the groups shrink to single rows:
//     about n requests, the least that proves each row bad alone.
//
// A row fails request/BadRequest only when Gong refused it alone, or named
// it: never for a neighbour. A group known bad by inference alone (its
// sibling passed) is sent alone before its last row fails. Rows not settled
// when the run stops (signal, budget, quota) are left unprocessed.
type isolation struct {
	sp       *splitter
	out      []outcome.Outcome
	suspects []suspect       // groups known to hold a bad row, searched depth first
	fresh    [][]outcome.Row // groups to send whole: a request less the rows Gong named
	pool     []outcome.Row   // rows not known either way
	bad      int             // rows found bad by a test (not by name)
	good     int             // rows settled by an answer
	most     int             // largest group sent from the pool: half the first refused request
	sends    int             // requests sent (not counting retries)
}

// suspect is a group that holds a bad row: refusal is Gong's 400 for it,
// or nil when that is inferred (a sibling passed) and it was not sent.
type suspect struct {
	rows    []outcome.Row
	refusal *gong.APIError
}

// isolate settles the rows of the refused request res.
func (sp *splitter) isolate(ctx context.Context, res result) ([]outcome.Outcome, error) {
	iso := &isolation{sp: sp, most: max(len(res.rows)/2, 1)}
	sp.log.Info("Gong refused the request (400); finding the rows at fault", zap.Int("rows", len(res.rows)), zap.String("message", res.refusal.Message()))
	var err error
	switch {
	case len(res.rows) < 2:
		iso.refused(res)
	case !iso.explained(res):
		err = iso.halves(ctx, res)
	}
	for err == nil && iso.left() {
		err = iso.step(ctx)
	}
	if err != nil {
		return nil, err
	}
	sp.log.Info("found the rows at fault in a refused request", zap.Int("bad", iso.bad), zap.Int("requests", iso.sends))
	return iso.out, nil
}

// left reports whether rows remain to be settled.
func (iso *isolation) left() bool {
	return len(iso.suspects) > 0 || len(iso.fresh) > 0 || len(iso.pool) > 0
}

// step sends one group: it narrows a suspect, or sends a fresh group, or
// a group of the pool. Once the run stops, every row left is settled as
// the stop says, with no request.
func (iso *isolation) step(ctx context.Context) error {
	sp := iso.sp
	if ctx.Err() != nil || sp.s.gw.Stopped() != "" {
		var rest []outcome.Row
		for _, g := range iso.suspects {
			rest = append(rest, g.rows...)
		}
		for _, g := range iso.fresh {
			rest = append(rest, g...)
		}
		rest = append(rest, iso.pool...)
		iso.suspects, iso.fresh, iso.pool = nil, nil, nil
		res, err := sp.once(ctx, rest) // sends nothing: the stop ends it first
		iso.out = append(iso.out, res.outcomes...)
		return err
	}
	switch {
	case len(iso.suspects) > 0:
		return iso.narrow(ctx)
	case len(iso.fresh) > 0:
		g := iso.fresh[0]
		iso.fresh = iso.fresh[1:]
		return iso.test(ctx, g)
	default:
		n := iso.groupSize()
		g := iso.pool[:n:n]
		iso.pool = iso.pool[n:]
		return iso.test(ctx, g)
	}
}

// halves sends both halves of the first refused request: if both pass,
// the refusal was about its size, which later requests learn.
func (iso *isolation) halves(ctx context.Context, res result) error {
	sp := iso.sp
	sp.s.gw.Split()
	half := len(res.rows) / 2
	left, err := iso.send(ctx, res.rows[:half])
	if err != nil {
		return err
	}
	right, err := iso.send(ctx, res.rows[half:])
	if err != nil {
		return err
	}
	if left.answered && right.answered {
		sp.s.size.refusedAt(half, len(res.rows))
	}
	for _, part := range []result{left, right} {
		if part.refusal != nil {
			iso.refused(part)
		}
	}
	return nil
}

// narrow takes the last suspect and sends its first half (or fewer rows,
// see perBad; a single row alone), keeping what that tells.
func (iso *isolation) narrow(ctx context.Context) error {
	g := iso.suspects[len(iso.suspects)-1]
	iso.suspects = iso.suspects[:len(iso.suspects)-1]
	if len(g.rows) == 1 {
		// Inferred only (a refused one was settled at once): the row
		// fails only if Gong refuses it alone.
		return iso.test(ctx, g.rows)
	}
	iso.sp.s.gw.Split()
	half := len(g.rows) / 2
	if iso.bad > 0 {
		// Where most rows are bad, halving wastes requests: send about as
		// many as hold one bad row (one, when every row is bad).
		half = min(half, iso.perBad())
	}
	first, rest := g.rows[:half], g.rows[half:]
	res, err := iso.send(ctx, first)
	switch {
	case err != nil:
		return err
	case res.answered:
		iso.suspects = append(iso.suspects, suspect{rows: rest})
	case res.refusal != nil:
		iso.pool = append(iso.pool, rest...)
		iso.refused(res)
	default: // stopped, in doubt or out of retries: rest is as unknown as before
		iso.pool = append(iso.pool, rest...)
	}
	return nil
}

// test sends a group that is not known to be bad.
func (iso *isolation) test(ctx context.Context, rows []outcome.Row) error {
	res, err := iso.send(ctx, rows)
	if err == nil && res.refusal != nil {
		iso.refused(res)
	}
	return err
}

// send sends rows once and keeps the outcomes they got.
func (iso *isolation) send(ctx context.Context, rows []outcome.Row) (result, error) {
	iso.sends++
	res, err := iso.sp.once(ctx, rows)
	iso.out = append(iso.out, res.outcomes...)
	if res.answered {
		iso.good += len(res.outcomes)
	}
	return res, err
}

// refused takes in a refusal of res.rows: rows it names fail and the rest
// is sent again; a refusal of the request's owner or flow fails every row
// left; a single row fails; a larger group becomes a suspect.
func (iso *isolation) refused(res result) {
	sp := iso.sp
	if iso.explained(res) {
		return
	}
	if len(res.rows) == 1 {
		iso.bad++
		iso.out = append(iso.out, sp.fail(res.refusal, res.refusal.Message(), res.rows)...)
		return
	}
	iso.suspects = append(iso.suspects, suspect{rows: res.rows, refusal: res.refusal})
}

// explained settles a refusal that says why: it names rows (they fail, the
// rest is sent again), or the request's owner or flow (every row left
// fails, as do later chunks of the flow and owner).
func (iso *isolation) explained(res result) bool {
	sp := iso.sp
	named, rest := namedIn(res.refusal, res.rows)
	if len(named) > 0 {
		for _, n := range named {
			iso.out = append(iso.out, sp.fail(res.refusal, n.message, []outcome.Row{n.row})...)
		}
		if len(rest) > 0 {
			iso.fresh = append(iso.fresh, rest)
		}
		return true
	}
	if !aboutRequest(res.refusal, sp.c) {
		return false
	}
	o := refusedGroup(res.refusal)
	sp.s.refused.LoadOrStore(chunk.GroupKey(sp.c.FlowID, sp.c.OwnerEmail), o)
	sp.log.Warn("Gong's refusal names this flow or owner; failing its rows without more requests", zap.String("message", res.refusal.Message()))
	all := append([]outcome.Row(nil), res.rows...)
	for _, g := range iso.suspects {
		all = append(all, g.rows...)
	}
	for _, g := range iso.fresh {
		all = append(all, g...)
	}
	all = append(all, iso.pool...)
	iso.suspects, iso.fresh, iso.pool = nil, nil, nil
	iso.out = append(iso.out, sameFor(o, all)...)
	return true
}

// groupSize is how many rows of the pool to send together: about as many
// as hold one bad row (see perBad); before any row is found bad, the whole
// pool. Never more than half the first refused request, which may have
// been refused for its size.
func (iso *isolation) groupSize() int {
	n := len(iso.pool)
	if iso.bad > 0 {
		n = iso.perBad()
	}
	return max(1, min(n, len(iso.pool), iso.most))
}

// perBad is how many rows hold about one bad row, judged by the rows
// settled so far (iso.bad > 0), as a power of two, so that a refused
// group halves evenly down to one row.
func (iso *isolation) perBad() int {
	return 1 << (bits.Len(uint((iso.good+iso.bad)/iso.bad)) - 1)
}

// namedRow is a row a refusal names, with the message that names it.
type namedRow struct {
	row     outcome.Row
	message string
}

// namedIn splits rows into those the refusal names by their CRM ID (as a
// whole word) and the rest.
func namedIn(api *gong.APIError, rows []outcome.Row) (named []namedRow, rest []outcome.Row) {
	for _, r := range rows {
		var msgs []string
		for _, e := range api.Errors {
			if containsWord(e, r.CRMProspectID) {
				msgs = append(msgs, e)
			}
		}
		if len(msgs) > 0 {
			named = append(named, namedRow{row: r, message: strings.Join(msgs, "; ")})
		} else {
			rest = append(rest, r)
		}
	}
	return named, rest
}

// aboutRequest reports whether a refusal names the request's owner or
// flow: then it is about the request, not a row of it.
func aboutRequest(api *gong.APIError, c chunk.Chunk) bool {
	for _, e := range api.Errors {
		if containsWord(strings.ToLower(e), strings.ToLower(c.OwnerEmail)) || containsWord(e, c.FlowID) {
			return true
		}
	}
	return false
}

// containsWord reports whether s holds word with no letter or digit
// either side of it.
func containsWord(s, word string) bool {
	if word == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if !wordRune(s[:start], true) && !wordRune(s[end:], false) {
			return true
		}
		i = start + 1
	}
}

// wordRune reports whether the rune of s next to a match (its last rune
// if before, else its first) is a letter or digit.
func wordRune(s string, before bool) bool {
	if s == "" {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s)
	if before {
		r, _ = utf8.DecodeLastRuneInString(s)
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}
