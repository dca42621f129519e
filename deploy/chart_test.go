package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/app"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/rollout"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

const (
	chartDir  = "helm/cato"
	namespace = "llm"
	release   = "cato"
	// healthPath is Cato's readiness path (internal/api's routes); the
	// tests also request every probe path of a gateway started from the
	// rendered configuration, so a path the router lacks fails there too.
	healthPath = "/api/admin/cato/health"
)

// serviceMonitor is the part of prometheus-operator's ServiceMonitor the
// chart sets; decoding refuses any other field.
type serviceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// prometheusRule is the part of prometheus-operator's PrometheusRule the
// chart sets.
type prometheusRule struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// release is what the chart renders for one set of values, each manifest
// decoded strictly into its API type; absent kinds are nil.
type rendered struct {
	deployment     *appsv1.Deployment
	configMap      *corev1.ConfigMap
	secret         *corev1.Secret
	service        *corev1.Service
	serviceAccount *corev1.ServiceAccount
	hpa            *autoscalingv2.HorizontalPodAutoscaler
	pdb            *policyv1.PodDisruptionBudget
	ingress        *networkingv1.Ingress
	serviceMonitor *serviceMonitor
	rule           *prometheusRule
}

// render renders the chart with the values file (none for the defaults)
// as `helm install` would, with no cluster, and decodes every manifest.
func render(t *testing.T, valuesFile string, extra map[string]any) *rendered {
	t.Helper()
	out, err := renderChart(valuesFile, extra)
	if err != nil {
		t.Fatal(err)
	}
	r := &rendered{}
	for _, name := range slices.Sorted(maps.Keys(out)) {
		if !strings.HasSuffix(name, ".yaml") {
			continue // NOTES.txt and helpers
		}
		for _, doc := range releaseutil.SplitManifests(out[name]) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			if err := r.add([]byte(doc)); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, doc)
			}
		}
	}
	if r.deployment == nil || r.configMap == nil || r.service == nil {
		t.Fatal("the chart rendered no Deployment, ConfigMap or Service")
	}
	return r
}

// renderChart renders the chart with a values file and extra values.
func renderChart(valuesFile string, extra map[string]any) (map[string]string, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	vals := chartutil.Values{}
	if valuesFile != "" {
		if vals, err = chartutil.ReadValuesFile(valuesFile); err != nil {
			return nil, err
		}
	}
	vals = chartutil.CoalesceTables(extra, vals)
	caps := *chartutil.DefaultCapabilities
	caps.KubeVersion = chartutil.KubeVersion{Version: "v1.31.0", Major: "1", Minor: "31"}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}, &caps)
	if err != nil {
		return nil, err
	}
	return engine.Render(ch, rv)
}

