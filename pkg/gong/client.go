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
	// UserAgent is sent with every request.
	UserAgent string
}

// NewClient returns a client for the base URL (see ParseBaseURL). The
// http.Client carries the per-attempt timeout.
func NewClient(base *url.URL, creds Credentials, hc *http.Client, log *zap.Logger) *Client {
	if log == nil {
		log = zap.NewNop()
	}
	header := creds.Header()
	return &Client{base: base, auth: func() string { return header }, http: hc, log: log, now: time.Now, UserAgent: "flowenroll"}
}

// Assign sends one assign request.
func (c *Client) Assign(ctx context.Context, req AssignRequest) (*AssignResponse, error) {
	var out AssignResponse
	if err := c.do(ctx, "assign", http.MethodPost, PathAssign, nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ProspectsFlows reads back the open flow instances of the given CRM IDs.
func (c *Client) ProspectsFlows(ctx context.Context, crmIDs []string) (*ProspectsFlowsResponse, error) {
	var out ProspectsFlowsResponse
	if err := c.do(ctx, "read-back", http.MethodPost, PathProspectsFlows, nil, ProspectsFlowsRequest{CRMProspectsIDs: crmIDs}, &out); err != nil {
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
	if err := c.do(ctx, "list flows", http.MethodGet, PathFlows, q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, body, out any) error {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("gong %s: encode request: %w", op, err)
		}
		rd = bytes.NewReader(b)
		if ce := c.log.Check(zap.DebugLevel, "request body"); ce != nil {
			ce.Write(zap.String("op", op), zap.ByteString("body", b))
		}
	}
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("gong %s: %w", op, err)
	}
	req.Header.Set("Authorization", c.auth())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return &TransportError{Op: op, Err: context.Canceled, Sent: wrote.Load()}
		}
		// *url.Error repeats the URL; the URL holds no secret, but keep the cause short.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &TransportError{Op: op, Err: err, Sent: wrote.Load()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if err != nil {
		return &TransportError{Op: op, Err: fmt.Errorf("reading answer: %w", err), Sent: true}
	}
	if len(raw) > MaxBodyBytes {
		return &TransportError{Op: op, Err: fmt.Errorf("answer body larger than %d bytes refused", MaxBodyBytes), Sent: true}
	}
	if resp.StatusCode != http.StatusOK {
		apiErr := &APIError{Op: op, StatusCode: resp.StatusCode, RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())}
		var er ErrorResponse
		if json.Unmarshal(raw, &er) == nil {
			apiErr.RequestID, apiErr.Errors = er.RequestID, er.Errors
		}
		c.log.Debug("gong answer", zap.String("op", op), zap.Int("status", resp.StatusCode),
			zap.String("requestId", apiErr.RequestID), zap.Duration("took", c.now().Sub(start)))
		return apiErr
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &TransportError{Op: op, Err: fmt.Errorf("undecodable answer (HTTP 200, %d bytes): %w", len(raw), err), Sent: true}
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
