package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/testenv"
)

// pricedUpstream is an OpenAI-compatible upstream whose every answer uses
// 100 prompt and 100 answer tokens; at the prices of keysConfig that is
// 0.2 USD an answer. It counts the calls per upstream model id, and holds
// each answer for delay.
type pricedUpstream struct {
	delay time.Duration
	mu    sync.Mutex // guards calls
	calls map[string]int
}

func (u *pricedUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string `json:"model"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	u.mu.Lock()
	if u.calls == nil {
		u.calls = map[string]int{}
	}
	u.calls[req.Model]++
	u.mu.Unlock()
	time.Sleep(u.delay)
	writeJSON(w, http.StatusOK, map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": req.Model,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": "ok"}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 100, "completion_tokens": 100, "total_tokens": 200},
	})
}

// answerUSD is what one answer of pricedUpstream costs.
const answerUSD = 0.2

// keysConfig has two priced models on upstream and two client keys: team-a
// without limits, team-b kept to the cheap model.
func keysConfig(upstream string) string {
	return fmt.Sprintf(`
listen: 127.0.0.1:0
models:
  cheap: {provider: openai, base_url: %[1]q, model_id: up-cheap, price: {input_per_mtok: 1000, output_per_mtok: 1000}}
  dear: {provider: openai, base_url: %[1]q, model_id: up-dear, price: {input_per_mtok: 1000, output_per_mtok: 1000}}
routing:
  simple: dear
  complex: dear
  fallbacks: {dear: [cheap]}
retries: {max_attempts: 1}
auth:
  admin_key_env: TEST_ADMIN_KEY
  keys:
    - {key_env: TEST_KEY_A, tenant: team-a}
    - {key_env: TEST_KEY_B, tenant: team-b, models: [cheap]}
`, upstream+"/v1")
}

var keysEnv = []string{"TEST_ADMIN_KEY=admin", "TEST_KEY_A=key-a", "TEST_KEY_B=key-b"}

// call sends method to url with the bearer key (none when empty) and body
// (none when empty), and returns the status, headers and body.
func call(t *testing.T, method, url, key, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// openAIError is OpenAI's error shape.
type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Code    string  `json:"code"`
		Param   *string `json:"param"`
	} `json:"error"`
}

// bodyCode is the code of the OpenAI error document b.
func bodyCode(t *testing.T, b []byte) string {
	t.Helper()
	return decode[openAIError](t, b).Error.Code
}

type createdKeyJSON struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

func createKey(t *testing.T, base, doc string) createdKeyJSON {
	t.Helper()
	status, _, b := call(t, http.MethodPost, base+"/api/admin/cato/keys", "admin", doc)
	if status != http.StatusCreated {
		t.Fatalf("creating key %s: status %d: %s", doc, status, b)
	}
	k := decode[createdKeyJSON](t, b)
	if !strings.HasPrefix(k.Key, "cato-") || len(k.Key) < 40 || k.ID == "" {
		t.Fatalf("created key %+v; want an id and a cato-… secret", k)
	}
	return k
}

type listedKeyJSON struct {
	ID       string  `json:"id"`
	Tenant   string  `json:"tenant"`
	Source   string  `json:"source"`
	SpentUSD float64 `json:"spent_usd"`
	Revoked  *string `json:"revoked"`
}

func listKeys(t *testing.T, base, query string) ([]listedKeyJSON, []byte) {
	t.Helper()
	status, _, b := call(t, http.MethodGet, base+"/api/admin/cato/keys"+query, "admin", "")
	if status != http.StatusOK {
		t.Fatalf("listing keys: status %d: %s", status, b)
	}
	return decode[struct {
		Keys []listedKeyJSON `json:"keys"`
	}](t, b).Keys, b
}

// chat asks for a chat completion of model with key; each call's prompt
// is new, so that the semantic cache never answers it.
func chat(t *testing.T, base, key, model string) (int, http.Header, []byte) {
	t.Helper()
	body := fmt.Sprintf(`{"model": %q, "messages": [{"role": "user", "content": "question %d"}]}`, model, time.Now().UnixNano())
	return call(t, http.MethodPost, base+"/v1/chat/completions", key, body)
}

// TestKeysAPIIsAdminOnly: no client key reaches the keys API, whoever its
// tenant, so that no tenant sees another's keys; the admin does.
func TestKeysAPIIsAdminOnly(t *testing.T) {
	up := httptest.NewServer(&pricedUpstream{})
	t.Cleanup(up.Close)
	base := gateway(t, keysConfig(up.URL), keysEnv...)
	created := createKey(t, base, `{"tenant": "team-c", "models": ["cheap"], "rpm": 600}`)
	routes := []struct{ method, path, body string }{
		{http.MethodGet, "/api/admin/cato/keys", ""},
		{http.MethodGet, "/api/admin/cato/keys?tenant=team-a", ""},
		{http.MethodPost, "/api/admin/cato/keys", `{"tenant": "team-a"}`},
		{http.MethodDelete, "/api/admin/cato/keys/" + created.ID, ""},
	}
	callers := []struct {
		name, key string
		status    int
		code      string
	}{
		{"no key", "", http.StatusUnauthorized, "missing_api_key"},
		{"unknown key", "cato-0000", http.StatusForbidden, "not_admin"},
		{"team-a", "key-a", http.StatusForbidden, "not_admin"},
		{"team-b", "key-b", http.StatusForbidden, "not_admin"},
		{"team-c created", created.Key, http.StatusForbidden, "not_admin"},
	}
	for _, c := range callers {
		for _, rt := range routes {
			t.Run(c.name+" "+rt.method+" "+rt.path, func(t *testing.T) {
				status, _, b := call(t, rt.method, base+rt.path, c.key, rt.body)
				if status != c.status || bodyCode(t, b) != c.code {
					t.Errorf("status %d %s; want %d %s", status, b, c.status, c.code)
				}
				if strings.Contains(string(b), "team-") {
					t.Errorf("the refusal names a tenant: %s", b)
				}
			})
		}
	}
	// The key is still there and valid: no refused DELETE went through.
	if status, _, b := chat(t, base, created.Key, "cheap"); status != http.StatusOK {
		t.Fatalf("created key after the refused calls: %d %s", status, b)
	}
	// The admin's list: every key, no secret, no hash; filtered by tenant.
	all, raw := listKeys(t, base, "")
	if len(all) != 3 {
		t.Errorf("listed %d keys; want 3 (two from config, one created): %s", len(all), raw)
	}
	for _, secret := range []string{created.Key, "key-a", "key-b", "hash"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the list holds %q: %s", secret, raw)
		}
	}
	onlyA, raw := listKeys(t, base, "?tenant=team-a")
	if len(onlyA) != 1 || onlyA[0].Tenant != "team-a" || onlyA[0].Source != "config" {
		t.Errorf("list of team-a: %s; want team-a's config key alone", raw)
	}
}

// TestKeyLimits goes through each limit on the HTTP API: the admin
// document, the model list (named and auto), requests per minute,
// revocation and the budget.
func TestKeyLimits(t *testing.T) {
	up := &pricedUpstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	base := gateway(t, keysConfig(srv.URL), keysEnv...)

	for _, doc := range []string{`{"tenant": "t", "rpn": 5}`, `{"tenant": "t"} {}`, `{"tenant": ""}`, `{"tenant": "t", "rpm": -1}`, `{"tenant": "t", "budget_period": "week"}`, `[]`} {
		status, _, b := call(t, http.MethodPost, base+"/api/admin/cato/keys", "admin", doc)
		if status != http.StatusBadRequest || bodyCode(t, b) != "invalid_key_document" {
			t.Errorf("POST %s: %d %s; want 400 invalid_key_document", doc, status, b)
		}
	}

	t.Run("models", func(t *testing.T) {
		// team-b may use cheap only: dear named is refused; auto, whose
		// router picks dear, is answered by dear's fallback, cheap.
		if status, _, b := chat(t, base, "key-b", "dear"); status != http.StatusForbidden || bodyCode(t, b) != "model_not_allowed" {
			t.Errorf("dear: %d %s; want 403 model_not_allowed", status, b)
		}
		status, h, b := chat(t, base, "key-b", "auto")
		if status != http.StatusOK || h.Get("X-Cato-Model") != "cheap" {
			t.Errorf("auto: %d (model %q) %s; want 200 from cheap", status, h.Get("X-Cato-Model"), b)
		}
		q := fmt.Sprintf(`{"query": "question %d", "model": "dear"}`, time.Now().UnixNano())
		if status, _, b := call(t, http.MethodPost, base+"/api/cato/query", "key-b", q); status != http.StatusForbidden || bodyCode(t, b) != "model_not_allowed" {
			t.Errorf("/api/cato/query dear: %d %s; want 403", status, b)
		}
		r := fmt.Sprintf(`{"model": "dear", "input": "question %d"}`, time.Now().UnixNano())
		if status, _, b := call(t, http.MethodPost, base+"/v1/responses", "key-b", r); status != http.StatusForbidden || bodyCode(t, b) != "model_not_allowed" {
			t.Errorf("/v1/responses dear: %d %s; want 403", status, b)
		}
		// /v1/models lists auto and the models the key may use.
		for key, want := range map[string]string{"key-b": "auto cheap", "key-a": "auto cheap dear"} {
			status, _, b := call(t, http.MethodGet, base+"/v1/models", key, "")
			var list struct{ Data []struct{ ID string } }
			if err := json.Unmarshal(b, &list); status != http.StatusOK || err != nil {
				t.Fatalf("/v1/models with %s: %d %s", key, status, b)
			}
			var ids []string
			for _, m := range list.Data {
				ids = append(ids, m.ID)
			}
			if got := strings.Join(ids, " "); got != want {
				t.Errorf("/v1/models with %s = %q; want %q", key, got, want)
			}
		}
		up.mu.Lock()
		defer up.mu.Unlock()
		if n := up.calls["up-dear"]; n != 0 {
			t.Errorf("dear was called %d times for team-b", n)
		}
		// A key whose list holds no model of the router's chain.
		only := createKey(t, base, `{"tenant": "team-d", "models": ["nothing-routed"]}`)
		if status, _, b := chat(t, base, only.Key, "auto"); status != http.StatusForbidden || bodyCode(t, b) != "model_not_allowed" {
			t.Errorf("auto with no allowed model in the chain: %d %s; want 403", status, b)
		}
	})

	t.Run("rpm", func(t *testing.T) {
		inOneMinute(t, 10*time.Second, func() func() {
			k := createKey(t, base, `{"tenant": "team-c", "rpm": 2}`)
			for i := range 2 {
				if status, _, b := chat(t, base, k.Key, "cheap"); status != http.StatusOK {
					t.Fatalf("request %d: %d %s", i+1, status, b)
				}
			}
			status, h, b := chat(t, base, k.Key, "cheap")
			return func() {
				if status != http.StatusTooManyRequests || bodyCode(t, b) != "rate_limit_exceeded" {
					t.Fatalf("third request in a minute: %d %s; want 429 rate_limit_exceeded", status, b)
				}
				if ra := h.Get("Retry-After"); ra == "" || ra == "0" || len(ra) > 2 {
					t.Errorf("Retry-After %q; want the seconds left in the minute", ra)
				}
			}
		})
	})

	t.Run("revoke", func(t *testing.T) {
		k := createKey(t, base, `{"tenant": "team-c"}`)
		if status, _, b := chat(t, base, k.Key, "cheap"); status != http.StatusOK {
			t.Fatalf("before revocation: %d %s", status, b)
		}
		if status, _, b := call(t, http.MethodDelete, base+"/api/admin/cato/keys/"+k.ID, "admin", ""); status != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s; want 204", status, b)
		}
		if status, _, b := chat(t, base, k.Key, "cheap"); status != http.StatusUnauthorized || bodyCode(t, b) != "invalid_api_key" {
			t.Errorf("after revocation: %d %s; want 401 invalid_api_key", status, b)
		}
		if status, _, _ := call(t, http.MethodDelete, base+"/api/admin/cato/keys/key_0123456789abcdef", "admin", ""); status != http.StatusNotFound {
			t.Errorf("DELETE of an unknown key: %d; want 404", status)
		}
		list, _ := listKeys(t, base, "?tenant=team-a")
		if status, _, b := call(t, http.MethodDelete, base+"/api/admin/cato/keys/"+list[0].ID, "admin", ""); status != http.StatusConflict || bodyCode(t, b) != "key_from_config" {
			t.Errorf("DELETE of a key from config: %d %s; want 409 key_from_config", status, b)
		}
	})

	t.Run("budget", func(t *testing.T) {
		k := createKey(t, base, `{"tenant": "team-e", "budget_usd": 0.5, "budget_period": "day"}`)
		// 0.2 USD an answer: the third is admitted at 0.4 spent, the
		// fourth refused at 0.6.
		for i := range 3 {
			if status, _, b := chat(t, base, k.Key, "cheap"); status != http.StatusOK {
				t.Fatalf("request %d: %d %s", i+1, status, b)
			}
		}
		status, h, b := chat(t, base, k.Key, "cheap")
		if status != http.StatusPaymentRequired || bodyCode(t, b) != "budget_exceeded" || decode[openAIError](t, b).Error.Type != "insufficient_quota" {
			t.Fatalf("over budget: %d %s; want 402 budget_exceeded", status, b)
		}
		if h.Get("Retry-After") != "" {
			t.Errorf("a 402 carries Retry-After %q", h.Get("Retry-After"))
		}
		list, raw := listKeys(t, base, "?tenant=team-e")
		if len(list) != 1 || list[0].SpentUSD < 0.6-1e-9 || list[0].SpentUSD > 0.6+1e-9 {
			t.Errorf("listed %s; want team-e's key with 0.6 spent", raw)
		}
	})
}

// waitForMinute waits, when fewer than need are left in the current
// calendar minute, for the next one: tests of requests per minute must
// not straddle two.
func waitForMinute(t *testing.T, need time.Duration) {
	t.Helper()
	now := time.Now()
	if left := now.Truncate(time.Minute).Add(time.Minute).Sub(now); left < need {
		time.Sleep(left + 50*time.Millisecond)
	}
}

// inOneMinute runs requests, which sends requests with a new key of its
// own and returns the checks of their answers, starting with at least
// need left in the calendar minute, and runs the checks once a run has
// stayed within one minute: a busy machine can slow a run past need, and
// a run that straddles two minutes is counted in two windows. It tries
// at most three times.
func inOneMinute(t *testing.T, need time.Duration, requests func() (check func())) {
	t.Helper()
	for try := 1; ; try++ {
		waitForMinute(t, need)
		minute := time.Now().Truncate(time.Minute)
		check := requests()
		if time.Now().Truncate(time.Minute).Equal(minute) {
			check()
			return
		}
		if try == 3 {
			t.Fatal("three runs of the requests each straddled two calendar minutes")
		}
		t.Logf("run %d straddled two calendar minutes; again with a new key", try)
	}
}

// redisReplicas starts two gateways over one Redis, under a key prefix of
// their own.
func redisReplicas(t *testing.T, cfg string) (a, b string) {
	t.Helper()
	u, err := url.Parse(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("prefix", fmt.Sprintf("keys-test-%d:", time.Now().UnixNano()))
	u.RawQuery = q.Encode()
	a, _ = serve(t, cfg, u.String(), keysEnv...)
	b, _ = serve(t, cfg, u.String(), keysEnv...)
	return a, b
}

// dynamoReplicas starts two gateways over one DynamoDB table of their
// own. dynalite, a Node.js emulator sharing the test machine's cores,
// can take longer than the default key store timeout under load; past it
// limits fail open by design, so the gateways wait longer.
func dynamoReplicas(t *testing.T, cfg string) (a, b string) {
	t.Helper()
	if !strings.Contains(cfg, "\nauth:\n") {
		t.Fatal("the keys config has no auth section to set store_timeout in")
	}
	cfg = strings.Replace(cfg, "\nauth:\n", "\nauth:\n  store_timeout: 10s\n", 1)
	u := dynamoTable(t)
	a, _ = serve(t, cfg, u, keysEnv...)
	b, _ = serve(t, cfg, u, keysEnv...)
	return a, b
}

// TestKeyLimitsAcrossReplicas: parallel clients on two gateways sharing
// Redis, or a DynamoDB table, never get more than rpm requests through in
// a minute, overspend a budget by no more than the requests in flight
// when it ran out, and a revocation on one replica is refused by the
// other within 2s.
func TestKeyLimitsAcrossReplicas(t *testing.T) {
	for name, replicas := range map[string]func(*testing.T, string) (string, string){
		"redis":    redisReplicas,
		"dynamodb": dynamoReplicas,
	} {
		t.Run(name, func(t *testing.T) { testKeyLimitsAcrossReplicas(t, replicas) })
	}
}

func testKeyLimitsAcrossReplicas(t *testing.T, replicas func(*testing.T, string) (string, string)) {
	up := &pricedUpstream{delay: 20 * time.Millisecond}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	a, b := replicas(t, keysConfig(srv.URL))
	const clients, each = 8, 6 // clients/2 on each replica

	// burst sends clients×each chat requests with key, half through each
	// replica, and counts the answers by status.
	burst := func(t *testing.T, key string) map[int]int {
		var mu sync.Mutex
		counts := map[int]int{}
		var wg sync.WaitGroup
		for i := range clients {
			base := a
			if i%2 == 1 {
				base = b
			}
			wg.Go(func() {
				for range each {
					status, _, body := chat(t, base, key, "cheap")
					if status != http.StatusOK && status != http.StatusTooManyRequests && status != http.StatusPaymentRequired {
						t.Errorf("status %d: %s", status, body)
					}
					mu.Lock()
					counts[status]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return counts
	}

	t.Run("rpm", func(t *testing.T) {
		const rpm = 17
		inOneMinute(t, 20*time.Second, func() func() {
			k := createKey(t, a, fmt.Sprintf(`{"tenant": "team-r", "rpm": %d}`, rpm))
			counts := burst(t, k.Key)
			return func() {
				if counts[200] != rpm || counts[429] != clients*each-rpm {
					t.Errorf("answers by status %v; want exactly %d × 200 and the rest 429", counts, rpm)
				}
			}
		})
	})

	t.Run("budget", func(t *testing.T) {
		const budget = 1.0
		k := createKey(t, b, fmt.Sprintf(`{"tenant": "team-s", "budget_usd": %v}`, budget))
		counts := burst(t, k.Key)
		list, raw := listKeys(t, a, "?tenant=team-s")
		if len(list) != 1 {
			t.Fatalf("list: %s", raw)
		}
		spent := list[0].SpentUSD
		// Each request is admitted while the spend is under the budget,
		// and its cost is known once it is answered: the overspend is at
		// most the cost of the requests in flight, one per client.
		if spent < budget || spent > budget+clients*answerUSD {
			t.Errorf("spent %.2f USD of %.2f; want at least the budget and under budget + %d in flight × %.2f", spent, budget, clients, answerUSD)
		}
		if got := float64(counts[200]) * answerUSD; got < spent-1e-9 || got > spent+1e-9 {
			t.Errorf("%d answers cost %.2f USD; the key lists %.2f spent", counts[200], got, spent)
		}
		if counts[402] == 0 || counts[200]+counts[402] != clients*each {
			t.Errorf("answers by status %v; want 200s then 402s", counts)
		}
		t.Logf("budget %.2f USD: %d answered, %.2f USD spent, %d refused", budget, counts[200], spent, counts[402])
	})

	t.Run("revocation", func(t *testing.T) {
		k := createKey(t, a, `{"tenant": "team-t"}`)
		if status, _, body := chat(t, b, k.Key, "cheap"); status != http.StatusOK {
			t.Fatalf("on replica b before revocation: %d %s", status, body)
		}
		if status, _, body := call(t, http.MethodDelete, a+"/api/admin/cato/keys/"+k.ID, "admin", ""); status != http.StatusNoContent {
			t.Fatalf("DELETE on replica a: %d %s", status, body)
		}
		revoked := time.Now()
		var took atomic.Int64
		// Only a request begun past 2s and still accepted refutes the
		// bound: one that a busy machine slowed down past it does not.
		for {
			asked := time.Now()
			status, _, _ := chat(t, b, k.Key, "cheap")
			if status == http.StatusUnauthorized {
				took.Store(int64(time.Since(revoked)))
				break
			}
			if asked.Sub(revoked) > 2*time.Second {
				t.Fatalf("replica b still accepts the key %v after its revocation on replica a; want within 2s", asked.Sub(revoked))
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("replica b refused the revoked key after %v", time.Duration(took.Load()))
	})
}