// add decodes one manifest strictly into the type of its kind.
func (r *rendered) add(doc []byte) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(j, &tm); err != nil {
		return err
	}
	want := map[string]string{
		"Deployment": "apps/v1", "ConfigMap": "v1", "Secret": "v1", "Service": "v1", "ServiceAccount": "v1",
		"HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1", "Ingress": "networking.k8s.io/v1",
		"ServiceMonitor": "monitoring.coreos.com/v1", "PrometheusRule": "monitoring.coreos.com/v1",
	}
	if v, ok := want[tm.Kind]; !ok || v != tm.APIVersion {
		return fmt.Errorf("unexpected %s %s", tm.APIVersion, tm.Kind)
	}
	var into any
	switch tm.Kind {
	case "Deployment":
		into = setOnce(&r.deployment)
	case "ConfigMap":
		into = setOnce(&r.configMap)
	case "Secret":
		into = setOnce(&r.secret)
	case "Service":
		into = setOnce(&r.service)
	case "ServiceAccount":
		into = setOnce(&r.serviceAccount)
	case "HorizontalPodAutoscaler":
		into = setOnce(&r.hpa)
	case "PodDisruptionBudget":
		into = setOnce(&r.pdb)
	case "Ingress":
		into = setOnce(&r.ingress)
	case "ServiceMonitor":
		into = setOnce(&r.serviceMonitor)
	case "PrometheusRule":
		into = setOnce(&r.rule)
	}
	if into == nil {
		return fmt.Errorf("a second %s", tm.Kind)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// setOnce points *p at a new T and returns it, or returns nil when *p is
// already set.
func setOnce[T any](p **T) any {
	if *p != nil {
		return nil
	}
	*p = new(T)
	return *p
}

func TestChartDefault(t *testing.T) {
	r := render(t, "", nil)
	checkRelease(t, r)
	if r.hpa != nil || r.pdb != nil || r.serviceMonitor != nil || r.rule != nil || r.ingress != nil {
		t.Error("the default values render an HPA, PDB, ServiceMonitor, PrometheusRule or Ingress; they are opt-in (PDB: with replicas)")
	}
	if n := *r.deployment.Spec.Replicas; n != 1 {
		t.Errorf("replicas = %d; the embedded store serves one", n)
	}
	if _, ok := r.secret.Data["store-url"]; ok {
		t.Error("the default Secret has a store-url; the embedded default needs none")
	}
	startGateway(t, r, true)
}

func TestChartScaledOut(t *testing.T) {
	const values = chartDir + "/examples/scaled-out.yaml"
	r := render(t, values, nil)
	checkRelease(t, r)
	if n := len(r.secret.Data); n == 0 {
		t.Fatal("no Secret data")
	}
	if got := string(r.secret.Data["store-url"]); !strings.HasPrefix(got, "redis://") {
		t.Errorf("store-url = %q; want the Redis URL of the example", got)
	}
	if r.deployment.Spec.Replicas != nil {
		t.Errorf("replicas = %d with the HPA on; the HPA owns the count", *r.deployment.Spec.Replicas)
	}
	d := r.deployment

	// HPA: scales this Deployment on CPU and on Cato's in-flight gauge.
	if r.hpa == nil {
		t.Fatal("no HorizontalPodAutoscaler")
	}
	if ref := r.hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != d.Name || ref.APIVersion != "apps/v1" {
		t.Errorf("HPA targets %+v; want Deployment %s", ref, d.Name)
	}
	if *r.hpa.Spec.MinReplicas < 3 {
		t.Errorf("HPA minReplicas = %d; the example runs 3", *r.hpa.Spec.MinReplicas)
	}
	var cpu, inFlight bool
	for _, m := range r.hpa.Spec.Metrics {
		switch {
		case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource.Name == corev1.ResourceCPU:
			cpu = m.Resource.Target.AverageUtilization != nil
		case m.Type == autoscalingv2.PodsMetricSourceType:
			inFlight = true
			if !exportedMetrics(t)[m.Pods.Metric.Name] {
				t.Errorf("HPA pods metric %q is not a metric Cato exports", m.Pods.Metric.Name)
			}
		}
	}
	if !cpu || !inFlight {
		t.Errorf("HPA metrics: cpu %v, in flight %v; want both", cpu, inFlight)
	}

	// PDB: selects the pods, leaves at least one up.
	if r.pdb == nil {
		t.Fatal("no PodDisruptionBudget")
	}
	sel, err := metav1.LabelSelectorAsSelector(r.pdb.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("PDB selector %v does not select the pods (%v)", r.pdb.Spec.Selector, err)
	}
	if mu := r.pdb.Spec.MaxUnavailable; mu == nil || mu.IntValue() < 1 || mu.IntValue() >= 3 {
		t.Errorf("PDB maxUnavailable = %v; want at least 1 and fewer than the replicas", mu)
	}

	// ServiceMonitor: scrapes /metrics on the Service's port.
	if r.serviceMonitor == nil {
		t.Fatal("no ServiceMonitor")
	}
	sm := r.serviceMonitor
	sel, err = metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(r.service.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not select the Service (%v)", sm.Spec.Selector, err)
	}
	for _, ep := range sm.Spec.Endpoints {
		if ep.Path != "/metrics" || !slices.ContainsFunc(r.service.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
			t.Errorf("ServiceMonitor endpoint %+v: want /metrics on a port of the Service", ep)
		}
	}

	// PrometheusRule: the runbook's triggers, over metrics Cato exports.
	if r.rule == nil {
		t.Fatal("no PrometheusRule")
	}
	alerts := map[string]string{}
	for _, g := range r.rule.Spec.Groups {
		for _, rule := range g.Rules {
			alerts[rule.Alert] = rule.Expr
			checkExpr(t, "PrometheusRule "+rule.Alert, rule.Expr)
			if !strings.Contains(rule.Expr, `namespace="`+namespace+`"`) || !strings.Contains(rule.Expr, `job="`+d.Name+`"`) {
				t.Errorf("alert %s reads other releases' series too: %s", rule.Alert, rule.Expr)
			}
		}
	}
	// The same triggers as the rollout's own guard (rollout.auto_rollback).
	for alert, threshold := range map[string]string{
		"CatoErrorRateHigh":  fmt.Sprintf("> %v", rollout.DefaultErrorRate),
		"CatoLatencyP99High": fmt.Sprintf("> %v", rollout.DefaultSlowAfter.Seconds()),
	} {
		expr, ok := alerts[alert]
		if !ok {
			t.Errorf("no alert %s (a rollback trigger of the runbook)", alert)
			continue
		}
		if !strings.HasSuffix(strings.TrimSpace(expr), threshold) {
			t.Errorf("alert %s: %q does not end with %q", alert, expr, threshold)
		}
	}
	if !strings.Contains(alerts["CatoLatencyP99High"], "histogram_quantile(0.99,") {
		t.Errorf("CatoLatencyP99High is not a p99: %s", alerts["CatoLatencyP99High"])
	}

	// Ingress: routes to the Service's named port.
	if r.ingress == nil {
		t.Fatal("no Ingress")
	}
	for _, rule := range r.ingress.Spec.Rules {
		for _, p := range rule.HTTP.Paths {
			if b := p.Backend.Service; b == nil || b.Name != r.service.Name || b.Port.Name != "http" {
				t.Errorf("Ingress backend %+v; want the Service's http port", p.Backend)
			}
		}
	}

	// The example's store password is in the Secret only.
	if strings.Contains(r.configMap.Data["cato.yaml"], "change-me") {
		t.Error("the store password reached the ConfigMap")
	}
	startGateway(t, r, false)
}

// adminListen returns server.admin_listen of the rendered cato.yaml;
// empty when it opens no admin listener.
func adminListen(t *testing.T, r *rendered) string {
	t.Helper()
	var cfg struct {
		Server struct {
			AdminListen string `json:"admin_listen"`
		} `json:"server"`
	}
	if err := yaml.Unmarshal([]byte(r.configMap.Data["cato.yaml"]), &cfg); err != nil {
		t.Fatalf("cato.yaml: %v", err)
	}
	return cfg.Server.AdminListen
}

// TestChartAdminPort checks that the default values open the admin
// listener, and that adminPort 0 opens none and leaves probes and
// scrapes on the client port.
func TestChartAdminPort(t *testing.T) {
	if got := adminListen(t, render(t, "", nil)); got != "0.0.0.0:9090" {
		t.Errorf("default server.admin_listen = %q; want 0.0.0.0:9090", got)
	}
	r := render(t, "", map[string]any{"adminPort": 0, "metrics": map[string]any{"serviceMonitor": map[string]any{"enabled": true}}})
	if got := adminListen(t, r); got != "" {
		t.Errorf("adminPort 0: server.admin_listen = %q; want none", got)
	}
	for _, p := range r.service.Spec.Ports {
		if p.Name == "admin" {
			t.Error("adminPort 0: the Service has an admin port")
		}
	}
	checkRelease(t, r)
	startGateway(t, r, true)
}

// An embedded store kept on a claim is replaced, not surged: the new pod
// could not open the file the old one holds.
func TestChartEmbeddedOnClaim(t *testing.T) {
	r := render(t, "", map[string]any{
		"persistence": map[string]any{"existingClaim": "cato-data"},
		"strategy":    map[string]any{"type": "Recreate"},
	})
	if s := r.deployment.Spec.Strategy; s.Type != appsv1.RecreateDeploymentStrategyType || s.RollingUpdate != nil {
		t.Errorf("strategy %+v; want Recreate alone", s)
	}
	for _, v := range r.deployment.Spec.Template.Spec.Volumes {
		if v.Name == "data" && (v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "cato-data") {
			t.Errorf("data volume %+v; want the claim cato-data", v.VolumeSource)
		}
	}
}

// TestChartRefuses checks that values which would make a broken release
// fail to render, each with its reason.
func TestChartRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"replicas on the embedded store", map[string]any{"replicaCount": 3}, "embedded store serves one replica"},
		{"autoscaling on the embedded store", map[string]any{"autoscaling": map[string]any{"enabled": true}}, "embedded store serves one replica"},
		{"a store URL in cato.yaml", map[string]any{"config": map[string]any{"store": "redis://:pw@redis:6379/0"}}, "secret.storeURL"},
		{"the drain set in cato.yaml", map[string]any{"config": map[string]any{"server": map[string]any{"shutdown_timeout": "90s"}}}, "shutdownTimeoutSeconds"},
		{"a grace period shorter than the drain", map[string]any{"terminationGracePeriodSeconds": 20}, "terminationGracePeriodSeconds"},
		{"no client key", map[string]any{"secret": map[string]any{"clientKeys": []any{}}}, "client key"},
		{"the admin listener set in cato.yaml", map[string]any{"config": map[string]any{"server": map[string]any{"admin_listen": ":9999"}}}, "adminPort"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderChart("", tc.values)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("render: %v; want an error about %q", err, tc.want)
			}
		})
	}
}

