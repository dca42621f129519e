package awsenv

import (
	"context"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	for endpoint, want := range map[string]bool{
		"http://127.0.0.1:9000": true, "http://localhost:9000": true, "http://[::1]:9000": true,
		"https://bedrock-runtime.us-east-1.amazonaws.com": false, "http://10.0.0.1": false, "": false, "::": false,
	} {
		if got := isLoopback(endpoint); got != want {
			t.Errorf("isLoopback(%q) = %v; want %v", endpoint, got, want)
		}
	}
}

func TestLoopbackCredentials(t *testing.T) {
	isolate(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	cfg, err := Load(context.Background(), "", "http://127.0.0.1:9000", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := cfg.Credentials.Retrieve(context.Background()); err != nil || c.AccessKeyID != LoopbackAccessKeyID {
		t.Errorf("loopback credentials without keys = %v, %v; want %s", c.AccessKeyID, err, LoopbackAccessKeyID)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDREAL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	cfg, err = Load(context.Background(), "", "http://127.0.0.1:9000", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := cfg.Credentials.Retrieve(context.Background()); err != nil || c.AccessKeyID != "AKIDREAL" {
		t.Errorf("loopback credentials with keys = %v, %v; want the chain's AKIDREAL", c.AccessKeyID, err)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	cfg, err = Load(context.Background(), "", "https://bedrock-runtime.us-east-1.amazonaws.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := cfg.Credentials.Retrieve(context.Background()); err == nil && c.AccessKeyID == LoopbackAccessKeyID {
		t.Error("a remote endpoint got the loopback credentials")
	}
}
