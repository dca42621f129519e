package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadtestCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Cato-Cache", "miss")
		w.Header().Set("X-Cato-Model", "bedrock_haiku")
		_, _ = w.Write([]byte(`{"choices":[{"message":{"role":"assistant","content":"4"}}]}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	jsonPath, htmlPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	var stdout, stderr bytes.Buffer
	err := runLoadtest(t.Context(), []string{
		"--url", srv.URL, "--workload", "../../bench/workloads/smoke.yaml", "--concurrency", "4",
		"--duration", "5s", "--max-requests", "50", "--json", jsonPath, "--html", htmlPath,
	}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("runLoadtest: %v\nstderr: %s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "50 sent, 50 ok (100.00%), 0 failed") {
		t.Errorf("stdout lacks the request counts:\n%s", stdout.String())
	}
	var rep struct {
		Sent  int64 `json:"sent"`
		Cache struct {
			Miss int64 `json:"miss"`
		} `json:"cache"`
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil || rep.Sent != 50 || rep.Cache.Miss != 50 {
		t.Errorf("JSON report: sent %d, misses %d, err %v; want 50, 50", rep.Sent, rep.Cache.Miss, err)
	}
	if html, err := os.ReadFile(htmlPath); err != nil || !bytes.Contains(html, []byte("<svg")) {
		t.Errorf("HTML report missing or without plots (err %v)", err)
	}
}

func TestLoadtestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no workload", []string{"--rate", "10"}, "--workload is required"},
		{"both modes", []string{"--workload", "../../bench/workloads/smoke.yaml", "--rate", "10", "--concurrency", "2"}, "not both"},
		{"no mode", []string{"--workload", "../../bench/workloads/smoke.yaml"}, "set a rate"},
		{"bad flag", []string{"--rat", "10"}, "flag provided but not defined"},
		{"argument", []string{"--workload", "x.yaml", "extra"}, "unexpected argument"},
		{"workers", []string{"--workload", "x.yaml", "--workers", "0"}, "--workers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runLoadtest(t.Context(), tt.args, &stdout, &stderr)
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("runLoadtest(%q) = %v; want a usage error mentioning %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestLoadtestBadWorkload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("queries: [{txt: hi}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := runLoadtest(t.Context(), []string{"--workload", path, "--rate", "1"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "field txt not found") {
		t.Errorf("runLoadtest with a bad workload = %v; want the parser's error", err)
	}
}
