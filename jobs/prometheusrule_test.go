package jobs

import (
	"go/ast"
	goparser "go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/flowenroll/flowenroll/pkg/metrics"
)

// pushedMetrics are the metrics pkg/metrics pushes, with their own labels.
// pkg/metrics names them in string literals, not exported constants, so the
// list is kept here and TestPushedMetricsMatchSource compares it with the
// package's source: a metric renamed or added there fails that test until
// the list, and the alerts, follow.
var pushedMetrics = map[string][]string{
	"flowenroll_rows":                              {"outcome"},
	"flowenroll_rows_failed":                       {"stage", "code"},
	"flowenroll_rows_unprocessed":                  {"reason"},
	"flowenroll_requests":                          nil,
	"flowenroll_retries":                           nil,
	"flowenroll_rate_limited":                      nil,
	"flowenroll_read_backs":                        nil,
	"flowenroll_duration_seconds":                  nil,
	"flowenroll_exit_code":                         nil,
	"flowenroll_last_completion_timestamp_seconds": nil,
	"flowenroll_last_success_timestamp_seconds":    nil,
}

// groupingLabels are on every pushed series: the Pushgateway group (job, and
// pkg/metrics' input label) and the instance label the Pushgateway adds.
// scrapedMetrics are the console's (pkg/console), which Prometheus scrapes
// from its /metrics: the alerts may use those without labels of their own.
var scrapedMetrics = map[string][]string{
	"flowenroll_console_data_bytes":        nil,
	"flowenroll_console_volume_bytes":      nil,
	"flowenroll_console_volume_free_bytes": nil,
}

const consoleSource = "../pkg/console"

func TestScrapedMetricsInSource(t *testing.T) {
	lits := stringLiterals(t, consoleSource)
	for name := range scrapedMetrics {
		if !slices.Contains(lits, name) {
			t.Errorf("%s is not a metric of %s", name, consoleSource)
		}
	}
}

func groupingLabels() []string {
	return []string{"job", metrics.InputLabel, "instance"}
}

// metricsSource is pkg/metrics' production code, seen from this directory.
const metricsSource = "../pkg/metrics"

func TestPushedMetricsMatchSource(t *testing.T) {
	lits := stringLiterals(t, metricsSource)
	metricName := regexp.MustCompile(`^flowenroll_[a-z0-9_]+$`)
	var inSource []string
	for _, l := range lits {
		if metricName.MatchString(l) && !slices.Contains(inSource, l) {
			inSource = append(inSource, l)
		}
	}
	slices.Sort(inSource)
	listed := slices.Sorted(maps.Keys(pushedMetrics))
	if diff := cmp.Diff(listed, inSource); diff != "" {
		t.Errorf("pushedMetrics (-) differ from the metric names in %s (+); update the list and the alerts:\n%s", metricsSource, diff)
	}
	for name, labels := range pushedMetrics {
		for _, l := range labels {
			if !slices.Contains(lits, l) {
				t.Errorf("%s: label %q is not in %s's source", name, l, metricsSource)
			}
		}
	}
}

// stringLiterals are the string literals of the non-test Go files in dir.
func stringLiterals(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var lits []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := goparser.ParseFile(fset, f, nil, goparser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if b, ok := n.(*ast.BasicLit); ok && b.Kind == token.STRING {
				if s, err := strconv.Unquote(b.Value); err == nil {
					lits = append(lits, s)
				}
			}
			return true
		})
	}
	if len(lits) == 0 {
		t.Fatalf("no Go source in %s", dir)
	}
	return lits
}

