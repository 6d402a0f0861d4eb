// The chart's checks, run by `make chart-check`: helm lint --strict and helm template for each
// values file under charts/idpgate/ci/, every rendered object decoded strictly into its
// Kubernetes Go type (an unknown or misspelt field fails, case included), the rules a platform
// team relies on checked on the result, and values.schema.json refusing bad values. Helm is
// the binary scripts/helm.sh builds (HELM); this module keeps k8s.io out of the provider's go.mod.
package chart_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const (
	chartDir  = "../../charts/idpgate"
	release   = "idpgate"
	namespace = "idpgate"
)

// ciFiles are the values files CI renders; each must exist, and no other may be left unchecked.
var ciFiles = []string{"single", "redis", "tls-mtls", "forward-auth-ingress-nginx", "httproute", "monitoring"}

// helmBin is the Helm that scripts/helm.sh built, or a failure that says how to get it.
func helmBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("HELM")
	if bin == "" {
		t.Fatal("HELM is not set: run `make chart-check`, which builds Helm with `bash scripts/helm.sh` (once per machine) and sets it")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("HELM=%s: %v; build it with `bash scripts/helm.sh`", bin, err)
	}
	return bin
}

// helm runs Helm with no user configuration or repositories and returns its output.
func helm(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(helmBin(t), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func valuesFile(name string) string { return filepath.Join(chartDir, "ci", name+".yaml") }

func TestCIValuesFilesAreTheCheckedOnes(t *testing.T) {
	found, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range found {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	want := slices.Clone(ciFiles)
	slices.Sort(want)
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("charts/idpgate/ci holds %v; the checks cover %v", names, want)
	}
}

func TestLintStrict(t *testing.T) {
	for _, name := range ciFiles {
		t.Run(name, func(t *testing.T) {
			out, errOut, err := helm(t, "lint", "--strict", chartDir, "-f", valuesFile(name))
			if err != nil {
				t.Errorf("helm lint --strict -f ci/%s.yaml: %v\n%s%s", name, err, out, errOut)
			}
		})
	}
}

// object is one rendered manifest decoded into its Go type.
type object struct {
	kind, name string
	raw        []byte
	value      any
}

// newObject maps apiVersion/kind to the Go type a strict decode fills; a kind the chart
// should not render fails.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Pod":
		return &corev1.Pod{}, nil
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "networking.k8s.io/v1/Ingress":
		return &networkingv1.Ingress{}, nil
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "gateway.networking.k8s.io/v1/HTTPRoute":
		return &gatewayv1.HTTPRoute{}, nil
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	}
	return nil, fmt.Errorf("no Go type for %s %s", apiVersion, kind)
}

