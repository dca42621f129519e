package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/testenv"
)

// replica starts one gateway on store (a store URL) and returns its URL and
// a function that stops it, as a restart or a replica going away would.
func replica(t *testing.T, store string) (string, func()) {
	t.Helper()
	return serve(t, simConfig, store, "TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin")
}

func askIn(t *testing.T, base, session, query string) queryAnswer {
	t.Helper()
	resp, b := post(t, base+"/api/cato/query", fmt.Sprintf(`{"query": %q, "session_id": %q}`, query, session), "Authorization", "Bearer key-a")
	if resp.StatusCode != 200 {
		t.Fatalf("%s: status %d: %s", query, resp.StatusCode, b)
	}
	return decode[queryAnswer](t, b)
}

// TestRunbookSessions is the runbook's week-6 check: the second turn
// remembers the first, within one gateway, across a restart on the
// embedded store, and across two replicas sharing one Redis. The simulated
// model answers from the messages it receives, so a right answer proves
// the first turn reached the model.
func TestRunbookSessions(t *testing.T) {
	check := func(t *testing.T, first, second string) {
		session := "s-" + strings.ReplaceAll(t.Name(), "/", "-")
		askIn(t, first, session, "My name is Alice")
		a := askIn(t, second, session, "What is my name?")
		if !strings.Contains(a.Response, "Alice") {
			t.Errorf("second turn answered %q; want it to remember Alice", a.Response)
		}
		other := askIn(t, second, session+"-other", "What is my name?")
		if strings.Contains(other.Response, "Alice") {
			t.Errorf("another session knew the name: %q", other.Response)
		}
	}
	t.Run("one gateway", func(t *testing.T) {
		base, _ := replica(t, "embedded://"+t.TempDir())
		check(t, base, base)
	})
	t.Run("restart on the embedded store", func(t *testing.T) {
		dir := t.TempDir()
		before, stop := replica(t, "embedded://"+dir)
		askIn(t, before, "restart", "My name is Alice")
		stop()
		after, _ := replica(t, "embedded://"+dir)
		if a := askIn(t, after, "restart", "What is my name?"); !strings.Contains(a.Response, "Alice") {
			t.Errorf("after a restart the session answered %q; want Alice", a.Response)
		}
	})
	t.Run("two replicas sharing Redis", func(t *testing.T) {
		url := testenv.RedisURL(t)
		a, _ := replica(t, url)
		b, _ := replica(t, url)
		check(t, a, b)
	})
}

func TestSessionsAPI(t *testing.T) {
	base, _ := replica(t, "embedded://"+t.TempDir())
	askIn(t, base, "api-1", "My name is Alice")
	get := func(id string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/cato/sessions/"+id, nil)
		req.Header.Set("Authorization", "Bearer key-a")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, string(readAll(t, resp))
	}
	code, body := get("api-1")
	if code != 200 || !strings.Contains(body, `"role":"user","content":"My name is Alice"`) || !strings.Contains(body, `"role":"assistant"`) {
		t.Fatalf("GET session = %d %s; want both turns", code, body)
	}
	req, _ := http.NewRequest(http.MethodDelete, base+"/api/cato/sessions/api-1", nil)
	req.Header.Set("Authorization", "Bearer key-a")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE = %d; want 204", resp.StatusCode)
	}
	if code, body := get("api-1"); code != 404 || !strings.Contains(body, "session_not_found") {
		t.Errorf("GET after DELETE = %d %s; want 404 session_not_found", code, body)
	}
	if a := askIn(t, base, "api-1", "What is my name?"); strings.Contains(a.Response, "Alice") {
		t.Errorf("a deleted session still remembered: %q", a.Response)
	}
}

// TestFailedStartReleasesStore: a New that fails after opening the
// embedded store closes it, so that a corrected start can open the file.
func TestFailedStartReleasesStore(t *testing.T) {
	store := "embedded://" + t.TempDir()
	cfg, err := config.Parse([]byte(simConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = store
	// The model fails to build after the store is open.
	cfg.Models["broken"] = config.Model{Provider: config.ProviderOpenAI, BaseURL: "http://127.0.0.1:1/v1", APIKeyEnv: "TEST_UNSET_KEY"}
	if _, err := New(context.Background(), cfg, []string{"TEST_KEY_A=key-a"}, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("New with an unset api_key_env succeeded; want an error")
	}
	base, _ := replica(t, store)
	if a := askIn(t, base, "after-failed-start", "What is Python?"); a.Response == "" {
		t.Error("the gateway started after a failed one gave an empty answer")
	}
}
