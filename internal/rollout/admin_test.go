package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func adminServer(t *testing.T, store FlagStore, dec *Decider) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(NewAdmin(AdminOptions{Store: store, Decider: dec, Log: discard()}))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminGetPut(t *testing.T) {
	store := &MemoryStore{}
	dec := NewDecider(Flag{Percentage: 100, Source: SourceConfig}, DeciderOptions{})
	srv := adminServer(t, store, dec)

	code, body := do(t, http.MethodGet, srv.URL, "")
	var v AdminView
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil || *v.UseNewOrchestrator.Percentage != 100 || len(v.History) != 0 {
		t.Fatalf("GET on an empty store = %d %s; want 200, 100%% from the replica's start, no history", code, body)
	}

	code, body = do(t, http.MethodPut, srv.URL, `{"use_new_orchestrator": {"percentage": 10}, "actor": "alice", "reason": "phase 4 step 1", "source": "cli"}`)
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("PUT = %d %s; want 200", code, body)
	}
	if *v.UseNewOrchestrator.Percentage != 10 || v.Current.Actor != "alice" || v.Current.Source != SourceCLI || v.Current.Version != 1 || len(v.History) != 1 {
		t.Errorf("PUT answered %+v; want 10%% by alice from cli, version 1, one history entry", v)
	}
	if got := dec.Flag(); got.Percentage != 10 || got.Version != 1 {
		t.Errorf("replica's flag after PUT = %+v; want 10%% at once", got)
	}
	code, body = do(t, http.MethodPut, srv.URL, `{"use_new_orchestrator": {"percentage": 0}}`)
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil || v.Current.Source != SourceAdminAPI || v.Current.Actor != "admin@127.0.0.1" {
		t.Errorf("PUT without actor = %d %s; want admin_api by admin@127.0.0.1", code, body)
	}
	code, body = do(t, http.MethodGet, srv.URL+"?limit=1", "")
	if json.Unmarshal([]byte(body), &v) != nil || len(v.History) != 1 || v.History[0].Percentage != 0 {
		t.Errorf("GET ?limit=1 = %d %s; want the newest change only", code, body)
	}
}

func TestAdminRejects(t *testing.T) {
	dec := NewDecider(Flag{Percentage: 50}, DeciderOptions{})
	srv := adminServer(t, &MemoryStore{}, dec)
	tests := []struct {
		name, method, url, body string
		code                    int
		errCode                 string
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
			code, body := do(t, tt.method, srv.URL+tt.url, tt.body)
			var e struct {
				Error struct{ Code, Type string } `json:"error"`
			}
			if code != tt.code || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != tt.errCode || e.Error.Type == "" {
				t.Errorf("%s = %d %s; want %d with code %s in OpenAI's error shape", tt.name, code, body, tt.code, tt.errCode)
			}
		})
	}
	if got := dec.Flag().Percentage; got != 50 {
		t.Errorf("percentage after rejected changes = %v; want 50", got)
	}
}

type brokenStore struct{ MemoryStore }

func (*brokenStore) Set(context.Context, Flag) (Flag, error) { return Flag{}, errors.New("down") }
func (*brokenStore) Get(context.Context) (Flag, error)       { return Flag{}, errors.New("down") }

func TestAdminStoreDown(t *testing.T) {
	dec := NewDecider(Flag{Percentage: 50}, DeciderOptions{})
	srv := adminServer(t, &brokenStore{}, dec)
	if code, _ := do(t, http.MethodPut, srv.URL, `{"use_new_orchestrator": {"percentage": 0}}`); code != 503 {
		t.Errorf("PUT with the store down = %d; want 503", code)
	}
	if code, _ := do(t, http.MethodGet, srv.URL, ""); code != 503 {
		t.Errorf("GET with the store down = %d; want 503", code)
	}
	if got := dec.Flag().Percentage; got != 50 {
		t.Errorf("percentage = %v; want 50 (nothing changed)", got)
	}
}

func TestReportStatus(t *testing.T) {
	store := &MemoryStore{}
	ctx := t.Context()
	for _, p := range []float64{10, 50} {
		if _, err := store.Set(ctx, Flag{Percentage: p, Source: SourceCLI, Actor: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	dec := NewDecider(Flag{}, DeciderOptions{})
	poller := NewPoller(store, dec, time.Second, discard())
	poller.refresh(ctx, false)
	stats := NewStats(StatsOptions{})
	stats.Observe(Outcome{Side: SideNew, Status: 200, Latency: time.Millisecond})
	stats.Observe(Outcome{Side: SideLegacy, Status: 502})
	stats.Observe(Outcome{Side: SideLegacy, Status: 200})
	sh := NewShadow(ShadowOptions{Percentage: 5})
	defer sh.Close()
	st := Report{Decider: dec, Stats: stats, Shadow: sh, Guard: NewGuard(GuardOptions{}), Poller: poller}.Status()
	if st.Percentage != 50 || st.Traffic["new"] != 1 || st.Traffic["legacy"] != 2 || st.Sides["legacy"].ErrorRate != 0.5 {
		t.Errorf("Status = %+v; want 50%%, traffic 1/2, legacy error rate 0.5", st)
	}
	if len(st.History) != 2 || st.History[0].Percentage != 50 || st.Shadow == nil || st.Shadow.Percentage != 5 || st.AutoRollback == nil {
		t.Errorf("Status history %+v, shadow %+v, guard %+v; want two changes newest first and both sections", st.History, st.Shadow, st.AutoRollback)
	}
	b, err := json.Marshal(Report{Decider: dec}.Status())
	if err != nil || !strings.Contains(string(b), `"traffic":{"legacy":0,"new":0}`) || !strings.Contains(string(b), `"history":[]`) {
		t.Errorf("minimal Status JSON = %s, %v; want zero traffic and an empty history", b, err)
	}
}