// decodeStrict decodes one manifest: YAML to JSON, then Kubernetes' own strict decoder
// (case-sensitive field names, unknown and duplicate fields refused).
func decodeStrict(doc []byte) (object, error) {
	js, err := yaml.YAMLToJSONStrict(doc) // a key given twice fails too
	if err != nil {
		return object{}, err
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &meta); err != nil {
		return object{}, err
	}
	v, err := newObject(meta.APIVersion, meta.Kind)
	if err != nil {
		return object{}, err
	}
	strict, err := kjson.UnmarshalStrict(js, v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return object{}, err
	}
	if len(strict) > 0 {
		return object{}, fmt.Errorf("%s %s: %v", meta.Kind, meta.Metadata.Name, strict)
	}
	return object{kind: meta.Kind, name: meta.Metadata.Name, raw: doc, value: v}, nil
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// render runs helm template with the values files and --set pairs and decodes every object.
func render(t *testing.T, args ...string) []object {
	t.Helper()
	out, errOut, err := helm(t, append([]string{"template", release, chartDir, "--namespace", namespace}, args...)...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", args, err, errOut)
	}
	var objs []object
	for _, doc := range docSeparator.Split(out, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		o, err := decodeStrict([]byte(doc))
		if err != nil {
			t.Errorf("helm template %v: a rendered object does not decode strictly: %v\n%s", args, err, doc)
			continue
		}
		objs = append(objs, o)
	}
	return objs
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func TestStrictDecodeRefusesAMisspeltField(t *testing.T) {
	// The decoder itself must be able to fail: a field in the wrong case, an unknown one.
	for _, doc := range []string{
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {Type: ClusterIP}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {typo: ClusterIP}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {type: ClusterIP, type: NodePort}\n",
		"apiVersion: v1\nkind: Frobnicator\nmetadata: {name: x}\n",
	} {
		if _, err := decodeStrict([]byte(doc)); err == nil {
			t.Errorf("decoded without error:\n%s", doc)
		}
	}
}

// appVersion is the chart's appVersion, the default image tag.
func appVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil || c.AppVersion == "" {
		t.Fatalf("Chart.yaml: appVersion missing (%v)", err)
	}
	return c.AppVersion
}

// ciValues is the part of a ci values file the checks compare with.
type ciValues struct {
	Mode  string `json:"mode"`
	Image struct {
		Digest string `json:"digest"`
	} `json:"image"`
	Redis struct {
		ExistingSecret string `json:"existingSecret"`
	} `json:"redis"`
	TLS struct {
		ExistingSecret string `json:"existingSecret"`
	} `json:"tls"`
	AdminTLS struct {
		ExistingSecret string `json:"existingSecret"`
	} `json:"adminTLS"`
	AdminClientCA struct {
		ExistingSecret string `json:"existingSecret"`
	} `json:"adminClientCA"`
	Autoscaling struct {
		Enabled bool `json:"enabled"`
	} `json:"autoscaling"`
	ServiceMonitor struct {
		Enabled bool `json:"enabled"`
	} `json:"serviceMonitor"`
	NetworkPolicy struct {
		Enabled bool `json:"enabled"`
	} `json:"networkPolicy"`
	HTTPRoute struct {
		Enabled bool `json:"enabled"`
	} `json:"httpRoute"`
	TrustedProxies []string `json:"trustedProxies"`
	ForwardAuth    struct {
		Ingresses []struct {
			Name string `json:"name"`
		} `json:"ingresses"`
	} `json:"forwardAuth"`
}

func readValues(t *testing.T, name string) ciValues {
	t.Helper()
	b, err := os.ReadFile(valuesFile(name))
	if err != nil {
		t.Fatal(err)
	}
	var v ciValues
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.Mode == "" {
		v.Mode = "bbolt"
	}
	return v
}

func TestRenderedManifests(t *testing.T) {
	version := appVersion(t)
	for _, name := range ciFiles {
		t.Run(name, func(t *testing.T) {
			v := readValues(t, name)
			objs := render(t, "-f", valuesFile(name))
			checkManifests(t, v, version, objs)
		})
	}
}

// checkManifests holds the rules every rendering must keep.
func checkManifests(t *testing.T, v ciValues, version string, objs []object) {
	t.Helper()
	kinds := map[string][]object{}
	for _, o := range objs {
		kinds[o.kind] = append(kinds[o.kind], o)
	}
	adminTLS := v.TLS.ExistingSecret != "" || v.AdminTLS.ExistingSecret != ""

	// One workload, of the mode's kind.
	var pod *corev1.PodTemplateSpec
	switch v.Mode {
	case "bbolt":
		if len(kinds["StatefulSet"]) != 1 || len(kinds["Deployment"]) != 0 {
			t.Fatalf("bbolt mode: %d StatefulSets, %d Deployments; want one StatefulSet", len(kinds["StatefulSet"]), len(kinds["Deployment"]))
		}
		sts := kinds["StatefulSet"][0].value.(*appsv1.StatefulSet)
		if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 1 {
			t.Errorf("bbolt StatefulSet replicas = %v, want 1 (one owner of the bbolt file)", sts.Spec.Replicas)
		}
		if len(sts.Spec.VolumeClaimTemplates) != 1 || sts.Spec.VolumeClaimTemplates[0].Name != "data" {
			t.Errorf("bbolt StatefulSet: want one volumeClaimTemplate named data")
		}
		pod = &sts.Spec.Template
	case "redis":
		if len(kinds["Deployment"]) != 1 || len(kinds["StatefulSet"]) != 0 {
			t.Fatalf("redis mode: %d Deployments, %d StatefulSets; want one Deployment", len(kinds["Deployment"]), len(kinds["StatefulSet"]))
		}
		pod = &kinds["Deployment"][0].value.(*appsv1.Deployment).Spec.Template
		if len(kinds["PodDisruptionBudget"]) != 1 {
			t.Errorf("redis mode: want a PodDisruptionBudget")
		}
		if v.Autoscaling.Enabled != (len(kinds["HorizontalPodAutoscaler"]) == 1) {
			t.Errorf("autoscaling.enabled=%v but %d HorizontalPodAutoscalers", v.Autoscaling.Enabled, len(kinds["HorizontalPodAutoscaler"]))
		}
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("pod has %d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	checkImage(t, c.Image, v, version)
	checkProbes(t, c, adminTLS)
	checkSecurity(t, pod.Spec.SecurityContext, c.SecurityContext)
	checkArgs(t, c, v)

	// The admin Service is ClusterIP, whatever the values.
	var admin int
	for _, o := range kinds["Service"] {
		svc := o.value.(*corev1.Service)
		for _, p := range svc.Spec.Ports {
			if p.TargetPort == intstr.FromString("admin") {
				admin++
				if svc.Spec.Type != corev1.ServiceTypeClusterIP {
					t.Errorf("admin Service %s: type %q, want ClusterIP", svc.Name, svc.Spec.Type)
				}
			}
		}
	}
	if admin != 1 {
		t.Errorf("%d Services expose the admin port, want 1", admin)
	}

	checkNoSecretInClear(t, objs)
	checkHelmTest(t, kinds["Pod"], adminTLS)

	if v.ServiceMonitor.Enabled {
		if len(kinds["ServiceMonitor"]) != 1 {
			t.Fatalf("serviceMonitor.enabled: %d ServiceMonitors", len(kinds["ServiceMonitor"]))
		}
		sm := kinds["ServiceMonitor"][0].value.(*monitoringv1.ServiceMonitor)
		if sm.Spec.Selector.MatchLabels["app.kubernetes.io/component"] != "admin" || len(sm.Spec.Endpoints) != 1 ||
			sm.Spec.Endpoints[0].Port != "admin" || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor does not scrape /metrics on the admin Service: %+v", sm.Spec)
		}
	}
	if v.NetworkPolicy.Enabled {
		if len(kinds["NetworkPolicy"]) != 1 {
			t.Fatalf("networkPolicy.enabled: %d NetworkPolicies", len(kinds["NetworkPolicy"]))
		}
		checkNetworkPolicy(t, kinds["NetworkPolicy"][0].value.(*networkingv1.NetworkPolicy))
	}
	if v.HTTPRoute.Enabled {
		if len(kinds["HTTPRoute"]) != 1 {
			t.Fatalf("httpRoute.enabled: %d HTTPRoutes", len(kinds["HTTPRoute"]))
		}
		r := kinds["HTTPRoute"][0].value.(*gatewayv1.HTTPRoute)
		if len(r.Spec.Rules) != 1 || len(r.Spec.Rules[0].BackendRefs) != 1 ||
			string(r.Spec.Rules[0].BackendRefs[0].Name) != release+"-proxy" {
			t.Errorf("HTTPRoute does not send to the proxy Service: %+v", r.Spec.Rules)
		}
	}
	for _, fa := range v.ForwardAuth.Ingresses {
		checkForwardAuthIngress(t, kinds["Ingress"], fa.Name, v.TLS.ExistingSecret != "")
	}
}

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func checkImage(t *testing.T, image string, v ciValues, version string) {
	t.Helper()
	want := "ghcr.io/idpgate/idpgate:" + version
	if v.Image.Digest != "" {
		want = "ghcr.io/idpgate/idpgate@" + v.Image.Digest
	}
	if image != want {
		t.Errorf("image %q, want %q (the chart's appVersion, or the digest when one is set)", image, want)
	}
}

func checkProbes(t *testing.T, c corev1.Container, adminTLS bool) {
	t.Helper()
	var adminPort int32
	for _, p := range c.Ports {
		if p.Name == "admin" {
			adminPort = p.ContainerPort
		}
	}
	if adminPort == 0 {
		t.Fatalf("container has no port named admin: %+v", c.Ports)
	}
	scheme := corev1.URISchemeHTTP
	if adminTLS {
		scheme = corev1.URISchemeHTTPS
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: want an httpGet on %s", p.name, p.path)
			continue
		}
		g := p.probe.HTTPGet
		onAdmin := g.Port == intstr.FromString("admin") || g.Port == intstr.FromInt32(adminPort)
		if g.Path != p.path || !onAdmin || g.Scheme != scheme {
			t.Errorf("%s probe: %s %s on port %s; want %s %s on the admin port", p.name, g.Scheme, g.Path, g.Port.String(), scheme, p.path)
		}
	}
}

func checkSecurity(t *testing.T, pod *corev1.PodSecurityContext, c *corev1.SecurityContext) {
	t.Helper()
	if pod == nil || c == nil {
		t.Fatal("pod or container securityContext missing")
	}
	nonRoot := ptrValue(pod.RunAsNonRoot) || ptrValue(c.RunAsNonRoot)
	uid := ptrValue(c.RunAsUser)
	if c.RunAsUser == nil {
		uid = ptrValue(pod.RunAsUser)
	}
	if !nonRoot || uid == 0 {
		t.Errorf("runAsNonRoot=%v runAsUser=%d: want non-root", nonRoot, uid)
	}
	if !ptrValue(c.ReadOnlyRootFilesystem) {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if c.Capabilities == nil || !slices.Contains(c.Capabilities.Drop, "ALL") || len(c.Capabilities.Add) > 0 {
		t.Errorf("capabilities %+v: want drop ALL, add none", c.Capabilities)
	}
	seccomp := c.SeccompProfile
	if seccomp == nil {
		seccomp = pod.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccompProfile %+v: want RuntimeDefault", seccomp)
	}
	if ptrValue(c.Privileged) {
		t.Error("privileged container")
	}
}

func checkArgs(t *testing.T, c corev1.Container, v ciValues) {
	t.Helper()
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("args %q: want `serve` first (the image's entrypoint is idpgate)", c.Args)
	}
	has := func(prefix string) bool {
		return slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, prefix) })
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if ref := env["IDPGATE_ADMIN_TOKEN"].ValueFrom; ref == nil || ref.SecretKeyRef == nil {
		t.Error("IDPGATE_ADMIN_TOKEN does not come from a Secret")
	}
	switch v.Mode {
	case "redis":
		ref := env["IDPGATE_REDIS_URL"].ValueFrom
		if ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != v.Redis.ExistingSecret {
			t.Errorf("IDPGATE_REDIS_URL: %+v; want it from Secret %s", env["IDPGATE_REDIS_URL"], v.Redis.ExistingSecret)
		}
		if has("-data-dir") || has("-redis-url") {
			t.Errorf("redis mode args %q: no -data-dir, and the URL only from the Secret", c.Args)
		}
	case "bbolt":
		if !slices.Contains(c.Args, "-data-dir=/var/lib/idpgate") {
			t.Errorf("bbolt mode args %q: want -data-dir=/var/lib/idpgate", c.Args)
		}
		if _, ok := env["IDPGATE_REDIS_URL"]; ok {
			t.Error("bbolt mode sets IDPGATE_REDIS_URL")
		}
	}
	if !slices.Contains(c.Args, "-access-log=/dev/stdout") {
		t.Errorf("args %q: want the access log on stdout", c.Args)
	}
	if (v.AdminClientCA.ExistingSecret != "") != has("-admin-client-ca=") {
		t.Errorf("adminClientCA %q but args %q", v.AdminClientCA.ExistingSecret, c.Args)
	}
	if (v.TLS.ExistingSecret != "") != (has("-tls-cert=") && has("-tls-key=")) {
		t.Errorf("tls %q but args %q", v.TLS.ExistingSecret, c.Args)
	}
	if len(v.TrustedProxies) > 0 && !slices.Contains(c.Args, "-trusted-proxies="+strings.Join(v.TrustedProxies, ",")) {
		t.Errorf("args %q: want -trusted-proxies=%s", c.Args, strings.Join(v.TrustedProxies, ","))
	}
	// Secret-looking variables come from Secrets, never as values.
	secretish := regexp.MustCompile(`(?i)token|password|secret|redis_url|headers|key`)
	for _, e := range c.Env {
		if secretish.MatchString(e.Name) && e.Value != "" {
			t.Errorf("env %s has a plain value; it must come from a Secret", e.Name)
		}
	}
}

