package jobs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// flagKind is how flowenroll's flag set parses a flag's value.
type flagKind int

const (
	stringFlag flagKind = iota
	boolFlag
	intFlag
	floatFlag
	durationFlag
)

// runFlags are the flags of `flowenroll run` (cmd/flowenroll/run.go, and the
// inbox, progress and Pushgateway flags being added). A container arg or a
// FLOWENROLL_* variable must name one of them: ff ignores an environment
// variable that names no flag, so a typo there would be silently dropped.
var runFlags = map[string]flagKind{
	"input":             stringFlag,
	"out":               stringFlag,
	"rate":              floatFlag,
	"concurrency":       intFlag,
	"chunk-size":        intFlag,
	"max-requests":      intFlag,
	"timeout":           durationFlag,
	"max-retry-time":    durationFlag,
	"max-wait":          durationFlag,
	"drain-timeout":     durationFlag,
	"restart":           boolFlag,
	"map":               stringFlag,
	"sandbox":           boolFlag,
	"log-format":        stringFlag,
	"log-level":         stringFlag,
	"inbox":             stringFlag,
	"progress-interval": durationFlag,
	"pushgateway":       stringFlag,
	"pushgateway-job":   stringFlag,
	// The lead's: the exit code of a run that finished with some rows failed
	// (default 3).
	"row-failures-exit-code": intFlag,
}

const (
	// defaultDrainTimeout is --drain-timeout's default.
	defaultDrainTimeout = 20 * time.Second
	// drainMargin is what the grace period must leave after the drain: the
	// run still writes its result files and summary before it exits.
	drainMargin = 10 * time.Second
	// nonRootUID is the image's USER, 65532 "nonroot" (Dockerfile,
	// scripts/image-rootfs.sh; e2e/image_test.go checks the built image).
	nonRootUID = 65532
	// containerName is the flowenroll container, named by podFailurePolicy.
	containerName = "flowenroll"
)

// credentialVars are the variables that carry Gong credentials; in a
// manifest they may only appear in their _FILE form.
var credentialVars = []string{"GONG_ACCESS_KEY", "GONG_ACCESS_KEY_SECRET", "GONG_BEARER_TOKEN"}

// envName is the variable ff reads a flag from.
func envName(flag string) string {
	return "FLOWENROLL_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// scheme knows the kinds this directory may hold.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{batchv1.AddToScheme, corev1.AddToScheme, monitoringv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// strictYAML decodes the way the API server does with fieldValidation=Strict:
// an unknown field, a field in the wrong case, or a duplicate field is an
// error. (sigs.k8s.io/yaml's UnmarshalStrict goes through encoding/json, which
// matches field names case-insensitively and would take "RunAsNonRoot" for
// runAsNonRoot; the API server would drop it.)
var strictYAML = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
	kjson.SerializerOptions{Yaml: true, Strict: true})

// decodeStrict decodes one YAML document into its k8s.io/api type, chosen by
// its apiVersion and kind.
func decodeStrict(doc []byte) (runtime.Object, error) {
	obj, gvk, err := strictYAML.Decode(doc, nil, nil)
	if err != nil {
		return nil, err
	}
	switch obj.(type) {
	case *batchv1.CronJob, *batchv1.Job, *corev1.Secret, *corev1.PersistentVolumeClaim, *corev1.ConfigMap, *corev1.Pod,
		*monitoringv1.PrometheusRule:
		return obj, nil
	}
	return nil, fmt.Errorf("%s is not a kind this test checks; add it to decodeStrict and to the tests", gvk)
}

// splitDocuments splits a multi-document YAML file, dropping empty documents
// (only comments, or nothing between two "---").
func splitDocuments(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(j)); s == "null" || s == "" {
			continue
		}
		docs = append(docs, doc)
	}
}

// manifest is one decoded document of a file in this directory.
type manifest struct {
	file  string
	index int
	obj   runtime.Object
}

func (m manifest) String() string {
	gvk := m.obj.GetObjectKind().GroupVersionKind()
	name := ""
	if o, ok := m.obj.(interface{ GetName() string }); ok {
		name = o.GetName()
	}
	return fmt.Sprintf("%s#%d %s/%s", m.file, m.index, gvk.Kind, name)
}

const kustomizationFile = "kustomization.yaml"

// manifestFiles lists the *.yaml files of this directory but the kustomization.
func manifestFiles(t *testing.T) []string {
	t.Helper()
	if yml, _ := filepath.Glob("*.yml"); len(yml) > 0 {
		t.Fatalf("%v: name manifests *.yaml, so that this test reads them", yml)
	}
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return f == kustomizationFile })
	if len(files) == 0 {
		t.Fatal("no manifests (*.yaml) found next to the test")
	}
	return files
}

// loadManifests decodes every document of every manifest file strictly.
func loadManifests(t *testing.T) []manifest {
	t.Helper()
	var all []manifest
	for _, file := range manifestFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := splitDocuments(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(docs) == 0 {
			t.Fatalf("%s: no YAML document", file)
		}
		for i, doc := range docs {
			obj, err := decodeStrict(doc)
			if err != nil {
				t.Fatalf("%s, document %d: %v", file, i+1, err)
			}
			all = append(all, manifest{file: file, index: i + 1, obj: obj})
		}
	}
	return all
}