// checkRelease checks what must hold for any values.
func checkRelease(t *testing.T, r *rendered) {
	t.Helper()
	d := r.deployment
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers; want Cato's one", len(pod.Containers))
	}
	c := pod.Containers[0]

	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("the Deployment's selector does not select its pods")
	}
	if !labels.SelectorFromSet(r.service.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("the Service's selector %v does not select the pods", r.service.Spec.Selector)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for _, p := range r.service.Spec.Ports {
		if _, ok := ports[p.TargetPort.String()]; !ok {
			t.Errorf("Service port %s targets %s, which the container does not name", p.Name, p.TargetPort.String())
		}
	}

	// Zero-downtime rollouts: no pod is taken away before its successor is
	// ready.
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update %+v; want maxUnavailable 0", d.Spec.Strategy)
	}

	// Security: non-root, read-only root, nothing extra.
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || sc == nil {
		t.Fatal("no security context")
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("runAsNonRoot is not set")
	}
	if psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("runAsUser is not a non-root number")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("the root filesystem is writable")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("privilege escalation is allowed")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities %+v; want ALL dropped and none added", sc.Capabilities)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged")
	}

	// Resources and GOMEMLIMIT.
	mem, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok || c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("resources %+v; want CPU and memory requests and a memory limit", c.Resources)
	}
	if mem.Cmp(*c.Resources.Requests.Memory()) < 0 {
		t.Errorf("memory limit %v below the request %v", mem.String(), c.Resources.Requests.Memory())
	}
	gomem := envVar(c, "GOMEMLIMIT")
	if gomem == nil || gomem.ValueFrom == nil || gomem.ValueFrom.ResourceFieldRef == nil || gomem.ValueFrom.ResourceFieldRef.Resource != "limits.memory" {
		t.Errorf("GOMEMLIMIT = %+v; want it from limits.memory", gomem)
	}

	// Probes: readiness on health, every probe on the named port: the
	// admin listener's when cato.yaml opens one, so that a flood of
	// clients on the client port cannot delay them.
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != healthPath {
		t.Errorf("readiness probe %+v; want GET %s", c.ReadinessProbe, healthPath)
	}
	probePort := "http"
	if adminListen(t, r) != "" {
		probePort = "admin"
		if _, port, _ := net.SplitHostPort(adminListen(t, r)); port != fmt.Sprint(ports["admin"]) {
			t.Errorf("server.admin_listen %s; want the container's admin port %d", adminListen(t, r), ports["admin"])
		}
	} else if _, ok := ports["admin"]; ok {
		t.Error("the container names an admin port, and cato.yaml opens no admin listener")
	}
	for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("probe %+v; want an HTTP GET", p)
			continue
		}
		if _, ok := ports[p.HTTPGet.Port.String()]; !ok {
			t.Errorf("probe on port %s, which the container does not name", p.HTTPGet.Port.String())
		}
		if got := p.HTTPGet.Port.String(); got != probePort {
			t.Errorf("probe GET %s on port %s; want %s", p.HTTPGet.Path, got, probePort)
		}
	}
	if sm := r.serviceMonitor; sm != nil {
		for _, ep := range sm.Spec.Endpoints {
			if ep.Port != probePort {
				t.Errorf("ServiceMonitor scrapes port %s; want %s", ep.Port, probePort)
			}
		}
	}
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path == healthPath {
		t.Error("liveness on the health path: a store outage would restart every pod")
	}

	// The configuration file and the store's directory are on volumes; the
	// root filesystem is read-only.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	if len(c.Args) != 2 || c.Args[0] != "--config" {
		t.Fatalf("args %q; want --config FILE", c.Args)
	}
	if m, ok := mounts[path.Dir(c.Args[1])]; !ok || !m.ReadOnly {
		t.Errorf("the config file %s is not on a read-only mount", c.Args[1])
	}
	if m, ok := mounts[c.WorkingDir]; !ok || m.ReadOnly {
		t.Errorf("the working directory %s, where the default embedded store lives, is not on a writable mount", c.WorkingDir)
	}

	// Secrets: every key Cato reads comes from the Secret, and none of it
	// is in the ConfigMap.
	if r.secret == nil {
		t.Fatal("no Secret")
	}
	file := r.configMap.Data["cato.yaml"]
	for k, v := range r.secret.Data {
		if len(v) > 0 && strings.Contains(file, string(v)) {
			t.Errorf("the value of Secret key %s is in the ConfigMap", k)
		}
	}
	for _, e := range c.Env {
		if strings.HasSuffix(e.Name, "_KEY") || strings.Contains(e.Name, "KEY_") || e.Name == "CATO_STORE" {
			if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != r.secret.Name {
				t.Errorf("env %s is not read from the Secret", e.Name)
			}
		}
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(file), &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["store"]; ok {
		t.Error("cato.yaml names the store; its URL may hold a password and belongs in the Secret")
	}

	// The configuration passes Cato's own validation, as `cato serve`
	// loads it: the file, then the pod's CATO_* environment.
	cfg := loadConfig(t, r)
	grace := *pod.TerminationGracePeriodSeconds
	var sleep int64
	if pre := c.Lifecycle; pre != nil && pre.PreStop != nil {
		if pre.PreStop.Sleep == nil || pre.PreStop.Exec != nil {
			t.Errorf("preStop %+v; the image has no shell: want a sleep action", pre.PreStop)
		} else {
			sleep = pre.PreStop.Sleep.Seconds
		}
	}
	if sleep == 0 {
		t.Error("no preStop sleep: connections sent before the endpoints update would be refused")
	}
	drain := int64(cfg.Server.ShutdownTimeout / time.Second)
	// Long-term memory's workers may take 30 s more to finish their batch
	// after the drain (docs/operations.md).
	if need := sleep + drain + 30; grace < need {
		t.Errorf("terminationGracePeriodSeconds %d < preStop %d + shutdown_timeout %d + 30", grace, sleep, drain)
	}

	// The store the pods use is where the pod can write it.
	if strings.HasPrefix(cfg.Store, "embedded://") {
		dir := strings.TrimPrefix(cfg.Store, "embedded://")
		if !path.IsAbs(dir) {
			dir = path.Join(c.WorkingDir, dir)
		}
		if !onWritableMount(dir, c.VolumeMounts) {
			t.Errorf("the embedded store %s is not on a writable volume", dir)
		}
	}
}

