package jobs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/yaml"
)

// consoleDir holds the console's manifests: its own kustomization, applied
// on its own, apart from the jobs of this folder.
const consoleDir = "console"

// consoleObjects decodes console/console.yaml strictly, as the API server
// would with fieldValidation=Strict.
func consoleObjects(t *testing.T) []runtime.Object {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	dec := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Yaml: true, Strict: true})
	data, err := os.ReadFile(filepath.Join(consoleDir, "console.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := splitDocuments(data)
	if err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	for i, doc := range docs {
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("console.yaml, document %d: %v", i+1, err)
		}
		objs = append(objs, obj)
	}
	return objs
}

func only[T runtime.Object](t *testing.T, objs []runtime.Object) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("console.yaml: %d objects of type %T, want 1", len(found), zero)
	}
	return found[0]
}

// serveFlags reads the flags of `flowenroll serve` from its source, so that
// a FLOWENROLL_* variable or an argument naming no flag fails here.
func serveFlags(t *testing.T) []string {
	t.Helper()
	// serve's own flags, and the sending flags it shares with run.
	var src []byte
	for _, f := range []string{"serve.go", "sending.go"} {
		b, err := os.ReadFile(filepath.Join("..", "cmd", "flowenroll", f))
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	var flags []string
	for _, m := range regexp.MustCompile(`fs\.\w+Var\(&\w+\.\w+, "([a-z-]+)"`).FindAllStringSubmatch(string(src), -1) {
		flags = append(flags, m[1])
	}
	if len(flags) < 10 {
		t.Fatalf("found only %d flags in serve.go: the pattern no longer matches", len(flags))
	}
	return flags
}

func TestConsoleManifest(t *testing.T) {
	objs := consoleObjects(t)
	d := only[*appsv1.Deployment](t, objs)
	svc := only[*corev1.Service](t, objs)
	pvc := only[*corev1.PersistentVolumeClaim](t, objs)
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 2 {
		t.Fatalf("%d containers, want 2: the console and its sign-in proxy", len(pod.Containers))
	}
	c, proxy := container(t, pod, "flowenroll"), container(t, pod, "oauth2-proxy")

	t.Run("one replica, replaced without overlap", func(t *testing.T) {
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			t.Error("replicas must be 1: Gong's quota is per company and the console paces it in one process")
		}
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("strategy %q: two pods at once would share the quota and the volume", d.Spec.Strategy.Type)
		}
	})
	t.Run("serve with its data on the volume", func(t *testing.T) {
		if len(c.Args) == 0 || c.Args[0] != "serve" {
			t.Fatalf("args %q, want serve first", c.Args)
		}
		data := argValue(c.Args, "--data")
		mounted := false
		for _, m := range c.VolumeMounts {
			if m.Name == "data" && strings.HasPrefix(data, m.MountPath) {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("--data %q is not on the volume \"data\"", data)
		}
		claim := ""
		for _, v := range pod.Volumes {
			if v.Name == "data" && v.PersistentVolumeClaim != nil {
				claim = v.PersistentVolumeClaim.ClaimName
			}
		}
		if claim != pvc.Name {
			t.Errorf("the data volume claims %q, the manifest's PVC is %q", claim, pvc.Name)
		}
	})
	t.Run("flags and variables name serve's flags", func(t *testing.T) {
		flags := serveFlags(t)
		for _, a := range c.Args[1:] {
			if name, ok := strings.CutPrefix(a, "--"); ok && !slices.Contains(flags, strings.SplitN(name, "=", 2)[0]) {
				t.Errorf("argument %s: serve has no such flag", a)
			}
		}
		for _, e := range c.Env {
			if name, ok := strings.CutPrefix(e.Name, "FLOWENROLL_"); ok {
				flag := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
				if !slices.Contains(flags, flag) {
					t.Errorf("%s: serve has no flag --%s, so it would be ignored", e.Name, flag)
				}
			}
		}
	})
	t.Run("people sign in through the proxy in the pod", func(t *testing.T) {
		// The console on loopback believes the header from loopback only:
		// the proxy beside it. Anywhere else serve refuses --auth-header
		// without --trusted-proxy.
		listen := argValue(c.Args, "--listen")
		if !strings.HasPrefix(listen, "127.0.0.1:") {
			t.Errorf("--listen %s: the console must listen on loopback, reached only by the proxy", listen)
		}
		if h := argValue(c.Args, "--auth-header"); h != "X-Forwarded-Email" {
			t.Errorf("--auth-header %q, want X-Forwarded-Email, the header oauth2-proxy sets", h)
		}
		if envValue(c.Env, "FLOWENROLL_USERS_FILE") != "" {
			t.Error("FLOWENROLL_USERS_FILE with --auth-header: serve refuses both")
		}
		if up := argValue(proxy.Args, "--upstream"); strings.TrimSuffix(up, "/") != "http://"+listen {
			t.Errorf("the proxy's --upstream %q is not the console's --listen %s", up, listen)
		}
		if v := argValue(proxy.Args, "--pass-user-headers"); v != "true" {
			t.Errorf("--pass-user-headers=%q: the proxy must set X-Forwarded-Email", v)
		}
		if v := argValue(proxy.Args, "--skip-auth-strip-headers"); v != "true" {
			t.Errorf("--skip-auth-strip-headers=%q: a client's own X-Forwarded-Email must be dropped", v)
		}
		for _, e := range proxy.Env {
			if strings.Contains(e.Name, "SECRET") || strings.HasSuffix(e.Name, "CLIENT_ID") {
				if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "flowenroll-console-oauth2" {
					t.Errorf("%s: not from the Secret flowenroll-console-oauth2", e.Name)
				}
			}
		}
	})
	t.Run("credentials only as files", func(t *testing.T) {
		for _, e := range c.Env {
			if slices.Contains(credentialVars, e.Name) {
				t.Errorf("%s is set directly: use %s_FILE and the Secret", e.Name, e.Name)
			}
		}
		for _, name := range []string{"GONG_ACCESS_KEY_FILE", "GONG_ACCESS_KEY_SECRET_FILE"} {
			path := envValue(c.Env, name)
			if !mountedFromSecret(pod, c, path, "flowenroll-gong") {
				t.Errorf("%s=%q is not a file of the Secret flowenroll-gong", name, path)
			}
		}
	})
	t.Run("probes through the proxy", func(t *testing.T) {
		port := proxyPort(t, proxy)
		for name, p := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
			if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != name || p.HTTPGet.Port.IntValue() != int(port) {
				t.Errorf("probe %s: %+v, want it on the proxy's port %d", name, p, port)
			}
			if !slices.Contains(proxy.Args, "--skip-auth-route=GET=^"+name+"$") {
				t.Errorf("probe %s: the proxy asks the kubelet to sign in (no --skip-auth-route)", name)
			}
		}
		if len(c.Ports) != 0 {
			t.Errorf("the console declares ports %+v: it listens on loopback only", c.Ports)
		}
		if !strings.HasSuffix(argValue(proxy.Args, "--http-address"), fmt.Sprintf(":%d", port)) {
			t.Errorf("--http-address %s, port %d", argValue(proxy.Args, "--http-address"), port)
		}
	})
	t.Run("graceful stop", func(t *testing.T) {
		drain := defaultDrainTimeout
		if v := envValue(c.Env, "FLOWENROLL_DRAIN_TIMEOUT"); v != "" {
			var err error
			if drain, err = time.ParseDuration(v); err != nil {
				t.Fatal(err)
			}
		}
		grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
		if grace < drain+drainMargin {
			t.Errorf("terminationGracePeriodSeconds %v < drain %v + %v to write the files", grace, drain, drainMargin)
		}
	})
	t.Run("restricted pod security", func(t *testing.T) {
		psc := pod.SecurityContext
		for _, c := range pod.Containers {
			sc := c.SecurityContext
			switch {
			case psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != nonRootUID:
				t.Error("the pod must run as the non-root user 65532")
			case sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
				t.Errorf("%s: the root filesystem must be read-only", c.Name)
			case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
				t.Errorf("%s: allowPrivilegeEscalation must be false", c.Name)
			case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL"):
				t.Errorf("%s: capabilities must drop ALL", c.Name)
			case pod.EnableServiceLinks == nil || *pod.EnableServiceLinks:
				t.Error("enableServiceLinks must be false: service variables would reach FLOWENROLL_*")
			case c.Resources.Limits.Memory().IsZero():
				t.Errorf("%s: no memory limit", c.Name)
			}
		}
		tmp := false
		for _, m := range c.VolumeMounts {
			tmp = tmp || m.MountPath == "/tmp"
		}
		if !tmp {
			t.Error("no writable /tmp: large workbooks are unpacked there")
		}
	})
	t.Run("the Service reaches the pod", func(t *testing.T) {
		for k, v := range svc.Spec.Selector {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("the Service selects %s=%s; the pod has %q", k, v, d.Spec.Template.Labels[k])
			}
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" || proxyPort(t, proxy) == 0 {
			t.Errorf("service ports %+v: want the proxy's port \"http\"", svc.Spec.Ports)
		}
	})
}

func TestConsoleKustomization(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(consoleDir, kustomizationFile))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `json:"resources"`
		Images    []struct {
			Name string `json:"name"`
		} `json:"images"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(k.Resources, []string{"console.yaml"}) || len(k.Images) != 1 || k.Images[0].Name != "flowenroll" {
		t.Errorf("kustomization: resources %v, images %+v", k.Resources, k.Images)
	}
}

// container is the pod's container of this name.
func container(t *testing.T, pod corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range pod.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return corev1.Container{}
}

// proxyPort is the sign-in proxy's port named http.
func proxyPort(t *testing.T, proxy corev1.Container) int32 {
	t.Helper()
	for _, p := range proxy.Ports {
		if p.Name == "http" {
			return p.ContainerPort
		}
	}
	t.Fatal("the proxy has no port named http")
	return 0
}

func argValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// mountedFromSecret says whether path is a file of the named Secret, mounted
// into the container.
func mountedFromSecret(pod corev1.PodSpec, c corev1.Container, path, secret string) bool {
	for _, m := range c.VolumeMounts {
		if filepath.Dir(path) != m.MountPath {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.Secret != nil && v.Secret.SecretName == secret {
				return true
			}
		}
	}
	return false
}