// checkNoSecretInClear: no value of a rendered Secret appears in any other object (a
// ConfigMap, an env value, an argument, an annotation).
func checkNoSecretInClear(t *testing.T, objs []object) {
	t.Helper()
	var secrets []string
	for _, o := range objs {
		s, ok := o.value.(*corev1.Secret)
		if !ok {
			continue
		}
		for _, b := range s.Data {
			if len(b) >= 8 {
				secrets = append(secrets, string(b), base64.StdEncoding.EncodeToString(b))
			}
		}
		for _, v := range s.StringData {
			if len(v) >= 8 {
				secrets = append(secrets, v)
			}
		}
	}
	for _, o := range objs {
		if o.kind == "Secret" {
			continue
		}
		for _, s := range secrets {
			if bytes.Contains(o.raw, []byte(s)) {
				t.Errorf("%s %s carries the value of a Secret in clear", o.kind, o.name)
			}
		}
	}
}

func checkHelmTest(t *testing.T, pods []object, adminTLS bool) {
	t.Helper()
	for _, o := range pods {
		p := o.value.(*corev1.Pod)
		if p.Annotations["helm.sh/hook"] != "test" {
			continue
		}
		scheme := "http"
		if adminTLS {
			scheme = "https"
		}
		want := fmt.Sprintf("%s://%s-admin:8081/readyz", scheme, release)
		if len(p.Spec.Containers) != 1 || !slices.Contains(p.Spec.Containers[0].Args, want) {
			t.Errorf("helm test pod %s does not call %s: %q", p.Name, want, p.Spec.Containers[0].Args)
		}
		checkSecurity(t, p.Spec.SecurityContext, p.Spec.Containers[0].SecurityContext)
		return
	}
	t.Error("no helm test pod (annotation helm.sh/hook: test)")
}

