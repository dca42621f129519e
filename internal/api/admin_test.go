package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cato-gateway/cato/internal/rollout"
)

// rolloutAdminServer serves the rollout admin API over store, in
// anonymous mode (admin endpoints open).
func rolloutAdminServer(t *testing.T, store rollout.FlagStore, dec *rollout.Decider) *httptest.Server {
	t.Helper()
	s := New(Options{Rollout: &Rollout{Decider: dec, Admin: rollout.NewAdmin(rollout.AdminOptions{Store: store, Decider: dec})}})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func TestRolloutAdminGetPut(t *testing.T) {
	store := &rollout.MemoryStore{}
	dec := rollout.NewDecider(rollout.Flag{Percentage: 100, Source: rollout.SourceConfig}, rollout.DeciderOptions{})
	url := rolloutAdminServer(t, store, dec).URL + "/api/admin/cato/rollout"

	resp, body := do(t, http.MethodGet, url, "", "")
	var v rollout.AdminView
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &v) != nil || *v.UseNewOrchestrator.Percentage != 100 || len(v.History) != 0 {
		t.Fatalf("GET on an empty store = %d %s; want 200, 100%% from the replica's start, no history", resp.StatusCode, body)
	}

	resp, body = do(t, http.MethodPut, url, "", `{"use_new_orchestrator": {"percentage": 10}, "actor": "alice", "reason": "phase 4 step 1", "source": "cli"}`)
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("PUT = %d %s; want 200", resp.StatusCode, body)
	}
	if *v.UseNewOrchestrator.Percentage != 10 || v.Current.Actor != "alice" || v.Current.Source != rollout.SourceCLI || v.Current.Version != 1 || len(v.History) != 1 {
		t.Errorf("PUT answered %+v; want 10%% by alice from cli, version 1, one history entry", v)
	}
	if got := dec.Flag(); got.Percentage != 10 || got.Version != 1 {
		t.Errorf("replica's flag after PUT = %+v; want 10%% at once", got)
	}
	resp, body = do(t, http.MethodPut, url, "", `{"use_new_orchestrator": {"percentage": 0}}`)
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &v) != nil || v.Current.Source != rollout.SourceAdminAPI || v.Current.Actor != "admin@127.0.0.1" {
		t.Errorf("PUT without actor = %d %s; want admin_api by admin@127.0.0.1", resp.StatusCode, body)
	}
	resp, body = do(t, http.MethodGet, url+"?limit=1", "", "")
	if json.Unmarshal([]byte(body), &v) != nil || len(v.History) != 1 || v.History[0].Percentage != 0 {
		t.Errorf("GET ?limit=1 = %d %s; want the newest change only", resp.StatusCode, body)
	}
}

func TestRolloutAdminRejects(t *testing.T) {
	dec := rollout.NewDecider(rollout.Flag{Percentage: 50}, rollout.DeciderOptions{})
	url := rolloutAdminServer(t, &rollout.MemoryStore{}, dec).URL + "/api/admin/cato/rollout"
	tests := []struct {
		name, method, query, body string
		code                      int
		errCode                   string
	}{
		{"above 100", http.MethodPut, "", `{"use_new_orchestrator": {"percentage": 150}}`, 400, "invalid_rollout"},
		{"negative", http.MethodPut, "", `{"use_new_orchestrator": {"percentage": -1}}`, 400, "invalid_rollout"},
		{"not a number", http.MethodPut, "", `{"use_new_orchestrator": {"percentage": "10"}}`, 400, "invalid_rollout"},
		{"wrong key", http.MethodPut, "", `{"percentage": 10}`, 400, "invalid_rollout"},
		{"claims auto_rollback", http.MethodPut, "", `{"use_new_orchestrator": {"percentage": 0}, "source": "auto_rollback"}`, 400, "invalid_rollout"},
		{"malformed", http.MethodPut, "", `{"use_new_orchestrator": `, 400, "invalid_rollout"},
		{"bad limit", http.MethodGet, "?limit=x", "", 400, "invalid_limit"},
		{"delete", http.MethodDelete, "", "", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, tt.method, url+tt.query, "", tt.body)
			if resp.StatusCode != tt.code || errorCode(body) != tt.errCode {
				t.Errorf("%s = %d %s; want %d with code %s in OpenAI's error shape", tt.name, resp.StatusCode, body, tt.code, tt.errCode)
			}
		})
	}
	if got := dec.Flag().Percentage; got != 50 {
		t.Errorf("percentage after rejected changes = %v; want 50", got)
	}
}

type brokenFlagStore struct{ rollout.MemoryStore }

func (*brokenFlagStore) Set(context.Context, rollout.Flag) (rollout.Flag, error) {
	return rollout.Flag{}, errors.New("down")
}
func (*brokenFlagStore) Get(context.Context) (rollout.Flag, error) {
	return rollout.Flag{}, errors.New("down")
}

func TestRolloutAdminStoreDown(t *testing.T) {
	dec := rollout.NewDecider(rollout.Flag{Percentage: 50}, rollout.DeciderOptions{})
	url := rolloutAdminServer(t, &brokenFlagStore{}, dec).URL + "/api/admin/cato/rollout"
	if resp, body := do(t, http.MethodPut, url, "", `{"use_new_orchestrator": {"percentage": 0}}`); resp.StatusCode != 503 || errorCode(body) != "store_unavailable" {
		t.Errorf("PUT with the store down = %d %s; want 503 store_unavailable", resp.StatusCode, body)
	}
	if resp, body := do(t, http.MethodGet, url, "", ""); resp.StatusCode != 503 || errorCode(body) != "store_unavailable" {
		t.Errorf("GET with the store down = %d %s; want 503 store_unavailable", resp.StatusCode, body)
	}
	if got := dec.Flag().Percentage; got != 50 {
		t.Errorf("percentage = %v; want 50 (nothing changed)", got)
	}
}
