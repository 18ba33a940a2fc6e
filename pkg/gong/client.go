package gong

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// MaxBodyBytes bounds an answer body: a larger one is refused, not read into
// memory. A full assign answer for 200 prospects is about 100 KiB.
const MaxBodyBytes = 10 << 20

// MaxUnassignIDs is the most flow instance IDs one unassign request takes.
const MaxUnassignIDs = 200

// The operations, as errors name them.
const (
	opAssign    = "assign"
	opReadBack  = "read-back"
	opListFlows = "list flows"
	opListUsers = "list users"
	opUnassign  = "unassign"
)

// scopeOf is the OAuth scope an operation needs with a Bearer token, as the
// spec's operation descriptions give it.
func scopeOf(op string) string {
	switch op {
	case opAssign, opCoolOff, opUnassign, opBulkSubmit:
		return "api:flows:write"
	case opListUsers:
		return "api:users:read"
	}
	return "api:flows:read"
}

// Client calls Gong's Engage flow API. It makes one attempt per call; pacing
// and retries belong to the caller.
type Client struct {
	base *url.URL
	// auth returns the Authorization header. A func, not the Credentials, so
	// that fmt of a Client shows an address, never a secret.
	auth func() string
	http *http.Client
	log  *zap.Logger
	now  func() time.Time
	// reached is set by the first HTTP answer of any status.
	reached atomic.Bool
	// UserAgent is sent with every request.
	UserAgent string
}

