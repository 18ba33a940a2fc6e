package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/pace"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Flows and owners of the emulator's default fixture.
const (
	flowSDR     = "1695493301223590792"
	flowWebinar = "1702318845120411230"
	flowDemo    = "1711046208531772911"
	ava         = "ava.reyes@example.com"
	chloe       = "chloe.martin@example.com"
	dan         = "dan.kowalski@example.com"
)

// gongStub is the emulator behind an httptest server.
type gongStub struct {
	emu *emulator.Server
	url string
}

func startGong(t *testing.T) *gongStub {
	t.Helper()
	emu, err := emulator.New(emulator.Config{Fixture: emulator.DefaultFixture(), AccessKey: "key", AccessKeySecret: "secret", Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(emu)
	t.Cleanup(hs.Close)
	return &gongStub{emu: emu, url: hs.URL}
}

// pipeline is the real pipeline against g, with its one pacer at 3/s.
func (g *gongStub) pipeline(t *testing.T, chunkSize int) *worker.EnrollPipeline {
	t.Helper()
	base, err := gong.ParseBaseURL(g.url)
	if err != nil {
		t.Fatal(err)
	}
	client := gong.NewClient(base, gong.Credentials{AccessKey: "key", AccessKeySecret: "secret"}, &http.Client{Timeout: 10 * time.Second}, zap.NewNop())
	return &worker.EnrollPipeline{
		Client: client, Limiter: pace.New(3, pace.DefaultMargin), ChunkSize: chunkSize, Concurrency: 4,
		MaxRetryTime: time.Minute, MaxWait: time.Minute, DrainTimeout: 10 * time.Second, Preflight: true,
	}
}

// console is a Server under test: its queue runs until stop.
type console struct {
	srv  *Server
	http *httptest.Server
	stop func()
	// header goes with await's requests: a console behind a sign-in.
	header http.Header
}

func startConsole(t *testing.T, cfg Config) *console {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Log == nil {
		cfg.Log = zaptest.NewLogger(t)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Run(ctx)
	}()
	c := &console{srv: srv, http: hs}
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			hs.Close()
		})
	}
	t.Cleanup(func() { c.stop() })
	return c
}

// prospectsCSV makes a file of n valid rows over three flows and owners,
// each with a CRM ID made of prefix and the row number.
func prospectsCSV(prefix string, n int) string {
	var b strings.Builder
	b.WriteString("Contact ID,Flow ID,Owner Email,First Name\n")
	pairs := [][2]string{{flowSDR, ava}, {flowWebinar, chloe}, {flowDemo, dan}}
	for i := range n {
		p := pairs[i%len(pairs)]
		fmt.Fprintf(&b, "%s%05d,%s,%s,Name %d\n", prefix, i, p[0], p[1], i)
	}
	return b.String()
}

// form is a multipart body: the file, then the fields.
func form(t *testing.T, name string, content []byte, fields map[string]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(content)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// do sends a request and decodes a JSON answer into out (if not nil).
func do(t *testing.T, req *http.Request, out any) *http.Response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if out != nil && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v: %s", req.Method, req.URL.Path, err, body)
		}
	}
	return res
}

func (c *console) upload(t *testing.T, name, content string, fields map[string]string) (int, store.Run) {
	t.Helper()
	body, ctype := form(t, name, []byte(content), fields)
	req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs", body)
	req.Header.Set("Content-Type", ctype)
	var r store.Run
	res := do(t, req, &r)
	return res.StatusCode, r
}

func (c *console) post(t *testing.T, path string) (int, store.Run) {
	t.Helper()
	req, _ := http.NewRequest("POST", c.http.URL+path, nil)
	var r store.Run
	res := do(t, req, &r)
	return res.StatusCode, r
}

func (c *console) get(t *testing.T, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", c.http.URL+path, nil)
	return do(t, req, out).StatusCode
}

// await follows the run's events until until says yes, and returns that
// state of the run. It waits on the server's own events: no sleeping.
func (c *console) await(t *testing.T, id string, until func(store.Run) bool) store.Run {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.http.URL+"/api/v1/runs/"+id+"/events", nil)
	for k, v := range c.header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var r store.Run
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			t.Fatal(err)
		}
		if until(r) {
			return r
		}
	}
	t.Fatalf("run %s: the events ended before the awaited state: %v", id, sc.Err())
	return store.Run{}
}

func ended(r store.Run) bool {
	return r.Status == store.StatusFinished || r.Status == store.StatusStopped
}

// summaryOf decodes a run's summary.
func summaryOf(t *testing.T, r store.Run) store.Summary {
	t.Helper()
	var s store.Summary
	if err := json.Unmarshal(r.Summary, &s); err != nil {
		t.Fatalf("summary of %s: %v", r.ID, err)
	}
	return s
}

// fakePipeline is a Pipeline of function fields.
type fakePipeline struct {
	plan      func(context.Context, worker.PlanSpec) (store.PlanView, error)
	run       func(context.Context, worker.RunSpec, worker.Progress) (worker.Result, error)
	undoCount func(context.Context, string) (int, error)
	undo      func(context.Context, worker.ReconcileSpec) (worker.Result, error)
	verify    func(context.Context, worker.ReconcileSpec) (worker.Result, error)
	users     func(context.Context) (worker.Listing[worker.Person], error)
	flows     func(context.Context, string) (worker.Listing[store.FlowChoice], error)
}

func (f *fakePipeline) Plan(ctx context.Context, s worker.PlanSpec) (store.PlanView, error) {
	return f.plan(ctx, s)
}
func (f *fakePipeline) Run(ctx context.Context, s worker.RunSpec, p worker.Progress) (worker.Result, error) {
	return f.run(ctx, s, p)
}
func (f *fakePipeline) UndoCount(ctx context.Context, outDir string) (int, error) {
	return f.undoCount(ctx, outDir)
}
func (f *fakePipeline) Undo(ctx context.Context, s worker.ReconcileSpec) (worker.Result, error) {
	return f.undo(ctx, s)
}
func (f *fakePipeline) Verify(ctx context.Context, s worker.ReconcileSpec) (worker.Result, error) {
	return f.verify(ctx, s)
}
func (f *fakePipeline) Users(ctx context.Context) (worker.Listing[worker.Person], error) {
	return f.users(ctx)
}
func (f *fakePipeline) Flows(ctx context.Context, owner string) (worker.Listing[store.FlowChoice], error) {
	return f.flows(ctx, owner)
}

// clientFor is a Gong client of url with this key pair.
func clientFor(t *testing.T, url, key, secret string) *gong.Client {
	t.Helper()
	base, err := gong.ParseBaseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return gong.NewClient(base, gong.Credentials{AccessKey: key, AccessKeySecret: secret}, &http.Client{Timeout: 10 * time.Second}, zap.NewNop())
}

// serve serves h until the test ends and returns its URL.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}