// objectsOf returns the manifests' objects of type T.
func objectsOf[T runtime.Object](ms []manifest) []T {
	var out []T
	for _, m := range ms {
		if o, ok := m.obj.(T); ok {
			out = append(out, o)
		}
	}
	return out
}

// kustomization is the part of a Kustomization this directory uses. It is
// decoded strictly too: a field not listed here (a typo like "resource:", or
// one you mean to use: then add it here) fails the test.
type kustomization struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Namespace  string           `json:"namespace,omitempty"`
	Resources  []string         `json:"resources"`
	Images     []kustomizeImage `json:"images,omitempty"`
}

type kustomizeImage struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

func loadKustomization(t *testing.T) kustomization {
	t.Helper()
	data, err := os.ReadFile(kustomizationFile)
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("%s: %v", kustomizationFile, err)
	}
	return k
}

func TestKustomization(t *testing.T) {
	k := loadKustomization(t)
	files := manifestFiles(t)
	t.Run("kind", func(t *testing.T) {
		if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
			t.Errorf("apiVersion %q, kind %q; want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind)
		}
	})
	t.Run("resources name every manifest", func(t *testing.T) {
		seen := map[string]bool{}
		for _, r := range k.Resources {
			if seen[r] {
				t.Errorf("resources: %s is listed twice", r)
			}
			seen[r] = true
			if filepath.Base(r) != r {
				t.Errorf("resources: %s is not a file of this directory", r)
				continue
			}
			if _, err := os.Stat(r); err != nil {
				t.Errorf("resources: %v", err)
			}
		}
		for _, f := range files {
			if !seen[f] {
				t.Errorf("%s is not in %s's resources: kubectl apply -k would skip it", f, kustomizationFile)
			}
		}
	})
	t.Run("images override the containers' image", func(t *testing.T) {
		names := map[string]bool{}
		for _, im := range k.Images {
			names[im.Name] = true
		}
		ms := loadManifests(t)
		for _, w := range workloads(t, ms) {
			for _, c := range w.pod.Containers {
				if repo := imageRepository(c.Image); !names[repo] {
					t.Errorf("%s: container %s runs %q, which no images: entry (%v) overrides", w.name, c.Name, c.Image, names)
				}
			}
		}
	})
}

