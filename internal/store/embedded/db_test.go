package embedded

import (
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		want    Options
		wantErr string
	}{
		{url: "embedded://.cato", want: Options{Dir: ".cato"}},
		{url: "embedded:///var/lib/cato", want: Options{Dir: "/var/lib/cato"}},
		{url: "embedded://data/cato?lock_timeout=5s", want: Options{Dir: "data/cato", LockTimeout: 5 * time.Second}},
		{url: "embedded://", wantErr: "needs a path"},
		{url: "embedded://x?timeout=1s", wantErr: `unknown parameter "timeout"`},
		{url: "embedded://x?lock_timeout=soon", wantErr: "lock_timeout"},
		{url: "embedded://x?lock_timeout=1s&lock_timeout=2s", wantErr: "given 2 times"},
		{url: "embedded://user@x", wantErr: "path and parameters only"},
		{url: "redis://x", wantErr: "not embedded"},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.url)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseURL(%q) error = %v; want it to mention %q", tt.url, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tt.url, got, err, tt.want)
		}
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	openDB(t, dir)
	_, err := Open(Options{Dir: dir, LockTimeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second Open = %v; want an error saying another process has it", err)
	}
}

func TestPing(t *testing.T) {
	db, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	db.Close()
	if err := db.Ping(t.Context()); err == nil {
		t.Errorf("Ping after Close succeeded")
	}
}