func TestPrometheusRule(t *testing.T) {
	rules := objectsOf[*monitoringv1.PrometheusRule](loadManifests(t))
	if len(rules) != 1 {
		t.Fatalf("%d PrometheusRules, want 1", len(rules))
	}
	var names []string
	for _, g := range rules[0].Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: a rule without alert: (a recording rule?) this test checks alerts only", g.Name)
				continue
			}
			if slices.Contains(names, r.Alert) {
				t.Errorf("alert %s is defined twice", r.Alert)
			}
			names = append(names, r.Alert)
			t.Run(r.Alert, func(t *testing.T) { checkAlert(t, r) })
		}
	}
	// The alerts jobs/README.md describes.
	wantAlerts := []string{
		"FlowenrollConsoleDiskFilling",
		"FlowenrollDailyQuotaExhausted",
		"FlowenrollManyRowsFailed",
		"FlowenrollNoSuccessfulRun",
		"FlowenrollRunFailed",
		"FlowenrollStoppedEarlyForADay",
		"FlowenrollStoppedEarlyRepeatedly",
	}
	slices.Sort(names)
	if diff := cmp.Diff(wantAlerts, names); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
}

func checkAlert(t *testing.T, r monitoringv1.Rule) {
	if r.Expr.String() == "" {
		t.Fatal("no expr")
	}
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr.String())
	if err != nil {
		t.Fatalf("expr does not parse: %v", err)
	}
	for _, p := range exprProblems(expr) {
		t.Error(p)
	}
	if r.For != nil {
		if _, err := model.ParseDuration(string(*r.For)); err != nil {
			t.Errorf("for: %v", err)
		}
	}
	severities := []string{"info", "warning", "critical"}
	if s := r.Labels["severity"]; !slices.Contains(severities, s) {
		t.Errorf("severity %q, want one of %q", s, severities)
	}
	for _, a := range []string{"summary", "description"} {
		text, ok := r.Annotations[a]
		if !ok {
			t.Errorf("no %s annotation", a)
			continue
		}
		if err := expandAnnotation(text); err != nil {
			t.Errorf("annotation %s: %v", a, err)
		}
	}
}

// exprProblems lists what in expr names a metric pkg/metrics does not push,
// or a label its series do not have.
func exprProblems(expr parser.Expr) []string {
	var problems []string
	known := groupingLabels()
	for _, labels := range pushedMetrics {
		known = append(known, labels...)
	}
	checkLabels := func(what string, labels []string) {
		for _, l := range labels {
			if !slices.Contains(known, l) {
				problems = append(problems, what+" names label "+strconv.Quote(l)+", which no pushed series has")
			}
		}
	}
	selectors := 0
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			selectors++
			own, ok := pushedMetrics[n.Name]
			if scraped, isScraped := scrapedMetrics[n.Name]; isScraped {
				own, ok = scraped, true
			}
			if !ok {
				problems = append(problems, "selector "+n.String()+" names no metric pkg/metrics pushes")
				return nil
			}
			has := append(groupingLabels(), own...)
			for _, m := range n.LabelMatchers {
				if m.Name != model.MetricNameLabel && !slices.Contains(has, m.Name) {
					problems = append(problems, "selector "+n.String()+": "+n.Name+" has no label "+strconv.Quote(m.Name))
				}
			}
		case *parser.AggregateExpr:
			checkLabels("by/without", n.Grouping)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				checkLabels("on/ignoring", n.VectorMatching.MatchingLabels)
				checkLabels("group_left/right", n.VectorMatching.Include)
			}
		}
		return nil
	})
	if selectors == 0 {
		problems = append(problems, "the expr selects no series")
	}
	return problems
}

// expandAnnotation expands an annotation the way Prometheus does, on a
// series with the grouping labels: a misspelled $labels.name or function
// fails here instead of showing "<no value>" in a page at night.
func expandAnnotation(text string) error {
	// Prometheus' own functions that take a value; their output does not
	// matter here.
	funcs := template.FuncMap{}
	for _, f := range []string{"humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp"} {
		funcs[f] = func(any) string { return "" }
	}
	// The variables Prometheus defines before an annotation's text.
	const defs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$value := .Value}}"
	tmpl, err := template.New("annotation").Funcs(funcs).Option("missingkey=error").Parse(defs + text)
	if err != nil {
		return err
	}
	labels := map[string]string{}
	for _, l := range groupingLabels() {
		labels[l] = "x"
	}
	data := struct {
		Labels, ExternalLabels map[string]string
		Value                  float64
	}{Labels: labels, ExternalLabels: map[string]string{}, Value: 1}
	var out strings.Builder
	return tmpl.Execute(&out, data)
}

