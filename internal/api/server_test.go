package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/rollout"
)

// keyedServer is a Server with one client key and the admin key, a
// rollout admin and no model behind it.
func keyedServer(t *testing.T) *httptest.Server {
	t.Helper()
	auth := &Auth{}
	auth.AddKey("client-key", "team-a")
	auth.SetAdminKey("admin-key")
	dec := rollout.NewDecider(rollout.Flag{Percentage: 100}, rollout.DeciderOptions{})
	s := New(Options{
		Auth:         auth,
		Orchestrator: orchestrator.New(orchestrator.Options{Models: []string{"m"}, Caller: &newModel{asked: make(chan string, 100)}, Router: oneRoute{}}),
		Rollout:      &Rollout{Decider: dec, Admin: rollout.NewAdmin(rollout.AdminOptions{Store: &rollout.MemoryStore{}, Decider: dec})},
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, key, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// errorCode reads the code of an OpenAI error body; "" when body is none.
func errorCode(body string) string {
	var e struct {
		Error struct {
			Code *string `json:"code"`
			Type string  `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e) != nil || e.Error.Code == nil || e.Error.Type == "" {
		return ""
	}
	return *e.Error.Code
}

// TestRoutes checks the route table: who may call each path, and what
// other methods and paths get.
func TestRoutes(t *testing.T) {
	srv := keyedServer(t)
	tests := []struct {
		method, path, key string
		body              string
		want              int
		wantCode          string // the error code, for an error
	}{
		{"POST", "/v1/chat/completions", "", chatBody, 401, "missing_api_key"},
		{"POST", "/v1/chat/completions", "wrong", chatBody, 401, "invalid_api_key"},
		{"POST", "/v1/chat/completions", "client-key", chatBody, 200, ""},
		{"GET", "/v1/chat/completions", "client-key", "", 405, "method_not_allowed"},
		{"GET", "/v1/models", "client-key", "", 200, ""},
		{"POST", "/api/cato/query", "client-key", queryBody, 200, ""},
		{"POST", "/api/cato/route", "client-key", queryBody, 200, ""},
		{"GET", "/api/cato/sessions/s-1", "", "", 401, "missing_api_key"},
		{"DELETE", "/api/cato/sessions/s-1", "client-key", "", 204, ""},
		{"GET", "/api/admin/cato/health", "", "", 200, ""},
		{"HEAD", "/api/admin/cato/health", "", "", 200, ""},
		{"GET", "/metrics", "", "", 200, ""},
		{"GET", "/api/admin/cato/status", "client-key", "", 403, "not_admin"},
		{"GET", "/api/admin/cato/status", "admin-key", "", 200, ""},
		{"POST", "/api/admin/cato/cache/purge", "", `{"tenant":"team-a"}`, 401, "missing_api_key"},
		{"POST", "/api/admin/cato/cache/purge", "admin-key", `{"tenant":"team-a"}`, 200, ""},
		{"GET", "/api/admin/cato/rollout", "client-key", "", 403, "not_admin"},
		{"GET", "/api/admin/cato/rollout", "admin-key", "", 200, ""},
		{"DELETE", "/api/admin/cato/rollout", "admin-key", "", 405, "method_not_allowed"},
		{"GET", "/v2/nothing", "client-key", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.key, func(t *testing.T) {
			resp, body := do(t, tt.method, srv.URL+tt.path, tt.key, tt.body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d %s; want %d", resp.StatusCode, body, tt.want)
			}
			if tt.wantCode != "" && errorCode(body) != tt.wantCode {
				t.Errorf("body %s; want error code %s in OpenAI's error shape", body, tt.wantCode)
			}
			if tt.want == 405 && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

// A server without a rollout admin has no rollout route.
func TestRoutesWithoutRolloutAdmin(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	if resp, body := do(t, "GET", srv.URL+"/api/admin/cato/rollout", "", ""); resp.StatusCode != 404 || errorCode(body) != "not_found" {
		t.Errorf("GET rollout = %d %s; want 404 not_found", resp.StatusCode, body)
	}
}

// POST /api/admin/cato/cache/purge must name what to purge: a body that
// names nothing is the client's mistake (400), never a store failure.
func TestPurgeCacheNeedsAFilter(t *testing.T) {
	srv := keyedServer(t)
	for _, body := range []string{`{}`, ``, `{"tenant": "", "model": ""}`} {
		resp, got := do(t, "POST", srv.URL+"/api/admin/cato/cache/purge", "admin-key", body)
		if resp.StatusCode != 400 || errorCode(got) != "invalid_request" || !strings.Contains(got, `\"tenant\"`) || !strings.Contains(got, `\"model\"`) {
			t.Errorf("purge %q = %d %s; want 400 invalid_request naming tenant and model", body, resp.StatusCode, got)
		}
	}
	for _, body := range []string{`{"tenant": "team-a"}`, `{"model": "m"}`, `{"tenant": "team-a", "model": "m"}`} {
		if resp, got := do(t, "POST", srv.URL+"/api/admin/cato/cache/purge", "admin-key", body); resp.StatusCode != 200 || !strings.Contains(got, `"purged":0`) {
			t.Errorf("purge %q = %d %s; want 200 with a count", body, resp.StatusCode, got)
		}
	}
	if resp, got := do(t, "POST", srv.URL+"/api/admin/cato/cache/purge", "admin-key", `{"tenants": "team-a"}`); resp.StatusCode != 400 || errorCode(got) != "invalid_request" {
		t.Errorf("purge with a misspelt key = %d %s; want 400", resp.StatusCode, got)
	}
}
