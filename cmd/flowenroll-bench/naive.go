package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// naiveScript is the baseline flowenroll is measured against: the script a
// person would write in a few lines. It groups the file's IDs by flow and
// owner (lower-cased), 200 distinct IDs to a request, and sends the requests
// one at a time: after each answer it sleeps 1/rate; on a 429 it sleeps the
// Retry-After and sends the same request again. After each answered request
// it writes how many are done to a progress file, and run again it skips
// them. Stopped (ctx ends), it drops the request in flight, as a script
// killed with Ctrl-C does: run again, it sends that one again.
type naiveScript struct {
	base, input string
	progress    string  // the progress file
	rate        float64 // requests per second; +Inf: no sleeping
	limit       int     // send at most this many requests this run; 0: all
}

// naiveResult is what one run of the script did.
type naiveResult struct {
	sent, limited int // requests sent, and of them answered 429
	done          bool
}

func (n naiveScript) run(ctx context.Context) (naiveResult, error) {
	var res naiveResult
	reqs, err := naiveRequests(n.input)
	if err != nil {
		return res, err
	}
	done := 0
	if b, err := os.ReadFile(n.progress); err == nil {
		done, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	pause := time.Duration(0)
	if !math.IsInf(n.rate, 1) {
		pause = time.Duration(float64(time.Second) / n.rate)
	}
	auth := gong.Credentials{AccessKey: "bench", AccessKeySecret: "bench"}.Header()
	hc := &http.Client{Timeout: defaultTimeout}
	defer hc.CloseIdleConnections()
	for i := done; i < len(reqs) && (n.limit == 0 || res.sent < n.limit); {
		body, _ := json.Marshal(reqs[i])
		r, _ := http.NewRequestWithContext(ctx, http.MethodPost, n.base+gong.PathAssign, bytes.NewReader(body))
		r.Header.Set("Authorization", auth)
		r.Header.Set("Content-Type", "application/json")
		res.sent++
		resp, err := hc.Do(r)
		if ctx.Err() != nil {
			return res, nil // stopped: the request in flight is dropped
		}
		if err != nil {
			return res, err
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // drained for the connection's reuse
		resp.Body.Close()
		wait := pause
		if resp.StatusCode == http.StatusTooManyRequests {
			res.limited++
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			wait = time.Duration(max(1, secs)) * time.Second
		} else {
			i++
			if err := os.WriteFile(n.progress, []byte(strconv.Itoa(i)), 0o600); err != nil {
				return res, err
			}
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return res, nil
		}
	}
	res.done = n.limit == 0 || res.sent < n.limit
	return res, nil
}

// naiveRequests reads the input (crmProspectId, flowId,
// flowInstanceOwnerEmail, as the bench writes it) into the requests the
// script sends: per (flow, lower-cased owner), in order of first appearance,
// the distinct IDs 200 at a time.
func naiveRequests(path string) ([]gong.AssignRequest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd := csv.NewReader(f)
	if _, err := rd.Read(); err != nil {
		return nil, err
	}
	type key struct{ flow, owner string }
	var order []key
	ids := map[key][]string{}
	seen := map[key]map[string]bool{}
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) != 3 {
			return nil, fmt.Errorf("naive script: %d cells in a row, want 3", len(rec))
		}
		k := key{rec[1], strings.ToLower(rec[2])}
		if seen[k] == nil {
			seen[k] = map[string]bool{}
			order = append(order, k)
		}
		if !seen[k][rec[0]] {
			seen[k][rec[0]] = true
			ids[k] = append(ids[k], rec[0])
		}
	}
	var reqs []gong.AssignRequest
	for _, k := range order {
		for all := ids[k]; len(all) > 0; {
			c := all[:min(defaultChunkSize, len(all))]
			all = all[len(c):]
			reqs = append(reqs, gong.AssignRequest{CRMProspectsIDs: c, FlowID: k.flow, FlowInstanceOwnerEmail: k.owner})
		}
	}
	return reqs, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