func TestExprProblems(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want []string
	}{
		{name: "pushed metric and labels", expr: `sum by (job) (flowenroll_rows{outcome="failed", input!=""}) > 0`},
		{name: "unknown metric", expr: `flowenroll_rows_total > 0`, want: []string{"selector flowenroll_rows_total names no metric pkg/metrics pushes"}},
		{name: "label of another metric", expr: `flowenroll_exit_code{reason="x"}`, want: []string{`selector flowenroll_exit_code{reason="x"}: flowenroll_exit_code has no label "reason"`}},
		{name: "unknown grouping label", expr: `max by (file) (flowenroll_exit_code)`, want: []string{`by/without names label "file", which no pushed series has`}},
		{name: "unknown matching label", expr: `flowenroll_exit_code and on (pod) flowenroll_requests`, want: []string{`on/ignoring names label "pod", which no pushed series has`}},
		{name: "no selector", expr: `vector(1)`, want: []string{"the expr selects no series"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expr, err := parser.NewParser(parser.Options{}).ParseExpr(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, exprProblems(expr)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpandAnnotation(t *testing.T) {
	tests := []struct {
		text    string
		wantErr bool
	}{
		{text: "{{ $labels.input }} of {{ $labels.job }}: {{ $value | humanizePercentage }}"},
		{text: "{{ $labels.inptu }}", wantErr: true},
		{text: "{{ $value | humanise }}", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if err := expandAnnotation(tt.text); (err != nil) != tt.wantErr {
				t.Errorf("error %v, want an error: %v", err, tt.wantErr)
			}
		})
	}
}

// TestAlertsWithPromtool checks what the alerts do, with Prometheus' own
// promtool (Debian's package prometheus): `promtool check rules` on the
// PrometheusRule's groups, then `promtool test rules` on
// testdata/alerts_test.yaml, series in and alerts out. Without promtool it
// skips, unless FLOWENROLL_REQUIRE_PROMTOOL is set (CI sets it and installs
// promtool).
func TestAlertsWithPromtool(t *testing.T) {
	promtool := os.Getenv("FLOWENROLL_PROMTOOL")
	if promtool == "" {
		var err error
		if promtool, err = exec.LookPath("promtool"); err != nil {
			msg := "promtool not found: install Debian's prometheus (scripts/ci-deps.sh does), or set FLOWENROLL_PROMTOOL"
			if os.Getenv("FLOWENROLL_REQUIRE_PROMTOOL") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	rules := objectsOf[*monitoringv1.PrometheusRule](loadManifests(t))
	if len(rules) != 1 {
		t.Fatalf("%d PrometheusRules, want 1", len(rules))
	}
	dir := t.TempDir()
	groups := rules[0].DeepCopy().Spec.Groups
	writeRuleFile(t, filepath.Join(dir, "checked.yaml"), groups)
	// The tests compare alerts' labels; TestPrometheusRule checks the
	// annotations, whose text would only make the expected alerts long.
	for i := range groups {
		for j := range groups[i].Rules {
			groups[i].Rules[j].Annotations = nil
		}
	}
	writeRuleFile(t, filepath.Join(dir, "rules.yaml"), groups)
	tests, err := os.ReadFile(filepath.Join("testdata", "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts_test.yaml"), tests, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "checked.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// writeRuleFile writes groups as a Prometheus rule file.
func writeRuleFile(t *testing.T, file string, groups []monitoringv1.RuleGroup) {
	t.Helper()
	data, err := yaml.Marshal(struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}{groups})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
