package gongclock

import (
	"testing"
	"time"
)

// local is the local clock's reading at the send of every case.
var local = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// answer is one observation: the request left at local+sent, the answer
// came at local+received, Gong stamped it local+date.
type answer struct {
	sent, received, date time.Duration
	noDate               bool // the answer had no Date header
}

func (a answer) observe(c *Clock) {
	date := local.Add(a.date)
	if a.noDate {
		date = time.Time{}
	}
	c.Observe(local.Add(a.sent), local.Add(a.received), date)
}

func TestJudge(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		answers []answer
		created string        // Gong's flowInstanceCreateDate
		sent    time.Duration // the judged request's send, from local
		want    Verdict
	}{
		{
			name:    "clocks agree; made 20 s before the send: someone else's",
			answers: []answer{{sent: 0, received: 40 * ms}},
			created: "2026-12-07T09:59:40.000Z", want: Before,
		},
		{
			name:    "clocks agree; made 2 s after the send",
			answers: []answer{{sent: 0, received: 40 * ms}},
			created: "2026-12-07T10:00:02.000Z", want: After,
		},
		{
			name:    "made as the request arrived: within the uncertainty",
			answers: []answer{{sent: 0, received: 40 * ms}},
			created: "2026-12-07T10:00:00.020Z", want: Inside,
		},
		{
			name:    "Gong 3 min behind: its own instance, dated 3 min before the local send",
			answers: []answer{{received: 40 * ms, date: -3 * time.Minute}},
			created: "2026-12-07T09:57:00.020Z", want: Inside,
		},
		{
			name:    "Gong 3 min behind: an instance 20 s older than the send on Gong's clock",
			answers: []answer{{received: 40 * ms, date: -3 * time.Minute}},
			created: "2026-12-07T09:56:40.000Z", want: Before,
		},
		{
			name:    "Gong 3 min ahead: made 30 s before the send on Gong's clock, though after it on the local one",
			answers: []answer{{received: 40 * ms, date: 3 * time.Minute}},
			created: "2026-12-07T10:02:30.000Z", want: Before,
		},
		{
			name:    "a date to the second covers its whole second",
			answers: []answer{{sent: 0, received: 40 * ms}},
			created: "2026-12-07T09:59:59Z", want: Inside,
		},
		{
			name:    "a date to the second, the second before the earliest send",
			answers: []answer{{sent: 0, received: 40 * ms}},
			created: "2026-12-07T09:59:58-00:00", want: Before,
		},
		{
			name:    "one answer: dated 0.1 s after the local send, inside",
			answers: []answer{{received: 10 * ms}},
			created: "2026-12-07T10:00:00.100Z", want: Inside,
		},
		{
			// The latest answer shows Gong's clock at least 0.39 s ahead:
			// the send reached Gong after 10:00:00.390 on its clock.
			name:    "the latest answer counts: the same date is now before",
			answers: []answer{{received: 10 * ms}, {sent: 2600 * ms, received: 2610 * ms, date: 3 * time.Second}},
			created: "2026-12-07T10:00:00.100Z", want: Before,
		},
		{
			// Gong's clock stood still at 10:00:00 (a test's frozen clock)
			// while 5 s passed here: an instance it dates 10:00:00, created
			// by a request sent at 5 s, is not judged older than it.
			name:    "a clock that stands still: no intersection of old answers",
			answers: []answer{{received: 10 * ms}, {sent: 5000 * ms, received: 5010 * ms}},
			created: "2026-12-07T10:00:00.000Z", sent: 5000 * ms, want: Inside,
		},
		{
			name:    "no Date seen: the local clock, give or take Unknown",
			created: "2026-12-07T09:59:30.000Z", want: Inside,
		},
		{
			name:    "no Date seen: older than Unknown before the send",
			created: "2026-12-07T09:58:00.000Z", want: Before,
		},
		{
			name:    "a request sent later than the answers: the offset still applies",
			answers: []answer{{received: 40 * ms, date: -3 * time.Minute}},
			created: "2026-12-07T09:57:05.000Z", sent: 10 * time.Second, want: Before,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Clock
			for _, a := range tt.answers {
				a.observe(&c)
			}
			in, err := ParseInstant(tt.created)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Judge(in, local.Add(tt.sent)); got != tt.want {
				lo, hi, known := c.Offset()
				t.Errorf("Judge = %v, want %v (offset [%v, %v), known %v)", got, tt.want, lo, hi, known)
			}
		})
	}
}

func TestObserve(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		answers []answer
		lo, hi  time.Duration
		known   bool
	}{
		{name: "none", lo: -Unknown, hi: Unknown},
		{name: "one answer: its round trip plus a second", answers: []answer{{sent: 0, received: 40 * ms}}, lo: -40 * ms, hi: time.Second, known: true},
		{
			name:    "two answers: the latest",
			answers: []answer{{sent: 0, received: 40 * ms}, {sent: 1700 * ms, received: 1720 * ms, date: 2 * time.Second}},
			lo:      280 * ms, hi: 1300 * ms, known: true,
		},
		{
			name:    "an answer without a Date keeps the last one's offset",
			answers: []answer{{sent: 0, received: 40 * ms}, {sent: 100 * ms, received: 120 * ms, noDate: true}},
			lo:      -40 * ms, hi: time.Second, known: true,
		},
		{
			name:    "a stepped clock: the latest answer",
			answers: []answer{{sent: 0, received: 40 * ms}, {sent: 100 * ms, received: 120 * ms, date: time.Hour}},
			lo:      time.Hour - 120*ms, hi: time.Hour + 900*ms, known: true,
		},
		{name: "no Date header: nothing learnt", answers: []answer{{sent: 0, received: 40 * ms, noDate: true}}, lo: -Unknown, hi: Unknown},
		{name: "received before sent: nothing learnt", answers: []answer{{sent: 40 * ms}}, lo: -Unknown, hi: Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Clock
			for _, a := range tt.answers {
				a.observe(&c)
			}
			lo, hi, known := c.Offset()
			if lo != tt.lo || hi != tt.hi || known != tt.known {
				t.Errorf("Offset = [%v, %v) %v, want [%v, %v) %v", lo, hi, known, tt.lo, tt.hi, tt.known)
			}
		})
	}
}

func TestParseInstant(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"2024-01-17T16:20:05-03:00", time.Second},
		{"2016-02-16T03:57:04.834+05:30", time.Millisecond},
		{"2020-11-20T21:30:07.233692Z", time.Microsecond},
		{"2020-11-20T21:30:07.5Z", 100 * time.Millisecond},
	}
	for _, tt := range tests {
		got, err := ParseInstant(tt.in)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if d := got.To.Sub(got.From); d != tt.want {
			t.Errorf("%s: precision %v, want %v", tt.in, d, tt.want)
		}
	}
	if _, err := ParseInstant(""); err == nil {
		t.Error("an empty date parsed")
	}
}