func checkNetworkPolicy(t *testing.T, np *networkingv1.NetworkPolicy) {
	t.Helper()
	ports := map[string]networkingv1.NetworkPolicyIngressRule{}
	for _, r := range np.Spec.Ingress {
		for _, p := range r.Ports {
			if p.Port != nil {
				ports[p.Port.String()] = r
			}
		}
	}
	proxy, ok := ports["proxy"]
	if !ok || len(proxy.From) == 0 {
		t.Errorf("NetworkPolicy: the proxy port is open to every namespace: %+v", np.Spec.Ingress)
	}
	admin, ok := ports["admin"]
	if !ok || len(admin.From) == 0 {
		t.Errorf("NetworkPolicy: the admin port is open to everyone: %+v", np.Spec.Ingress)
	}
	for _, peer := range append(proxy.From, admin.From...) {
		if peer.IPBlock != nil || (peer.NamespaceSelector != nil && len(peer.NamespaceSelector.MatchLabels) == 0 &&
			len(peer.NamespaceSelector.MatchExpressions) == 0) {
			t.Errorf("NetworkPolicy peer %+v lets any namespace or address in", peer)
		}
	}
}

func checkForwardAuthIngress(t *testing.T, ingresses []object, name string, proxyTLS bool) {
	t.Helper()
	scheme := "http"
	if proxyTLS {
		scheme = "https"
	}
	want := fmt.Sprintf("%s://%s-proxy.%s.svc.cluster.local:8080/_idpgate/decide", scheme, release, namespace)
	for _, o := range ingresses {
		ing := o.value.(*networkingv1.Ingress)
		if ing.Name != release+"-"+name {
			continue
		}
		if got := ing.Annotations["nginx.ingress.kubernetes.io/auth-url"]; got != want {
			t.Errorf("Ingress %s: auth-url %q, want %q", ing.Name, got, want)
		}
		if got := ing.Annotations["nginx.ingress.kubernetes.io/auth-response-headers"]; !strings.Contains(got, "X-Idpgate-Client-Id") {
			t.Errorf("Ingress %s: auth-response-headers %q lack the identity headers", ing.Name, got)
		}
		return
	}
	t.Errorf("no forward-auth Ingress %s-%s", release, name)
}