// imageRepository is an image reference without its tag or digest.
func imageRepository(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

func TestManifestsDecodeStrictly(t *testing.T) {
	ms := loadManifests(t) // fails on the first document that does not decode
	seen := map[string]string{}
	for _, m := range ms {
		t.Run(m.String(), func(t *testing.T) {
			gvk := m.obj.GetObjectKind().GroupVersionKind()
			key := gvk.Kind + "/" + m.obj.(interface{ GetName() string }).GetName()
			if strings.HasSuffix(key, "/") {
				t.Errorf("no metadata.name")
			}
			if prev, ok := seen[key]; ok {
				t.Errorf("%s is also defined in %s", key, prev)
			}
			seen[key] = m.String()
		})
	}
	for _, kind := range []string{"CronJob", "Job", "Secret", "PersistentVolumeClaim", "ConfigMap", "PrometheusRule"} {
		found := false
		for k := range seen {
			found = found || strings.HasPrefix(k, kind+"/")
		}
		if !found {
			t.Errorf("no %s among the manifests", kind)
		}
	}
}

// validCronJob decodes; each case of TestStrictDecodeRejectsMistakes breaks it
// in one way, so that a case fails for its own reason and no other.
const validCronJob = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: x
spec:
  schedule: "*/15 * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        spec:
          restartPolicy: Never
          securityContext:
            runAsNonRoot: true
          containers:
            - name: flowenroll
              image: flowenroll:latest
              volumeMounts:
                - name: data
                  mountPath: /data
`

func TestStrictDecodeRejectsMistakes(t *testing.T) {
	if _, err := decodeStrict([]byte(validCronJob)); err != nil {
		t.Fatalf("the valid CronJob the cases start from does not decode: %v", err)
	}
	tests := []struct {
		name     string
		old, new string // replaced once in validCronJob
		doc      string // or this document instead
		wantErr  string // part of the error
	}{
		{name: "misspelled field", old: "concurrencyPolicy:", new: "concurrencyPolcy:", wantErr: "concurrencyPolcy"},
		{name: "field in the wrong case", old: "runAsNonRoot:", new: "RunAsNonRoot:", wantErr: "RunAsNonRoot"},
		{name: "field at the wrong level", old: "      backoffLimit: 2\n", new: "      template:\n        backoffLimit: 2\n", wantErr: "template"},
		{name: "misspelled nested field", old: "volumeMounts:", new: "volumeMount:", wantErr: "volumeMount"},
		{name: "duplicate field", old: "  concurrencyPolicy: Forbid\n", new: "  concurrencyPolicy: Forbid\n  concurrencyPolicy: Allow\n", wantErr: "concurrencyPolicy"},
		{name: "wrong type", old: "backoffLimit: 2", new: "backoffLimit: two", wantErr: "backoffLimit"},
		{name: "unknown kind", old: "kind: CronJob", new: "kind: CronJobs", wantErr: "CronJobs"},
		{name: "kind this test does not check", doc: "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n", wantErr: "Service"},
		{name: "no kind", old: "kind: CronJob\n", new: "", wantErr: "Kind"},
		{name: "misspelled field of a PrometheusRule", doc: "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: x\nspec:\n  groups:\n    - name: g\n      rules:\n        - alert: A\n          expresion: up == 0\n", wantErr: "expresion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.doc
			if doc == "" {
				if !strings.Contains(validCronJob, tt.old) {
					t.Fatalf("%q is not in the valid CronJob", tt.old)
				}
				doc = strings.Replace(validCronJob, tt.old, tt.new, 1)
			}
			_, err := decodeStrict([]byte(doc))
			if err == nil {
				t.Fatalf("decoded without error:\n%s", doc)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not name %q", err, tt.wantErr)
			}
		})
	}
}

func TestSplitDocuments(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{name: "one", in: "a: 1\n", want: 1},
		{name: "two", in: "a: 1\n---\nb: 2\n", want: 2},
		{name: "leading separator and comment-only documents", in: "# head\n---\na: 1\n---\n# nothing\n---\nb: 2\n---\n", want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := splitDocuments([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != tt.want {
				t.Errorf("%d documents, want %d: %q", len(docs), tt.want, docs)
			}
		})
	}
}

// workload is a Job or a CronJob's job template, with what is expected of it.
type workload struct {
	name     string
	job      *batchv1.JobSpec
	pod      *corev1.PodSpec
	cron     *batchv1.CronJob // nil for a Job
	suspend  *bool
	manifest []manifest // all manifests, to resolve references
}

func workloads(t *testing.T, ms []manifest) []workload {
	t.Helper()
	var ws []workload
	for _, cj := range objectsOf[*batchv1.CronJob](ms) {
		ws = append(ws, workload{name: "CronJob/" + cj.Name, job: &cj.Spec.JobTemplate.Spec, pod: &cj.Spec.JobTemplate.Spec.Template.Spec, cron: cj, manifest: ms})
	}
	for _, j := range objectsOf[*batchv1.Job](ms) {
		ws = append(ws, workload{name: "Job/" + j.Name, job: &j.Spec, pod: &j.Spec.Template.Spec, suspend: j.Spec.Suspend, manifest: ms})
	}
	return ws
}

// expectations per workload: what differs between the inbox and the migration.
var expectations = map[string]struct {
	args        []string
	exit4       batchv1.PodFailurePolicyAction
	suspended   bool
	description string
}{
	"CronJob/flowenroll": {
		args:        []string{"run", "--inbox", "/data/inbox"},
		exit4:       batchv1.PodFailurePolicyActionFailJob,
		description: "the next schedule resumes a run that stopped early; retrying in the Job would hit the same quota or spend the request cap again",
	},
	"Job/flowenroll-migration": {
		args:        []string{"run", "--input", "/data/migration/prospects.csv", "--out", "/data/migration/results"},
		exit4:       batchv1.PodFailurePolicyActionCount,
		suspended:   true,
		description: "no schedule resumes a one-off Job, so it retries itself, counted",
	},
}

// defaultRowFailuresExitCode is --row-failures-exit-code's default: the
// contract's exit 3, "finished, and some rows failed".
const defaultRowFailuresExitCode = 3

// checkRowFailuresSucceed: a run that settled every row, some of them
// failed, must end as a Complete Job. Bad rows are routine (a typo in an
// email, a prospect already in a flow); a Failed Job for each would bury the
// failures that need a person (exit 1) and the runs that stopped early
// (exit 4), which must stay failures.
func checkRowFailuresSucceed(t *testing.T, w workload) {
	c := mainContainer(t, w)
	code := defaultRowFailuresExitCode
	if v, ok := flagSettings(t, w, c)["row-failures-exit-code"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("row failures exit code %q: %v", v, err)
		}
		code = n
	}
	if code != 0 {
		t.Errorf("a run with failed rows exits %d: the Job fails for routine bad rows; set FLOWENROLL_ROW_FAILURES_EXIT_CODE to 0", code)
	}
}

func TestWorkloads(t *testing.T) {
	ms := loadManifests(t)
	ws := workloads(t, ms)
	var names []string
	for _, w := range ws {
		names = append(names, w.name)
	}
	for name := range expectations {
		if !slices.Contains(names, name) {
			t.Errorf("no %s among the manifests", name)
		}
	}
	for _, w := range ws {
		want, ok := expectations[w.name]
		if !ok {
			t.Errorf("%s: a workload this test has no expectations for; add it to expectations", w.name)
			continue
		}
		t.Run(w.name, func(t *testing.T) {
			checks := []struct {
				name  string
				check func(t *testing.T, w workload)
			}{
				{"job limits", checkJobLimits},
				{"pod failure policy", func(t *testing.T, w workload) { checkPodFailurePolicy(t, w, want.exit4) }},
				{"security context", checkSecurityContext},
				{"resources", checkResources},
				{"grace period above drain timeout", checkGracePeriod},
				{"credentials only from a mounted Secret", checkCredentials},
				{"volumes", checkVolumes},
				{"flags and FLOWENROLL variables", checkFlags},
				{"failed rows complete the Job", checkRowFailuresSucceed},
				{"command", func(t *testing.T, w workload) {
					c := mainContainer(t, w)
					if len(c.Command) > 0 {
						t.Errorf("command %q replaces the image's ENTRYPOINT; set args only", c.Command)
					}
					if !slices.Equal(c.Args, want.args) {
						t.Errorf("args %q, want %q", c.Args, want.args)
					}
				}},
				{"suspend", func(t *testing.T, w workload) {
					if w.cron != nil {
						return
					}
					if got := w.suspend != nil && *w.suspend; got != want.suspended {
						t.Errorf("suspend %v, want %v: apply -k must not start the migration before its input is there", got, want.suspended)
					}
				}},
			}
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) { c.check(t, w) })
			}
		})
	}
}

func TestCronJobSchedule(t *testing.T) {
	cjs := objectsOf[*batchv1.CronJob](loadManifests(t))
	if len(cjs) == 0 {
		t.Fatal("no CronJob")
	}
	for _, cj := range cjs {
		t.Run(cj.Name, func(t *testing.T) {
			s := cj.Spec
			if s.Schedule == "" {
				t.Error("no schedule")
			}
			if s.ConcurrencyPolicy != batchv1.ForbidConcurrent {
				t.Errorf("concurrencyPolicy %q, want Forbid: two runs would claim from the same inbox", s.ConcurrencyPolicy)
			}
			if s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds <= 0 {
				t.Error("startingDeadlineSeconds not set")
			}
			if s.Suspend != nil && *s.Suspend {
				t.Error("suspended in the manifest")
			}
		})
	}
}

func mainContainer(t *testing.T, w workload) corev1.Container {
	t.Helper()
	if len(w.pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(w.pod.Containers))
	}
	c := w.pod.Containers[0]
	if c.Name != containerName {
		t.Fatalf("container %q, want %q (podFailurePolicy names it)", c.Name, containerName)
	}
	if len(w.pod.InitContainers) > 0 {
		t.Fatalf("init containers are not checked by this test")
	}
	return c
}

func checkJobLimits(t *testing.T, w workload) {
	j := w.job
	if j.BackoffLimit == nil {
		t.Error("backoffLimit not set: say how many counted failures the Job may retry")
	}
	if j.ActiveDeadlineSeconds == nil || *j.ActiveDeadlineSeconds <= 0 {
		t.Error("activeDeadlineSeconds not set: a hung run would hold the volume, and block the CronJob, for good")
	}
	if j.TTLSecondsAfterFinished == nil || *j.TTLSecondsAfterFinished <= 0 {
		t.Error("ttlSecondsAfterFinished not set")
	}
	if j.Parallelism != nil && *j.Parallelism > 1 {
		t.Errorf("parallelism %d: a results directory's ledger has one writer", *j.Parallelism)
	}
	if j.Completions != nil && *j.Completions != 1 {
		t.Errorf("completions %d, want 1", *j.Completions)
	}
}

// failureAction is what podFailurePolicy does with a pod whose flowenroll
// container exited with code (first matching rule wins); "" when no rule
// matches and the failure counts toward backoffLimit.
func failureAction(p *batchv1.PodFailurePolicy, code int32, condition corev1.PodConditionType) batchv1.PodFailurePolicyAction {
	for _, r := range p.Rules {
		if e := r.OnExitCodes; e != nil && condition == "" {
			if e.ContainerName != nil && *e.ContainerName != containerName {
				continue
			}
			in := slices.Contains(e.Values, code)
			if (e.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) == in {
				return r.Action
			}
		}
		for _, c := range r.OnPodConditions {
			if condition != "" && c.Type == condition && (c.Status == "" || c.Status == corev1.ConditionTrue) {
				return r.Action
			}
		}
	}
	return ""
}

func checkPodFailurePolicy(t *testing.T, w workload, exit4 batchv1.PodFailurePolicyAction) {
	if w.pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q: podFailurePolicy needs Never", w.pod.RestartPolicy)
	}
	p := w.job.PodFailurePolicy
	if p == nil {
		t.Fatal("no podFailurePolicy")
	}
	if w.job.PodReplacementPolicy != nil && *w.job.PodReplacementPolicy != batchv1.Failed {
		t.Errorf("podReplacementPolicy %q: with a podFailurePolicy only Failed is allowed", *w.job.PodReplacementPolicy)
	}
	for _, r := range p.Rules {
		if e := r.OnExitCodes; e != nil && (e.ContainerName == nil || *e.ContainerName != containerName) {
			t.Errorf("an onExitCodes rule names no container or another one than %q", containerName)
		}
	}
	tests := []struct {
		name      string
		code      int32
		condition corev1.PodConditionType
		want      batchv1.PodFailurePolicyAction
	}{
		{name: "exit 1 fatal", code: 1, want: batchv1.PodFailurePolicyActionFailJob},
		{name: "exit 2 usage", code: 2, want: batchv1.PodFailurePolicyActionFailJob},
		{name: "exit 3 finished with failed rows", code: 3, want: batchv1.PodFailurePolicyActionFailJob},
		{name: "exit 4 stopped early", code: 4, want: exit4},
		{name: "exit 137 killed", code: 137, want: ""},
		{name: "evicted or preempted", condition: corev1.DisruptionTarget, want: batchv1.PodFailurePolicyActionIgnore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := failureAction(p, tt.code, tt.condition); got != tt.want {
				t.Errorf("action %q, want %q", got, tt.want)
			}
		})
	}
	if len(p.Rules) == 0 || len(p.Rules[0].OnPodConditions) == 0 {
		t.Error("the first rule should be the DisruptionTarget one: an evicted pod exits 4 after its drain, and must not fail the Job")
	}
}

func checkSecurityContext(t *testing.T, w workload) {
	c := mainContainer(t, w)
	pod := w.pod.SecurityContext
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	sc := c.SecurityContext
	if sc == nil {
		t.Fatal("container has no securityContext")
	}
	// A container's setting wins over the pod's.
	runAsNonRoot := firstNonNil(sc.RunAsNonRoot, pod.RunAsNonRoot)
	if runAsNonRoot == nil || !*runAsNonRoot {
		t.Error("runAsNonRoot is not true")
	}
	if uid := firstNonNil(sc.RunAsUser, pod.RunAsUser); uid == nil || *uid != nonRootUID {
		t.Errorf("runAsUser %v, want %d (distroless nonroot; the kubelet cannot check a user name)", deref(uid), nonRootUID)
	}
	if pod.FSGroup == nil || *pod.FSGroup != nonRootUID {
		t.Errorf("fsGroup %v, want %d, so that the user can write the volume", deref(pod.FSGroup), nonRootUID)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities %+v, want drop [ALL] and no add", sc.Capabilities)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = pod.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccompProfile %+v, want RuntimeDefault", seccomp)
	}
	if w.pod.AutomountServiceAccountToken == nil || *w.pod.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken is not false: flowenroll never talks to the Kubernetes API")
	}
	if w.pod.EnableServiceLinks == nil || *w.pod.EnableServiceLinks {
		t.Error("enableServiceLinks is not false: a Service named flowenroll would inject FLOWENROLL_* variables")
	}
}

func firstNonNil[T any](ps ...*T) *T {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

func deref[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

func checkResources(t *testing.T, w workload) {
	c := mainContainer(t, w)
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := c.Resources.Requests[name]
		lim, okLim := c.Resources.Limits[name]
		if !okReq {
			t.Errorf("no %s request", name)
		}
		if !okLim {
			t.Errorf("no %s limit", name)
		}
		if okReq && okLim && req.Cmp(lim) > 0 {
			t.Errorf("%s request %s above its limit %s", name, req.String(), lim.String())
		}
	}
	env := effectiveEnv(t, w, c)
	if v, ok := env["GOMEMLIMIT"]; ok {
		lim := c.Resources.Limits[corev1.ResourceMemory]
		n, err := parseGoMemLimit(v)
		if err != nil {
			t.Errorf("GOMEMLIMIT: %v", err)
		} else if n >= lim.Value() {
			t.Errorf("GOMEMLIMIT %s is not below the memory limit %s: the container would be OOMKilled before the GC works harder", v, lim.String())
		}
	}
}

// parseGoMemLimit parses GOMEMLIMIT the way the Go runtime does: a number of
// bytes with an optional B, KiB, MiB, GiB or TiB suffix.
func parseGoMemLimit(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = rest, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a number of bytes with a B, KiB, MiB, GiB or TiB suffix", s)
	}
	return n * mult, nil
}

// effectiveEnv is the container's environment as the kubelet builds it: the
// envFrom ConfigMaps first, then env, which wins. Values from valueFrom are
// "" (the test only needs their names there).
func effectiveEnv(t *testing.T, w workload, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.SecretRef != nil {
			t.Errorf("envFrom secretRef %s: credentials come from files only", from.SecretRef.Name)
			continue
		}
		if from.ConfigMapRef == nil {
			continue
		}
		cm := configMap(w.manifest, from.ConfigMapRef.Name)
		if cm == nil {
			if from.ConfigMapRef.Optional == nil || !*from.ConfigMapRef.Optional {
				t.Errorf("envFrom names ConfigMap %s, which no manifest defines", from.ConfigMapRef.Name)
			}
			continue
		}
		for k, v := range cm.Data {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

func configMap(ms []manifest, name string) *corev1.ConfigMap {
	for _, cm := range objectsOf[*corev1.ConfigMap](ms) {
		if cm.Name == name {
			return cm
		}
	}
	return nil
}

// flagSettings is every flag the container sets, from its args and from
// FLOWENROLL_* variables, checked against runFlags.
func flagSettings(t *testing.T, w workload, c corev1.Container) map[string]string {
	t.Helper()
	fromArgs, err := parseRunArgs(c.Args)
	if err != nil {
		t.Errorf("args %q: %v", c.Args, err)
	}
	known := map[string]string{}
	for f := range runFlags {
		known[envName(f)] = f
	}
	settings := map[string]string{}
	for name, value := range effectiveEnv(t, w, c) {
		if !strings.HasPrefix(name, "FLOWENROLL_") {
			continue
		}
		flag, ok := known[name]
		if !ok {
			t.Errorf("%s names no flag of flowenroll run; ff would ignore it", name)
			continue
		}
		if err := checkFlagValue(runFlags[flag], value); err != nil {
			t.Errorf("%s=%q: %v", name, value, err)
		}
		if _, both := fromArgs[flag]; both {
			t.Errorf("--%s is set both in args and as %s; the args silently win", flag, name)
		}
		settings[flag] = value
	}
	for flag, value := range fromArgs {
		settings[flag] = value
	}
	return settings
}

// parseRunArgs parses container args the way `flowenroll run` does: the
// command, then Go flags (-name, --name, --name=value, --name value; a bool
// flag takes a value only after =), and no positional arguments.
func parseRunArgs(args []string) (map[string]string, error) {
	if len(args) == 0 || args[0] != "run" {
		return nil, errors.New(`the first argument must be the command "run"`)
	}
	set := map[string]string{}
	rest := args[1:]
	for len(rest) > 0 {
		a := rest[0]
		rest = rest[1:]
		if a == "--" {
			if len(rest) > 0 {
				return nil, fmt.Errorf("unexpected arguments %q: run takes none", rest)
			}
			break
		}
		name, ok := strings.CutPrefix(a, "--")
		if !ok {
			name, ok = strings.CutPrefix(a, "-")
		}
		if !ok || name == "" || name[0] == '-' || name[0] == '=' {
			return nil, fmt.Errorf("unexpected argument %q: run takes flags only", a)
		}
		name, value, hasValue := strings.Cut(name, "=")
		kind, known := runFlags[name]
		if !known {
			return nil, fmt.Errorf("flowenroll run has no flag --%s", name)
		}
		if !hasValue {
			if kind == boolFlag {
				value = "true"
			} else {
				if len(rest) == 0 {
					return nil, fmt.Errorf("--%s needs a value", name)
				}
				value, rest = rest[0], rest[1:]
			}
		}
		if err := checkFlagValue(kind, value); err != nil {
			return nil, fmt.Errorf("--%s %q: %v", name, value, err)
		}
		if _, dup := set[name]; dup && name != "map" {
			return nil, fmt.Errorf("--%s is given twice", name)
		}
		set[name] = value
	}
	return set, nil
}

func checkFlagValue(kind flagKind, v string) error {
	var err error
	switch kind {
	case boolFlag:
		_, err = strconv.ParseBool(v)
	case intFlag:
		_, err = strconv.ParseInt(v, 10, 64)
	case floatFlag:
		_, err = strconv.ParseFloat(v, 64)
	case durationFlag:
		_, err = time.ParseDuration(v)
	}
	return err
}

func TestParseRunArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    map[string]string
		wantErr string
	}{
		{name: "inbox", args: []string{"run", "--inbox", "/data/inbox"}, want: map[string]string{"inbox": "/data/inbox"}},
		{name: "equals and single dash", args: []string{"run", "-input=a.csv", "--out", "o", "--restart"}, want: map[string]string{"input": "a.csv", "out": "o", "restart": "true"}},
		{name: "bool takes no separate value", args: []string{"run", "--sandbox", "--out", "o"}, want: map[string]string{"sandbox": "true", "out": "o"}},
		{name: "not run", args: []string{"plan", "--input", "a.csv"}, wantErr: `"run"`},
		{name: "unknown flag", args: []string{"run", "--chunksize", "100"}, wantErr: "no flag --chunksize"},
		{name: "missing value", args: []string{"run", "--out"}, wantErr: "needs a value"},
		{name: "bad duration", args: []string{"run", "--drain-timeout", "20"}, wantErr: "drain-timeout"},
		{name: "bad number", args: []string{"run", "--rate=fast"}, wantErr: "rate"},
		{name: "positional", args: []string{"run", "a.csv"}, wantErr: "unexpected argument"},
		{name: "twice", args: []string{"run", "--out", "a", "--out", "b"}, wantErr: "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRunArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func checkFlags(t *testing.T, w workload) {
	c := mainContainer(t, w)
	settings := flagSettings(t, w, c)
	if v, ok := settings["sandbox"]; ok && v != "false" {
		t.Error("--sandbox runs against the in-process emulator, not Gong")
	}
	if v, ok := settings["restart"]; ok && v != "false" {
		t.Error("--restart in a manifest would discard the results of every earlier run")
	}
}

func checkGracePeriod(t *testing.T, w workload) {
	c := mainContainer(t, w)
	drain := defaultDrainTimeout
	if v, ok := flagSettings(t, w, c)["drain-timeout"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("drain timeout %q: %v", v, err)
		}
		drain = d
	}
	g := w.pod.TerminationGracePeriodSeconds
	if g == nil {
		t.Fatalf("terminationGracePeriodSeconds not set (the default 30 s leaves too little after a %s drain)", drain)
	}
	if grace := time.Duration(*g) * time.Second; grace < drain+drainMargin {
		t.Errorf("terminationGracePeriodSeconds %d leaves less than %s after the %s drain for writing the results", *g, drainMargin, drain)
	}
}

func checkCredentials(t *testing.T, w workload) {
	c := mainContainer(t, w)
	secretMounts := map[string]string{} // mount path -> Secret name
	for _, m := range c.VolumeMounts {
		for _, v := range w.pod.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				secretMounts[m.MountPath] = v.Secret.SecretName
				if !m.ReadOnly {
					t.Errorf("Secret volume %s is not mounted readOnly", v.Name)
				}
				if len(v.Secret.Items) > 0 {
					t.Errorf("Secret volume %s lists items: a missing key would leave the pod in ContainerCreating instead of failing with exit 1", v.Name)
				}
				if v.Secret.Optional != nil && *v.Secret.Optional {
					t.Errorf("Secret volume %s is optional", v.Name)
				}
			}
		}
	}
	set := map[string]bool{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Errorf("%s comes from secretKeyRef: credentials come from files only", e.Name)
		}
		for _, cred := range credentialVars {
			switch e.Name {
			case cred:
				t.Errorf("%s is set in the environment; use %s_FILE and a mounted Secret", cred, cred)
			case cred + "_FILE":
				set[cred] = true
				if e.ValueFrom != nil {
					t.Errorf("%s comes from valueFrom; it must be the path of a file in a mounted Secret", e.Name)
					continue
				}
				dir, key := filepath.Split(e.Value)
				secret, ok := secretMounts[filepath.Clean(dir)]
				if !ok {
					t.Errorf("%s=%s is not in a mounted Secret volume (mounted: %v)", e.Name, e.Value, secretMounts)
					continue
				}
				cmds := readmeSecretCommands(t, secret)
				for i, keys := range cmds {
					if !slices.Contains(keys, key) {
						t.Errorf("%s=%s: README.md's command %d of %d `kubectl create secret generic %s` makes no key %q (only %q)", e.Name, e.Value, i+1, len(cmds), secret, key, keys)
					}
				}
				if !secretDefined(w.manifest, secret) {
					t.Errorf("%s=%s: no manifest defines Secret %s", e.Name, e.Value, secret)
				}
			}
		}
	}
	for name := range effectiveEnv(t, w, c) {
		if slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name }) {
			continue // checked above
		}
		for _, cred := range credentialVars {
			if name == cred || name == cred+"_FILE" {
				t.Errorf("%s comes from a ConfigMap: credentials and their paths belong in the manifest's env, next to the Secret volume", name)
			}
		}
	}
	basic := set["GONG_ACCESS_KEY"] && set["GONG_ACCESS_KEY_SECRET"]
	bearer := set["GONG_BEARER_TOKEN"]
	if basic == bearer || (!basic && (set["GONG_ACCESS_KEY"] || set["GONG_ACCESS_KEY_SECRET"])) {
		t.Errorf("credentials set %v: want GONG_ACCESS_KEY_FILE and GONG_ACCESS_KEY_SECRET_FILE, or GONG_BEARER_TOKEN_FILE alone", set)
	}
	if env := effectiveEnv(t, w, c); !strings.HasPrefix(env["GONG_BASE_URL"], "https://") {
		t.Errorf("GONG_BASE_URL %q: want your company's https:// base URL", env["GONG_BASE_URL"])
	}
}

func secretDefined(ms []manifest, name string) bool {
	return slices.ContainsFunc(objectsOf[*corev1.Secret](ms), func(s *corev1.Secret) bool { return s.Name == name })
}

// readmeSecretCommands are the keys that each `kubectl create secret generic
// NAME --from-file=KEY=...` command of this directory's README.md puts in
// Secret NAME.
func readmeSecretCommands(t *testing.T, secret string) [][]string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmd := regexp.MustCompile(`kubectl create secret generic ` + regexp.QuoteMeta(secret) + `((?:[\s\\]*--from-file=[^\s=]+=\S+)+)`)
	key := regexp.MustCompile(`--from-file=([^\s=]+)=`)
	var cmds [][]string
	for _, m := range cmd.FindAllSubmatch(data, -1) {
		var keys []string
		for _, k := range key.FindAllSubmatch(m[1], -1) {
			keys = append(keys, string(k[1]))
		}
		cmds = append(cmds, keys)
	}
	if len(cmds) == 0 {
		t.Errorf("README.md has no `kubectl create secret generic %s --from-file=KEY=FILE`", secret)
	}
	return cmds
}

