package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flowenroll/flowenroll/pkg/enroll"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// DailyQuota is Gong's default company quota of requests a day.
const DailyQuota = 10000

func printSummary(w io.Writer, out string, s report.Summary, exit int) {
	fmt.Fprintf(w, "\nflowenroll: %d rows read from %s", s.RowsRead, s.Input)
	if s.Resumed {
		fmt.Fprint(w, " (resumed)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  assigned     %d\n", s.Assigned)
	fmt.Fprintf(w, "  failed       %d", s.Failed)
	if len(s.FailedByStage) > 0 {
		var parts []string
		for _, stage := range sortedKeys(s.FailedByStage) {
			n := 0
			for _, k := range s.FailedByStage[stage] {
				n += k
			}
			parts = append(parts, fmt.Sprintf("%s %d", stage, n))
		}
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  unprocessed  %d", s.Unprocessed)
	if len(s.UnprocessedByReason) > 0 {
		var parts []string
		for _, r := range sortedKeys(s.UnprocessedByReason) {
			parts = append(parts, fmt.Sprintf("%s %d", r, s.UnprocessedByReason[r]))
		}
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  requests %d, retries %d, 429s %d, time %.1fs\n", s.Requests, s.Retries, s.RateLimited, s.WallTimeSeconds)
	if exit != s.ExitCode {
		fmt.Fprintf(w, "  results in %s (exit %d: some rows failed; the process exits %d, --row-failures-exit-code)\n", out, s.ExitCode, exit)
	} else {
		fmt.Fprintf(w, "  results in %s (exit %d)\n", out, s.ExitCode)
	}
	if s.ExitCode == outcome.ExitStoppedEarly {
		fmt.Fprintf(w, "  stopped early (%s): run the same command to continue\n", s.StopReason)
	}
}

// Duration at the quota: how long requests take at rate a second, and how
// many days at DailyQuota a day.
func atQuota(requests int, rate float64) (time.Duration, int) {
	d := time.Duration(float64(requests) / rate * float64(time.Second)).Round(time.Second)
	return d, int(math.Ceil(float64(requests) / DailyQuota))
}

func printPlan(w io.Writer, p enroll.Plan, rate float64) {
	fmt.Fprintf(w, "plan for %s: %d rows read, %d valid, %d rejected, %d requests\n", p.Input, p.RowsRead, p.Valid, p.Rejected, p.Requests)
	d, days := atQuota(p.Requests+int(p.FlowListings), rate)
	fmt.Fprintf(w, "at %g requests a second: about %s", rate, d)
	if days > 1 {
		fmt.Fprintf(w, "; %d days at Gong's %d requests a day (a CronJob resumes each day)", days, DailyQuota)
	} else {
		fmt.Fprintf(w, "; %.1f%% of a day's %d requests", 100*float64(p.Requests)/DailyQuota, DailyQuota)
	}
	fmt.Fprint(w, "\n")
	printPeople(w, p)
	fmt.Fprint(w, "\n")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FLOW ID\tOWNER\tROWS\tREQUESTS")
	for _, g := range p.Groups {
		owner := g.OwnerEmail
		if g.Bulk {
			owner += " (people, bulk)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", g.FlowID, owner, g.Rows, g.Requests)
	}
	tw.Flush()
	if len(p.RejectedByCode) > 0 {
		fmt.Fprintln(w, "\nrejected rows:")
		for _, code := range sortedKeys(p.RejectedByCode) {
			r := p.RejectedByCode[code]
			fmt.Fprintf(w, "  %s: %d, for example %s\n", code, r.Rows, r.Example)
		}
	}
	if p.FailedCSV != "" && p.Rejected > 0 {
		fmt.Fprintf(w, "\nrejected rows written to %s\n", p.FailedCSV)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
	if p.Note != "" {
		fmt.Fprintf(w, "\nnote: %s\n", p.Note)
	}
	if p.FlowListings > 0 {
		fmt.Fprintf(w, "flow listings: %d requests (GET /v2/flows)\n", p.FlowListings)
	}
	fmt.Fprintln(w, "\nnothing was assigned (plan is a dry run)")
}

// printPeople says how many rows go each way, when some rows are people
// without a CRM ID, and what Gong may create for them.
func printPeople(w io.Writer, p enroll.Plan) {
	if p.People == 0 {
		return
	}
	fmt.Fprintf(w, "%d rows by CRM ID (assign); %d people without one in %d bulk assignments of up to 50 (about %d more requests to read them)\n",
		p.Valid-p.People, p.People, p.BulkSubmits, p.BulkSubmits*enroll.BulkReadsEach)
	fmt.Fprintln(w, "warning: Gong creates a CRM record for each person it does not find by email; undo removes the flow instances, not those records")
}