// NewClient returns a client for the base URL (see ParseBaseURL). The
// http.Client carries the per-attempt timeout; nil means
// http.DefaultClient. The client uses a copy of it that follows no
// redirect: a redirect would carry the Authorization header, or replay a
// POST as a GET, to an address nobody configured.
func NewClient(base *url.URL, creds Credentials, hc *http.Client, log *zap.Logger) *Client {
	if log == nil {
		log = zap.NewNop()
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	own := *hc
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	header := creds.Header()
	return &Client{base: base, auth: func() string { return header }, http: &own, log: log, now: time.Now, UserAgent: "flowenroll"}
}

// Reached reports whether any call has had an HTTP answer, of any status,
// from the server. Until then a failure that Unreachable recognises is the
// configuration's, not a passing fault of the network.
func (c *Client) Reached() bool { return c.reached.Load() }

// Assign sends one assign request. A 200 that is not an assign answer is a
// *BadAnswerError inside a *TransportError with Sent set: Gong may have
// acted on it. Assign does not compare the answer with the request; see
// CheckAssignAnswer.
func (c *Client) Assign(ctx context.Context, req AssignRequest) (*AssignResponse, error) {
	return c.assignAt(ctx, opAssign, PathAssign, req)
}

// assignAt sends one assign request to path, the operation op.
func (c *Client) assignAt(ctx context.Context, op, path string, req AssignRequest) (*AssignResponse, error) {
	// Pointers tell an absent (or null) list from an empty one.
	var wire struct {
		RequestID            string           `json:"requestId"`
		ProspectsAssigned    *[]AssignedFlow  `json:"prospectsAssigned"`
		ProspectsNotAssigned *[]AssignFailure `json:"prospectsNotAssigned"`
	}
	var tm Timing
	if err := c.do(ctx, op, http.MethodPost, path, nil, req, &wire, &tm); err != nil {
		return nil, err
	}
	if wire.ProspectsAssigned == nil && wire.ProspectsNotAssigned == nil {
		reason := "answer lists neither prospectsAssigned nor prospectsNotAssigned (HTTP 200"
		if wire.RequestID != "" {
			reason += ", requestId " + clip(wire.RequestID)
		}
		return nil, &TransportError{Op: op, Host: c.base.Host, Sent: true, Err: &BadAnswerError{Op: op, Reason: reason + ")"}}
	}
	out := &AssignResponse{RequestID: wire.RequestID, Timing: tm}
	if wire.ProspectsAssigned != nil {
		out.ProspectsAssigned = *wire.ProspectsAssigned
	}
	if wire.ProspectsNotAssigned != nil {
		out.ProspectsNotAssigned = *wire.ProspectsNotAssigned
	}
	return out, nil
}

// ProspectsFlows reads back the open flow instances of the given CRM IDs.
func (c *Client) ProspectsFlows(ctx context.Context, crmIDs []string) (*ProspectsFlowsResponse, error) {
	var out ProspectsFlowsResponse
	if err := c.do(ctx, opReadBack, http.MethodPost, PathProspectsFlows, nil, ProspectsFlowsRequest{CRMProspectsIDs: crmIDs}, &out, &out.Timing); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListFlows reads one page of the flows visible to owner; cursor is "" for
// the first page.
func (c *Client) ListFlows(ctx context.Context, owner, cursor string) (*FlowsResponse, error) {
	q := url.Values{"flowOwnerEmail": {owner}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out FlowsResponse
	if err := c.do(ctx, opListFlows, http.MethodGet, PathFlows, q, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListUsers reads one page of the company's users; cursor is "" for the
// first page, and the answer's Records.Cursor is "" on the last.
func (c *Client) ListUsers(ctx context.Context, cursor string) (*UsersResponse, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out UsersResponse
	if err := c.do(ctx, opListUsers, http.MethodGet, PathUsers, q, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// UnassignByInstanceIDs ends the given flow instances. Gong lists the ones
// it ended; any other is still running. A request of no IDs, more than
// MaxUnassignIDs, an empty or a repeated ID is an *InvalidRequestError, not
// sent.
func (c *Client) UnassignByInstanceIDs(ctx context.Context, req UnassignByInstanceIDsRequest) (*UnassignResponse, error) {
	if err := checkInstanceIDs(req.FlowInstanceIDs); err != nil {
		return nil, err
	}
	var out UnassignResponse
	if err := c.do(ctx, opUnassign, http.MethodPost, PathUnassignByInstanceIDs, nil, req, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// checkInstanceIDs applies the spec's limits on an unassign request.
func checkInstanceIDs(ids []string) error {
	switch {
	case len(ids) == 0:
		return &InvalidRequestError{Op: opUnassign, Reason: "no flow instance IDs"}
	case len(ids) > MaxUnassignIDs:
		return &InvalidRequestError{Op: opUnassign, Reason: fmt.Sprintf("%d flow instance IDs; at most %d a request", len(ids), MaxUnassignIDs)}
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == "" {
			return &InvalidRequestError{Op: opUnassign, Reason: "an empty flow instance ID"}
		}
		if seen[id] {
			return &InvalidRequestError{Op: opUnassign, Reason: fmt.Sprintf("flow instance ID %s repeated; IDs must be unique", id)}
		}
		seen[id] = true
	}
	return nil
}

// do makes one call; tm, if not nil, gets the answer's Timing.
func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, body, out any, tm *Timing) error {
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	req, err := c.newRequest(ctx, op, method, path, q, body)
	if err != nil {
		return err
	}
	start := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, op, err, wrote.Load())
	}
	c.reached.Store(true)
	defer resp.Body.Close()
	if tm != nil {
		*tm = Timing{Sent: start, Received: c.now()}
		// An unreadable Date is no Date: the answer still counts.
		tm.Date, _ = http.ParseTime(resp.Header.Get("Date"))
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if err != nil {
		return &TransportError{Op: op, Host: c.base.Host, Err: fmt.Errorf("reading answer: %w", err), Sent: true, Responded: true}
	}
	if len(raw) > MaxBodyBytes {
		return &TransportError{Op: op, Host: c.base.Host, Err: fmt.Errorf("answer body larger than %d bytes refused", MaxBodyBytes), Sent: true, Responded: true}
	}
	if !answered(op, resp.StatusCode) {
		apiErr := c.apiError(op, resp, raw)
		c.log.Debug("gong answer", zap.String("op", op), zap.Int("status", resp.StatusCode),
			zap.String("requestId", apiErr.RequestID), zap.Duration("took", c.now().Sub(start)))
		return apiErr
	}
	if err := decodeAnswer(op, raw, out); err != nil {
		return &TransportError{Op: op, Host: c.base.Host, Err: err, Sent: true}
	}
	if ce := c.log.Check(zap.DebugLevel, "gong answer"); ce != nil {
		var id struct {
			RequestID string `json:"requestId"`
		}
		_ = json.Unmarshal(raw, &id)
		ce.Write(zap.String("op", op), zap.Int("status", resp.StatusCode), zap.String("requestId", id.RequestID), zap.Duration("took", c.now().Sub(start)))
	}
	return nil
}

// newRequest builds a request, or says why it would not be sent.
func (c *Client) newRequest(ctx context.Context, op, method, path string, q url.Values, body any) (*http.Request, error) {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("gong %s: encode request: %w", op, err)
		}
		rd = bytes.NewReader(b)
		if ce := c.log.Check(zap.DebugLevel, "request body"); ce != nil {
			ce.Write(zap.String("op", op), zap.ByteString("body", b))
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		// *url.Error would repeat the URL, query included.
		return nil, &InvalidRequestError{Op: op, Reason: "cannot build it: " + unwrapURLError(err).Error()}
	}
	req.Header.Set("Authorization", c.auth())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// net/http would refuse these too, but as an error no one can tell from
	// a network fault; the values are never shown.
	if !validHeaderValue(req.Header.Get("Authorization")) {
		return nil, &InvalidRequestError{Op: op, Reason: "the Authorization header would hold a control character: check the GONG_* credentials"}
	}
	if !validHeaderValue(c.UserAgent) {
		return nil, &InvalidRequestError{Op: op, Reason: "the User-Agent header would hold a control character"}
	}
	return req, nil
}

// validHeaderValue is net/http's rule for a field value: no control
// character but tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// transportError wraps a failure to get any answer.
func (c *Client) transportError(ctx context.Context, op string, err error, sent bool) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return &TransportError{Op: op, Host: c.base.Host, Err: context.Canceled, Sent: sent}
	}
	return &TransportError{Op: op, Host: c.base.Host, Err: unwrapURLError(err), Sent: sent}
}

// unwrapURLError drops the *url.Error layers, which repeat the URL with its
// query; the cause is kept whole for errors.As.
func unwrapURLError(err error) error {
	for {
		ue, ok := err.(*url.Error)
		if !ok || ue.Err == nil {
			return err
		}
		err = ue.Err
	}
}

// apiError reads a non-200 answer.
func (c *Client) apiError(op string, resp *http.Response, raw []byte) *APIError {
	e := &APIError{Op: op, StatusCode: resp.StatusCode, RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())}
	if resp.StatusCode == http.StatusForbidden {
		e.Scope = scopeOf(op)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc, err := resp.Location(); err == nil {
			e.Location = redactedURL(loc)
		} else if resp.Header.Get("Location") != "" {
			e.Location = "an unreadable Location"
		}
	}
	var er ErrorResponse
	if json.Unmarshal(raw, &er) == nil {
		e.RequestID, e.Errors = er.RequestID, er.Errors
	}
	return e
}

// decodeAnswer decodes a 200 into out, which must be a pointer to a struct.
func decodeAnswer(op string, raw []byte, out any) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		// Unmarshal takes null for an empty struct, which would read as
		// "nothing happened".
		return &BadAnswerError{Op: op, Reason: "answer is JSON null (HTTP 200)"}
	}
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] != '{' && json.Valid(t) {
		return &BadAnswerError{Op: op, Reason: fmt.Sprintf("answer is not a JSON object (HTTP 200, %d bytes)", len(raw))}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &BadAnswerError{Op: op, Reason: fmt.Sprintf("undecodable answer (HTTP 200, %d bytes)", len(raw)), Err: err}
	}
	return nil
}

// clip shortens a string from the server for a message.
func clip(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