func checkVolumes(t *testing.T, w workload) {
	c := mainContainer(t, w)
	volumes := map[string]corev1.Volume{}
	for _, v := range w.pod.Volumes {
		volumes[v.Name] = v
	}
	mounted := map[string]bool{}
	var pvcMounted, tmpMounted bool
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			t.Errorf("volumeMount %s names no volume", m.Name)
			continue
		}
		mounted[m.Name] = true
		if v.PersistentVolumeClaim != nil {
			pvcMounted = true
			claim := v.PersistentVolumeClaim.ClaimName
			if !slices.ContainsFunc(objectsOf[*corev1.PersistentVolumeClaim](w.manifest), func(p *corev1.PersistentVolumeClaim) bool { return p.Name == claim }) {
				t.Errorf("volume %s claims %s, which no manifest defines", v.Name, claim)
			}
			if m.ReadOnly || v.PersistentVolumeClaim.ReadOnly {
				t.Errorf("the data volume %s is read-only; the results are written there", v.Name)
			}
			for _, f := range flagPaths(t, w, c) {
				if !strings.HasPrefix(f, strings.TrimSuffix(m.MountPath, "/")+"/") {
					t.Errorf("%s is not on the volume mounted at %s: it would not survive the pod", f, m.MountPath)
				}
			}
		}
		if m.MountPath == "/tmp" {
			if v.EmptyDir == nil {
				t.Errorf("/tmp is not an emptyDir")
			}
			tmpMounted = true
		}
	}
	if !pvcMounted {
		t.Error("no PersistentVolumeClaim mounted: the ledger must outlive the pod for a run to resume")
	}
	if !tmpMounted {
		t.Error("no emptyDir at /tmp: the root filesystem is read-only")
	}
	for name := range volumes {
		if !mounted[name] {
			t.Errorf("volume %s is not mounted", name)
		}
	}
}

