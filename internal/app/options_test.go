package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/config"
)

func TestNewEmbedder(t *testing.T) {
	env := map[string]string{"EMBED_KEY": "sk-test"}
	tests := []struct {
		name    string
		cfg     config.Embeddings
		want    string // %T of the result
		wantErr bool
	}{
		{"default is the sentence encoder", config.Embeddings{}, "*embed.Cached", false},
		{"use", config.Embeddings{Provider: "use"}, "*embed.Cached", false},
		{"glove", config.Embeddings{Provider: "glove"}, "*embed.Local", false},
		{"local", config.Embeddings{Provider: "local"}, "*embed.Local", false},
		{"openai", config.Embeddings{Provider: "openai", BaseURL: "http://127.0.0.1:1/v1", Model: "m", APIKeyEnv: "EMBED_KEY"}, "*embed.Cached", false},
		{"openai without model", config.Embeddings{Provider: "openai", BaseURL: "http://127.0.0.1:1/v1"}, "", true},
		{"bedrock", config.Embeddings{Provider: "bedrock", Region: "eu-west-1", Endpoint: "http://127.0.0.1:1"}, "*embed.Cached", false},
		{"unknown", config.Embeddings{Provider: "word2vec"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := newEmbedder(context.Background(), tt.cfg, nil, env)
			if (err != nil) != tt.wantErr {
				t.Fatalf("newEmbedder error = %v; want error %v", err, tt.wantErr)
			}
			if err == nil {
				if got := fmt.Sprintf("%T", e); got != tt.want {
					t.Errorf("newEmbedder gave %s; want %s", got, tt.want)
				}
			}
		})
	}
}

// TestZeroValuesReachThePackages checks that the mapping passes zero
// values on as zero, so that each package's own default applies.
func TestZeroValuesReachThePackages(t *testing.T) {
	c, err := config.Parse([]byte("models: {a: {provider: simulated}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o := cacheOptions(c.Cache); o.Disabled || o.Threshold != 0 || o.TTL != 0 || o.MaxEntries != 0 || o.MaxEntryBytes != 0 || o.MaxBytes != 0 {
		t.Errorf("cacheOptions = %+v; want an enabled cache with zero tuning", o)
	}
	if r := routerConfig(c.Routing); r.Simple != "a" || r.Complex != "" || r.HiddenStates != "" || r.ComplexityThreshold != 0 {
		t.Errorf("routerConfig = %+v; want simple a and nothing else", r)
	}
	if s := simulatorOptions(c.Models["a"].Simulate); s.ErrorStatus != 0 || s.HiddenDim != 0 {
		t.Errorf("simulatorOptions = %+v; want zero error status and hidden size", s)
	}
	off := false
	if o := cacheOptions(config.Cache{Enabled: &off, Threshold: 0.9}); !o.Disabled || o.Threshold != 0.9 {
		t.Errorf("cacheOptions(enabled: false, threshold: 0.9) = %+v", o)
	}
	if o := cacheOptions(config.Cache{MaxEntryBytes: 4096, MaxBytes: 1 << 20}); o.MaxEntryBytes != 4096 || o.MaxBytes != 1<<20 {
		t.Errorf("cacheOptions(max_entry_bytes: 4096, max_bytes: 1048576) = %+v", o)
	}
}

// TestTwoModelFileServes loads a file that names two models of its own
// and nothing else, starts the gateway on it and serves chat requests: no
// model name of the built-in default is needed anywhere.
func TestTwoModelFileServes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cato.yaml")
	if err := os.WriteFile(path, []byte(`
models:
  a: {provider: simulated}
  b: {provider: simulated}
routing: {simple: a, complex: b}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, []string{"CATO_STORE=embedded://" + t.TempDir()})
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	a, err := New(context.Background(), cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	base, _ := startServing(t, a)

	tests := []struct {
		name, body, model string
	}{
		{"simple", `{"model": "auto", "messages": [{"role": "user", "content": "What is 2+2?"}]}`, "a"},
		{"complex", `{"model": "auto", "messages": [{"role": "user", "content": "Explain the implications of quantum computing on cryptography"}]}`, "b"},
		{"hidden states follow the rules", `{"model": "auto", "return_hidden_states": true, "messages": [{"role": "user", "content": "What is 2+2?"}]}`, "a"},
		{"named model", `{"model": "b", "messages": [{"role": "user", "content": "Hello"}]}`, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := post(t, base+"/v1/chat/completions", tt.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			got := decode[struct {
				Model   string `json:"model"`
				Choices []struct {
					Message struct{ Content string } `json:"message"`
				} `json:"choices"`
			}](t, b)
			if got.Model != tt.model || len(got.Choices) != 1 || !strings.Contains(got.Choices[0].Message.Content, "simulated answer from "+tt.model) {
				t.Errorf("answer %s; want one choice from model %s", b, tt.model)
			}
		})
	}
	if models := get(t, base+"/v1/models"); strings.Contains(models, "bedrock_") || strings.Contains(models, "shadow_self") {
		t.Errorf("/v1/models = %s; want only the file's models", models)
	}
}
