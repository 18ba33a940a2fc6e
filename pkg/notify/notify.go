// Package notify tells people how a run ended, by posting it to a webhook:
// Slack's incoming webhooks, or anything that takes JSON (a Teams or Google
// Chat relay, an alerting tool).
//
// The body carries a Slack-compatible "text" a person reads, and the same
// figures as fields a program reads. A webhook URL is a secret (whoever has
// a Slack webhook URL can post to the channel), so no error of this package
// holds its path or query: only its scheme and host.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// Timeout bounds one Post, whatever the client's own timeout: a webhook
// that hangs must not hold up the end of a run.
const Timeout = 10 * time.Second

// Notice is the outcome of one run.
type Notice struct {
	// File is the input's name, as people know it.
	File        string `json:"file"`
	Assigned    int    `json:"assigned"`
	Failed      int    `json:"failed"`
	Unprocessed int    `json:"unprocessed"`
	// ExitCode is the contract's: 0, 1, 3 or 4.
	ExitCode int `json:"exitCode"`
	// Results is where the result files are: a directory, or the console's
	// address of the run.
	Results string `json:"results"`
	// Reason says why, when the run could not be done (exit 1) or the file
	// was rejected; empty otherwise.
	Reason string `json:"reason,omitempty"`
}

// body is what is posted: Slack reads text and ignores the rest.
type body struct {
	Text    string `json:"text"`
	Outcome string `json:"outcome"`
	Notice
}

// Describe words an exit code: "done", "some failed", "stopped early",
// "failed".
func Describe(exitCode int) string {
	switch exitCode {
	case outcome.ExitOK:
		return "done"
	case outcome.ExitSomeFailed:
		return "some failed"
	case outcome.ExitStoppedEarly:
		return "stopped early"
	default:
		return "failed"
	}
}

// Text is the notice as a person reads it, in Slack's mrkdwn:
//
//	:warning: flowenroll: *prospects.csv*: some failed (exit 3)
//	118 assigned, 2 failed, 0 unprocessed
//	Results: /data/inbox/results/prospects
func Text(n Notice) string {
	icon := map[int]string{
		outcome.ExitOK: ":white_check_mark:", outcome.ExitSomeFailed: ":warning:", outcome.ExitStoppedEarly: ":double_vertical_bar:",
	}[n.ExitCode]
	if icon == "" {
		icon = ":x:"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s flowenroll: *%s*: %s (exit %d)\n", icon, escape(n.File), Describe(n.ExitCode), n.ExitCode)
	fmt.Fprintf(&b, "%d assigned, %d failed, %d unprocessed", n.Assigned, n.Failed, n.Unprocessed)
	if n.ExitCode == outcome.ExitStoppedEarly {
		b.WriteString(" (the next run continues)")
	}
	if n.Reason != "" {
		fmt.Fprintf(&b, "\nWhy: %s", escape(n.Reason))
	}
	if n.Results != "" {
		fmt.Fprintf(&b, "\nResults: %s", escape(n.Results))
	}
	return b.String()
}

// escape keeps Slack from reading &, < and > in a file name as markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Post posts n to the webhook at webhookURL as JSON, within Timeout; a nil
// client means a plain http.Client. Any 2xx answer is success. Its errors
// name the webhook by scheme and host only.
func Post(ctx context.Context, client *http.Client, webhookURL string, n Notice) error {
	u, err := url.Parse(webhookURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// url.Parse's own error quotes the whole URL.
		return errors.New("notify: the webhook URL is not an http or https URL")
	}
	target := u.Scheme + "://" + u.Host + "/…"
	payload, err := json.Marshal(body{Text: Text(n), Outcome: Describe(n.ExitCode), Notice: n})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if client == nil {
		client = &http.Client{}
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("notify: posting to %s: cannot make the request", target)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		// A *url.Error quotes the whole URL: keep only what it wraps.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &postError{target: target, err: err, secrets: secrets(u)}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return &postError{target: target, status: resp.Status, answer: string(answer), secrets: secrets(u)}
	}
	return nil
}

// secrets are the parts of the webhook URL no message may hold.
func secrets(u *url.URL) []string {
	var s []string
	for _, p := range []string{u.EscapedPath(), u.Path, u.RawQuery, u.Query().Encode()} {
		if len(strings.Trim(p, "/")) > 0 {
			s = append(s, p)
		}
	}
	if u.User != nil {
		s = append(s, u.User.String())
	}
	return s
}

// postError is a failed Post. Its message is scrubbed of the webhook URL's
// secret parts, should a wrapped error or the answer quote them.
type postError struct {
	target  string
	status  string // the HTTP status, when the webhook answered
	answer  string // the start of its answer's body
	err     error  // the transport's error, when it did not
	secrets []string
}

func (e *postError) Error() string {
	msg := "notify: posting to " + e.target + ": "
	if e.err != nil {
		msg += e.err.Error()
	} else {
		msg += "the webhook answered " + e.status
		if a := strings.TrimSpace(e.answer); a != "" {
			msg += ": " + a
		}
	}
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, "…")
	}
	return msg
}

// Unwrap returns the transport's error: errors.Is(err,
// context.DeadlineExceeded) tells a timeout.
func (e *postError) Unwrap() error { return e.err }