// flagPaths are the container's --inbox, --input and --out.
func flagPaths(t *testing.T, w workload, c corev1.Container) []string {
	var paths []string
	for flag, v := range flagSettings(t, w, c) {
		if (flag == "inbox" || flag == "input" || flag == "out") && v != "-" {
			paths = append(paths, v)
		}
	}
	slices.Sort(paths)
	return paths
}

func TestSecretsHoldNoCredentials(t *testing.T) {
	secrets := objectsOf[*corev1.Secret](loadManifests(t))
	if len(secrets) == 0 {
		t.Fatal("no Secret manifest")
	}
	for _, s := range secrets {
		t.Run(s.Name, func(t *testing.T) {
			if len(s.Data) > 0 || len(s.StringData) > 0 {
				t.Errorf("Secret %s has data in the repository; create it with kubectl create secret (README.md)", s.Name)
			}
			if s.Type != "" && s.Type != corev1.SecretTypeOpaque {
				t.Errorf("type %q, want Opaque", s.Type)
			}
		})
	}
}

func TestConfigMaps(t *testing.T) {
	cms := objectsOf[*corev1.ConfigMap](loadManifests(t))
	for _, cm := range cms {
		t.Run(cm.Name, func(t *testing.T) {
			for k := range cm.Data {
				for _, cred := range credentialVars {
					if k == cred || k == cred+"_FILE" {
						t.Errorf("%s in a ConfigMap: credentials only from a mounted Secret", k)
					}
				}
			}
			if len(cm.BinaryData) > 0 {
				t.Error("binaryData in a ConfigMap of settings")
			}
		})
	}
}

