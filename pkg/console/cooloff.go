package console

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/flowenroll/flowenroll/pkg/console/store"
)

// startRequest is the optional JSON body of POST /api/v1/runs/{id}/start.
// An empty body is a start with nothing ticked (or, for a resumption, the
// choices of the first start).
type startRequest struct {
	// OverrideCoolOff: nil when not said (a resumption keeps the first
	// start's choice), else the person's choice.
	OverrideCoolOff *bool `json:"overrideCoolOff"`
}

// readStart reads the start's body; a missing or empty one is valid.
func readStart(w http.ResponseWriter, r *http.Request) (startRequest, error) {
	var req startRequest
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	err := json.NewDecoder(r.Body).Decode(&req)
	if err != nil && !errors.Is(err, io.EOF) {
		return req, errors.New(`Send the start's choices as JSON, {"overrideCoolOff": true}, or nothing.`)
	}
	return req, nil
}

// chooseCoolOff records the cool-off override on the run as its first
// start chose it (a run stopped in the queue, which never began, chooses
// again). A resumption continues the run as it began: without a
// choice it keeps the first one; a different choice is refused, because
// some of the run's rows were already sent one way. Rows refused for
// their cool-off period are failed rows: retry them as a new run, and
// tick the override there.
func chooseCoolOff(r *store.Run, want *bool, user string, now time.Time) error {
	// A run stopped while still queued sent nothing: its start is still
	// its first.
	if r.Status == store.StatusChecked || r.StartedAt.IsZero() {
		if want == nil && r.Status != store.StatusChecked {
			// Continued with no choice: as it was ticked when queued.
			return nil
		}
		r.OverrideCoolOff = nil
		if want != nil && *want && r.Plan != nil && r.Plan.Valid <= r.Plan.People {
			// The record would claim an override nothing used.
			return constError("Every row of this file is a person without a CRM ID, enrolled through bulk assignments: the cool-off override concerns rows by CRM ID only. Start without it.")
		}
		if want != nil && *want {
			r.OverrideCoolOff = &store.Tick{By: user, At: now}
		}
		return nil
	}
	if want == nil || *want == (r.OverrideCoolOff != nil) {
		return nil
	}
	if *want {
		return constError("This run began without the cool-off override, and continues without it. To enroll the people Gong refused for their cool-off period, retry the failed rows as a new run and tick the override there.")
	}
	return constError("This run began with the cool-off override (ticked by " + r.OverrideCoolOff.By + "), and continues with it. Stop here, or continue it as it began.")
}
