package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/app"
	"github.com/cato-gateway/cato/internal/config"
)

func TestImportLiteLLM(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "litellm.yaml")
	text := `model_list:
  - model_name: fast
    litellm_params:
      model: bedrock/anthropic.claude-3-5-haiku-20241022-v1:0
      aws_region_name: us-east-1
  - model_name: big
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-written-in-the-file
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
`
	if err := os.WriteFile(in, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "cato.yaml")
	var stdout, stderr bytes.Buffer
	args := []string{"import", "litellm", in, "-o", out, "--report", "json", "--legacy-url", "http://127.0.0.1:4000", "--percentage", "10"}
	if code := Run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b)
	if err != nil {
		t.Fatalf("written config: %v", err)
	}
	if *cfg.Rollout.Percentage != 10 || cfg.Rollout.Legacy != "legacy" || cfg.Models["legacy"].APIKeyEnv != "LITELLM_MASTER_KEY" {
		t.Errorf("rollout = %d%% legacy %q key %q; want 10%% legacy with LITELLM_MASTER_KEY", *cfg.Rollout.Percentage, cfg.Rollout.Legacy, cfg.Models["legacy"].APIKeyEnv)
	}
	if bytes.Contains(b, []byte("sk-written")) || strings.Contains(stderr.String(), "sk-written") {
		t.Error("the literal key was copied")
	}
	var rep struct {
		Mapped   int `json:"mapped"`
		Findings []struct {
			Env string `json:"env"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(stderr.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stderr.String())
	}
	envs := ""
	for _, f := range rep.Findings {
		envs += f.Env
	}
	if rep.Mapped == 0 || envs != "BIG_API_KEY" {
		t.Errorf("report: %d mapped, secrets to move %q; want some mapped and BIG_API_KEY", rep.Mapped, envs)
	}

	// A second run does not overwrite the file without --force.
	stderr.Reset()
	if code := Run(context.Background(), args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "--force") {
		t.Errorf("second run: exit %d, stderr %q; want 1 naming --force", code, stderr.String())
	}
	for _, bad := range [][]string{
		{"import"}, {"import", "openrouter", in}, {"import", "litellm", in, "--report", "xml"},
		{"import", "litellm", in, "--percentage", "5"},
	} {
		if code := Run(context.Background(), bad, &stdout, &stderr); code != 2 {
			t.Errorf("cato %v: exit %d; want 2", bad, code)
		}
	}
}

// TestImportedConfigsStart starts a gateway from each expected cato.yaml of
// the importer's golden files, with the environment variables they name
// set: start-up checks beyond config validation (providers, router,
// rollout) must accept them too. The store is moved to a local file, as
// the Redis the LiteLLM files name is not there.
func TestImportedConfigsStart(t *testing.T) {
	files, err := filepath.Glob("../litellm/testdata/*/cato.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no imported configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f)), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Store = "embedded://" + filepath.Join(t.TempDir(), "cato")
			environ := []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "CATO_ADMIN_KEY=admin"}
			for _, m := range cfg.Models {
				if m.APIKeyEnv != "" {
					environ = append(environ, m.APIKeyEnv+"=test-key")
				}
			}
			for _, k := range cfg.Auth.Keys {
				environ = append(environ, k.KeyEnv+"=client-key")
			}
			environ = append(environ, cfg.Auth.AdminKeyEnv+"=admin")
			a, err := app.New(context.Background(), cfg, environ, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("app.New: %v", err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- a.Serve(ctx, ln) }()
			resp, err := http.Get("http://" + ln.Addr().String() + "/v1/models")
			if err == nil {
				resp.Body.Close()
			}
			cancel()
			if err := <-served; err != nil {
				t.Errorf("serve: %v", err)
			}
			if err != nil || resp.StatusCode == http.StatusInternalServerError {
				t.Errorf("GET /v1/models: %v", err)
			}
		})
	}
}
