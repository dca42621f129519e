package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/api"
	"github.com/cato-gateway/cato/internal/rollout"
)

// replica is one gateway's rollout machinery behind its admin endpoint,
// as app wires it: api serves the rollout admin, here behind a stand-in
// for the admin key check.
type replica struct {
	dec *rollout.Decider
	srv *httptest.Server
}

func newReplica(t *testing.T, store rollout.FlagStore, adminKey string) *replica {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	f, err := rollout.Seed(t.Context(), store, 100, "test")
	if err != nil {
		t.Fatal(err)
	}
	dec := rollout.NewDecider(f, rollout.DeciderOptions{})
	admin := rollout.NewAdmin(rollout.AdminOptions{Store: store, Decider: dec, Log: log})
	gw := api.New(api.Options{Log: log, Rollout: &api.Rollout{Decider: dec, Admin: admin}})
	mux := http.NewServeMux()
	mux.Handle(rolloutPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+adminKey {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"the admin API needs the admin key","type":"authentication_error"}}`)
			return
		}
		gw.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rollout.NewPoller(store, dec, time.Second, log).Run(ctx) }()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
	})
	return &replica{dec: dec, srv: srv}
}

func rolloutCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runRollout(t.Context(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestRolloutSetStatusRollback(t *testing.T) {
	store := &rollout.MemoryStore{}
	r := newReplica(t, store, "adm")
	base := []string{"--url", r.srv.URL, "--admin-key", "adm", "--actor", "alice"}

	out, _, err := rolloutCmd(t, append([]string{"set", "10", "--reason", "phase 4 step 1"}, base...)...)
	if err != nil {
		t.Fatalf("set 10: %v", err)
	}
	if !strings.Contains(out, "new orchestrator: 10% of users") || !strings.Contains(out, "by alice (cli): phase 4 step 1") {
		t.Errorf("set 10 printed:\n%s", out)
	}
	if got := r.dec.Flag(); got.Percentage != 10 || got.Source != rollout.SourceCLI || got.Actor != "alice" || got.Reason != "phase 4 step 1" {
		t.Errorf("replica flag after set = %+v; want 10%% by alice from cli with the reason", got)
	}
	if _, _, err := rolloutCmd(t, append(base, "set", "50%")...); err != nil {
		t.Fatalf("set 50%%: %v", err)
	}
	out, _, err = rolloutCmd(t, append(base, "status")...)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	t.Logf("cato rollout status:\n%s", out)
	for _, want := range []string{"new orchestrator: 50% of users", "history, newest first:", "50%", "10%", "100%", "config", "phase 4 step 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "  50%") > strings.Index(out, "  10%") && strings.Contains(out, "  10%") {
		t.Errorf("history not newest first:\n%s", out)
	}
	if _, _, err := rolloutCmd(t, append(base, "rollback")...); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := r.dec.Flag(); got.Percentage != 0 || got.Reason != "rollback" {
		t.Errorf("after rollback flag = %+v; want 0%% with reason rollback", got)
	}
	out, _, err = rolloutCmd(t, append(base, "status", "--json")...)
	var v struct {
		UseNewOrchestrator struct{ Percentage *float64 } `json:"use_new_orchestrator"`
		History            []json.RawMessage
	}
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || v.UseNewOrchestrator.Percentage == nil || *v.UseNewOrchestrator.Percentage != 0 || len(v.History) != 4 {
		t.Errorf("status --json = %s, %v; want the document at 0 with 4 changes", out, err)
	}
}

func TestRolloutErrors(t *testing.T) {
	r := newReplica(t, &rollout.MemoryStore{}, "adm")
	tests := []struct {
		name  string
		args  []string
		usage bool
		msg   string
	}{
		{"no subcommand", []string{"--url", r.srv.URL}, true, "name a subcommand"},
		{"unknown", []string{"promote"}, true, "unknown subcommand"},
		{"set without N", []string{"set"}, true, "set needs the percentage"},
		{"set 101", []string{"set", "101"}, true, "between 0 and 100"},
		{"set abc", []string{"set", "abc"}, true, "between 0 and 100"},
		{"bad flag", []string{"status", "--nope"}, true, "not defined"},
		{"no key", []string{"status", "--url", r.srv.URL, "--admin-key", ""}, false, "answered 401: the admin API needs the admin key (set --admin-key or CATO_ADMIN_KEY)"},
		{"wrong key", []string{"set", "5", "--url", r.srv.URL, "--admin-key", "x"}, false, "answered 401"},
		{"gateway down", []string{"status", "--url", "http://127.0.0.1:1"}, false, "reaching the gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := rolloutCmd(t, tt.args...)
			if err == nil {
				t.Fatalf("cato rollout %v succeeded; want an error", tt.args)
			}
			if got := errors.As(err, new(usageError)); got != tt.usage || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("cato rollout %v = %v (usage %v); want %q (usage %v)", tt.args, err, got, tt.msg, tt.usage)
			}
		})
	}
	if got := r.dec.Flag().Percentage; got != 100 {
		t.Errorf("percentage after failed commands = %v; want 100", got)
	}
}

// `cato rollout rollback` against one of two replicas that share a store
// takes both to 0 within 2 seconds.
func TestRolloutRollbackReachesOtherReplica(t *testing.T) {
	store := &rollout.MemoryStore{}
	a := newReplica(t, store, "adm")
	b := newReplica(t, store, "adm")
	if _, _, err := rolloutCmd(t, "set", "50", "--url", a.srv.URL, "--admin-key", "adm"); err != nil {
		t.Fatal(err)
	}
	waitPercentage(t, b.dec, 50)

	start := time.Now()
	if _, _, err := rolloutCmd(t, "rollback", "--url", a.srv.URL, "--admin-key", "adm"); err != nil {
		t.Fatal(err)
	}
	took := waitPercentage(t, b.dec, 0)
	t.Logf("rollback through replica A reached replica B %v after the command started (%v after it returned)", time.Since(start), took)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("replica B reached 0%% %v after the rollback; want within 2s", d)
	}
}

// waitPercentage waits (up to 5s) until dec applies p and returns how long
// it took.
func waitPercentage(t *testing.T, dec *rollout.Decider, p float64) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for dec.Flag().Percentage != p {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("replica still at %v%% 5s later; want %v%%", dec.Flag().Percentage, p)
		}
	}
	return time.Since(start)
}