// TestReadmeManifests decodes the YAML blocks of this directory's README.md
// (the helper pod) as strictly as the manifests, so that the copy-and-paste
// works.
func TestReadmeManifests(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(data, -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```yaml block (the helper pod)")
	}
	claims := map[string]bool{}
	for _, p := range objectsOf[*corev1.PersistentVolumeClaim](loadManifests(t)) {
		claims[p.Name] = true
	}
	for i, b := range blocks {
		t.Run(fmt.Sprintf("block %d", i+1), func(t *testing.T) {
			obj, err := decodeStrict(b[1])
			if err != nil {
				t.Fatal(err)
			}
			pod, ok := obj.(*corev1.Pod)
			if !ok {
				return
			}
			sc := pod.Spec.SecurityContext
			if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != nonRootUID {
				t.Errorf("the helper pod must run as %d to read the 0600 result files", nonRootUID)
			}
			for _, v := range pod.Spec.Volumes {
				if v.PersistentVolumeClaim != nil && !claims[v.PersistentVolumeClaim.ClaimName] {
					t.Errorf("claims %s, which no manifest defines", v.PersistentVolumeClaim.ClaimName)
				}
			}
		})
	}
	for _, want := range []string{"make image", "scripts/image.sh", "kubectl apply -k jobs/", "kubectl cp",
		"FLOWENROLL_ROW_FAILURES_EXIT_CODE", "--dry-run=client -o yaml | kubectl replace -f -"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("README.md does not say %q", want)
		}
	}
}
