package console

import (
	"math"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// estimate returns the time requests take at rate, and the days they need
// at quota a day.
func estimate(requests int, rate float64, quota int) *store.Estimate {
	e := &store.Estimate{Rate: rate, DailyQuota: quota, Today: requests, Days: 1}
	if rate > 0 {
		e.Seconds = math.Ceil(float64(requests) / rate)
	}
	if quota > 0 && requests > quota {
		e.Today = quota
		e.Days = (requests + quota - 1) / quota
		// Each day's share goes at the rate; the rest waits for the next day.
		if rate > 0 {
			e.Seconds = math.Ceil(float64(quota) / rate)
		}
	}
	return e
}

// exitWords says a run's exit code in words.
func exitWords(kind string, code int) string {
	switch {
	case kind == store.KindUndo && code == outcome.ExitOK:
		return "every flow instance the run created is removed"
	case kind == store.KindUndo && code == outcome.ExitSomeFailed:
		return "finished; Gong kept some flow instances (see undo-failed.csv)"
	case kind == store.KindUndo && code == outcome.ExitStoppedEarly:
		return "stopped early; some flow instances are not removed yet"
	case kind == store.KindVerify && code == outcome.ExitOK:
		return "every assigned row was read back"
	case kind == store.KindVerify && code == outcome.ExitStoppedEarly:
		return "stopped early; some rows were not read back"
	}
	switch code {
	case 0:
		return "every row was assigned"
	case 1:
		return "the run could not go on (see the error)"
	case 3:
		return "finished; some rows failed"
	case 4:
		return "stopped early; some rows were not sent yet"
	}
	return ""
}
