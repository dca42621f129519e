package awsenv

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// isolate points the SDK's credential chain at static test keys and away
// from the machine's own AWS files and instance metadata.
func isolate(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CA_BUNDLE", "")
}

func TestLoadRegion(t *testing.T) {
	tests := []struct {
		name, model, env, want string
	}{
		{"model region wins", "eu-west-3", "ap-south-1", "eu-west-3"},
		{"sdk default next", "", "ap-south-1", "ap-south-1"},
		{"us-east-1 last", "", "", DefaultRegion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("AWS_REGION", tt.env)
			cfg, err := Load(context.Background(), tt.model, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != tt.want {
				t.Errorf("Load(%q) region = %q; want %q", tt.model, cfg.Region, tt.want)
			}
		})
	}
}

func TestLoadUsesClientAndNoRetries(t *testing.T) {
	isolate(t)
	hc := &http.Client{}
	cfg, err := Load(context.Background(), "us-west-2", "", hc)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := cfg.HTTPClient.(bodyGuard); !ok || g.next != hc {
		t.Errorf("Load HTTPClient = %#v; want the given client behind bodyGuard", cfg.HTTPClient)
	}
	if got := cfg.Retryer().MaxAttempts(); got != 1 {
		t.Errorf("Load retryer max attempts = %d; want 1", got)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIDTEST" {
		t.Errorf("Load credentials = %v, %v; want AKIDTEST from the environment", creds.AccessKeyID, err)
	}
}

// A plain *http.Client must not make loading fail when a CA
// bundle is configured.
func TestLoadWithCABundleAndClient(t *testing.T) {
	isolate(t)
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(bundle, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	hc := &http.Client{}
	cfg, err := Load(context.Background(), "", "", hc)
	if err != nil {
		t.Fatalf("Load with AWS_CA_BUNDLE = %v; want no error", err)
	}
	if g, ok := cfg.HTTPClient.(bodyGuard); !ok || g.next != hc {
		t.Errorf("Load HTTPClient = %#v; want the given client behind bodyGuard", cfg.HTTPClient)
	}
}

func TestLoadWithoutClientUsesTheSDKs(t *testing.T) {
	isolate(t)
	cfg, err := Load(context.Background(), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := cfg.HTTPClient.(bodyGuard); !ok || g.next == nil {
		t.Errorf("Load(nil client) HTTPClient = %#v; want the SDK's client behind bodyGuard", cfg.HTTPClient)
	}
}