func onWritableMount(dir string, mounts []corev1.VolumeMount) bool {
	for _, m := range mounts {
		if !m.ReadOnly && (dir == m.MountPath || strings.HasPrefix(dir, m.MountPath+"/")) {
			return true
		}
	}
	return false
}

func envVar(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// podEnviron is the environment the container gets, as os.Environ gives
// it, with the Secret's values resolved; values set from the pod's
// resources are left out.
func podEnviron(t *testing.T, r *rendered) []string {
	t.Helper()
	c := r.deployment.Spec.Template.Spec.Containers[0]
	var env []string
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			if ref.Name != r.secret.Name {
				t.Fatalf("env %s reads Secret %s; the chart made %s", e.Name, ref.Name, r.secret.Name)
			}
			v, ok := r.secret.Data[ref.Key]
			if !ok {
				if ref.Optional == nil || !*ref.Optional {
					t.Errorf("env %s reads key %s, which the Secret lacks", e.Name, ref.Key)
				}
				continue
			}
			env = append(env, e.Name+"="+string(v))
		case e.ValueFrom.ResourceFieldRef != nil:
		default:
			t.Errorf("env %s comes from %+v", e.Name, e.ValueFrom)
		}
	}
	return env
}

// loadConfig loads the ConfigMap's cato.yaml with the pod's environment,
// as `cato serve --config` does.
func loadConfig(t *testing.T, r *rendered) *config.Config {
	t.Helper()
	file := filepath.Join(t.TempDir(), "cato.yaml")
	if err := os.WriteFile(file, []byte(r.configMap.Data["cato.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file, podEnviron(t, r))
	if err != nil {
		t.Fatalf("the ConfigMap's cato.yaml does not load: %v\n%s", err, r.configMap.Data["cato.yaml"])
	}
	return cfg
}

// startGateway builds Cato from the rendered configuration and
// environment, as a pod would (app.New runs the start-up checks: keys
// present, a non-loopback listener with client keys, models buildable),
// with its store moved to a temporary directory; it serves on loopback and
// answers every probe path. With chat, a chat completion with the first
// client key from the Secret must succeed too.
func startGateway(t *testing.T, r *rendered, chat bool) {
	t.Helper()
	cfg := loadConfig(t, r)
	cfg.Store = "embedded://" + t.TempDir()
	environ := podEnviron(t, r)
	a, err := app.New(context.Background(), cfg, environ, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start-up checks: %v", err)
	}
	base, adminBase := serve(t, a, cfg.Server.AdminListen != "")
	byPort := map[string]string{"http": base, "admin": adminBase}
	c := r.deployment.Spec.Template.Spec.Containers[0]
	for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
		resp, err := http.Get(byPort[p.HTTPGet.Port.String()] + p.HTTPGet.Path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("probe GET %s = %d; want 200", p.HTTPGet.Path, resp.StatusCode)
		}
	}
	if !chat {
		return
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions",
		strings.NewReader(`{"model":"auto","messages":[{"role":"user","content":"hello"}]}`))
	req.Header.Set("Authorization", "Bearer "+string(r.secret.Data["client-key-0"]))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("chat completion with the Secret's client key = %d %s", resp.StatusCode, body)
	}
}

// serve serves a on a loopback port, and with admin its admin listener on
// another, until the test ends, and returns their base URLs (the admin
// one empty without admin).
func serve(t *testing.T, a *app.App, admin bool) (base, adminBase string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var adminLn net.Listener
	if admin {
		if adminLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		adminBase = "http://" + adminLn.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.ServeOn(ctx, ln, adminLn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String(), adminBase
}
