package console

import (
	"math"

	"github.com/flowenroll/flowenroll/pkg/console/store"
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