// TestGeneratedAdminTokenIsASecretOnly: without adminToken.existingSecret the chart makes a
// token, kept by uninstall, and long enough.
func TestGeneratedAdminTokenIsASecretOnly(t *testing.T) {
	objs := render(t, "-f", valuesFile("single"))
	for _, o := range objs {
		s, ok := o.value.(*corev1.Secret)
		if !ok || s.Name != release+"-admin-token" {
			continue
		}
		if len(s.Data["token"]) < 32 {
			t.Errorf("generated admin token is %d bytes, want 32 or more", len(s.Data["token"]))
		}
		if s.Annotations["helm.sh/resource-policy"] != "keep" {
			t.Error("generated admin token Secret is not kept on uninstall")
		}
		return
	}
	t.Fatal("no generated admin token Secret")
}

// TestSchemaRefuses: values.schema.json refuses what would not run, with a message, before
// any template is rendered.
func TestSchemaRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string // in Helm's message
	}{
		{"unknown mode", []string{"--set", "mode=cluster"}, "mode"},
		{"wrong type", []string{"--set", "replicaCount=three"}, "replicaCount"},
		{"wrong type, boolean", []string{"--set", "autoscaling.enabled=yes"}, "enabled"},
		{"redis mode without the URL's Secret", []string{"--set", "mode=redis"}, "existingSecret"},
		{"redis mode with an empty Secret name", []string{"--set", "mode=redis", "--set", "redis.existingSecret="}, "existingSecret"},
		{"unknown key", []string{"--set", "replicas=3"}, "replicas"},
		{"admin Service type", []string{"--set", "service.admin.type=LoadBalancer"}, "type"},
		{"access log elsewhere", []string{"--set", "accessLog=/var/log/x"}, "accessLog"},
		{"digest not sha256", []string{"--set", "image.digest=latest"}, "digest"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, err := helm(t, append([]string{"template", release, chartDir}, c.args...)...)
			if err == nil {
				t.Fatalf("helm template %v rendered; want the schema to refuse it", c.args)
			}
			if !strings.Contains(errOut, "schema") || !strings.Contains(errOut, c.want) {
				t.Errorf("helm template %v: %s\nwant a schema error naming %q", c.args, errOut, c.want)
			}
		})
	}
	// And the schema accepts the same keys with good values.
	render(t, "--set", "mode=redis", "--set", "redis.existingSecret=r", "--set", "replicaCount=5")
}

// TestTemplateFailsOnMTLSWithoutTLS: client certificates need TLS, which the schema cannot
// express; the chart says so.
func TestTemplateFailsOnMTLSWithoutTLS(t *testing.T) {
	_, errOut, err := helm(t, "template", release, chartDir, "--set", "adminClientCA.existingSecret=ca")
	if err == nil || !strings.Contains(errOut, "needs TLS on the admin listener") {
		t.Errorf("adminClientCA without TLS: %v %s; want a refusal naming TLS", err, errOut)
	}
}
