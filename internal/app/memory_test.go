package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/store"
	"github.com/cato-gateway/cato/internal/testenv"
)

// memConfig is simConfig with two tenants and a quick lease.
const memConfig = `
listen: 127.0.0.1:0
models:
  bedrock_haiku: {provider: simulated}
  bedrock_sonnet: {provider: simulated}
  shadow_self: {provider: simulated}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, hidden_states: shadow_self}
auth:
  admin_key_env: TEST_ADMIN_KEY
  keys:
    - {key_env: TEST_KEY_A, tenant: team-a}
    - {key_env: TEST_KEY_B, tenant: team-b}
`

var memEnv = []string{"TEST_KEY_A=key-a", "TEST_KEY_B=key-b", "TEST_ADMIN_KEY=admin"}

type factJSON struct {
	ID           string   `json:"id"`
	Subject      string   `json:"subject"`
	Predicate    string   `json:"predicate"`
	Object       string   `json:"object"`
	Negated      bool     `json:"negated"`
	Domain       string   `json:"domain"`
	Confidence   float64  `json:"confidence"`
	Source       string   `json:"source"`
	Sources      []string `json:"sources"`
	SupersededBy string   `json:"superseded_by"`
	SupersededAt string   `json:"superseded_at"`
}

// client calls a gateway as one tenant.
type client struct {
	t    *testing.T
	base string
	key  string
}

func (c client) do(method, path, body string) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(c.t, resp)
}

// remember posts an interaction and returns its id.
func (c client) remember(user, session, domain, query, response string) string {
	c.t.Helper()
	code, b := c.do(http.MethodPost, "/api/cato/memory/interactions",
		fmt.Sprintf(`{"query": %q, "response": %q, "domain": %q, "session_id": %q, "user": %q}`, query, response, domain, session, user))
	if code != http.StatusAccepted {
		c.t.Fatalf("POST interactions: %d %s", code, b)
	}
	return decode[struct{ ID string }](c.t, b).ID
}

func (c client) facts(params string) []factJSON {
	c.t.Helper()
	code, b := c.do(http.MethodGet, "/api/cato/memory/facts?"+params, "")
	if code != http.StatusOK {
		c.t.Fatalf("GET facts?%s: %d %s", params, code, b)
	}
	return decode[struct{ Facts []factJSON }](c.t, b).Facts
}

// waitFacts polls the facts until ok accepts them.
func (c client) waitFacts(params string, ok func([]factJSON) bool) []factJSON {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		fs := c.facts(params)
		if ok(fs) {
			return fs
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("facts?%s never became what the test waits for: %+v", params, fs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitQueue waits until the gateway's memory queue is empty.
func waitQueue(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		st := decode[struct {
			Memory struct {
				Queue struct{ Depth int64 } `json:"queue"`
			} `json:"memory"`
		}](t, adminGet(t, base+"/api/admin/cato/status"))
		if st.Memory.Queue.Depth == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the memory queue did not drain")
}

// postgresSchema creates a schema of its own on the server at raw and
// returns raw pointed at it.
func postgresSchema(t *testing.T, raw string) string {
	t.Helper()
	b, err := store.Open(context.Background(), raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	id := make([]byte, 4)
	rand.Read(id)
	schema := "test_" + hex.EncodeToString(id)
	if _, err := b.PostgresDB().Pool().Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if b, err := store.Open(context.Background(), raw, nil); err == nil {
			b.PostgresDB().Pool().Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			b.Close()
		}
	})
	u, _ := url.Parse(raw)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// memoryBackends are the stores the memory tests run on.
func memoryBackends(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"embedded": func(t *testing.T) string { return "embedded://" + t.TempDir() },
		"postgres": func(t *testing.T) string { return postgresSchema(t, testenv.PostgresURL(t)) },
		"dynamodb": dynamoTable,
	}
}

// dynamoTable returns the test DynamoDB's URL with a table of the test's
// own, which it drops at the end.
func dynamoTable(t *testing.T) string {
	t.Helper()
	raw := testenv.DynamoDBURL(t)
	id := make([]byte, 4)
	rand.Read(id)
	table := "app-" + hex.EncodeToString(id)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = table
	t.Cleanup(func() {
		if b, err := store.Open(context.Background(), u.String(), nil); err == nil {
			b.DynamoDB().DeleteTable(context.Background())
			b.Close()
		}
	})
	return u.String()
}

// pgliteURL is the pgvector server's URL for a whole gateway: pglite runs
// every connection in one session, so the gateway gets two, one of which
// the cache's change feed holds: its transactions never interleave.
func pgliteURL(t *testing.T) string {
	u, err := url.Parse(testenv.PgvectorURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "2")
	u.RawQuery = q.Encode()
	return u.String()
}

// TestRunbookMemory is the runbook's week-11 check through the HTTP API:
// store the machine-learning interaction, let consolidation run, and the
// facts of domain ai are not empty. With pgvector, episodes are searched
// by its HNSW index.
func TestRunbookMemory(t *testing.T) {
	backends := memoryBackends(t)
	backends["pgvector"] = pgliteURL
	for name, storeURL := range backends {
		t.Run(name, func(t *testing.T) {
			base, _ := serve(t, memConfig, storeURL(t), memEnv...)
			a := client{t, base, "key-a"}
			id := a.remember("", "", "ai", "What is machine learning?",
				"Machine learning is a field of artificial intelligence in which systems learn patterns from data instead of following explicit rules.")
			fs := a.waitFacts("domain=ai", func(fs []factJSON) bool { return len(fs) > 0 })
			f := fs[0]
			if f.Subject != "machine learning" || f.Predicate != "is" || !strings.Contains(f.Object, "artificial intelligence") || f.Domain != "ai" || f.Source != id {
				t.Errorf("fact = %+v; want machine learning is … artificial intelligence, domain ai, from %s", f, id)
			}
			if other := a.facts("domain=cooking"); len(other) != 0 {
				t.Errorf("facts of another domain: %+v", other)
			}
			code, b := a.do(http.MethodGet, "/api/cato/memory/episodes?q=what+is+ML&k=3", "")
			if code != 200 || !strings.Contains(string(b), id) || !strings.Contains(string(b), `"score":`) {
				t.Errorf("episodes: %d %s", code, b)
			}
			// The queue's entry is acknowledged just after the facts are
			// written, and counted then: wait for it rather than race it, and read
			// /status after it.
			metrics := get(t, base+"/metrics")
			for deadline := time.Now().Add(15 * time.Second); !strings.Contains(metrics, "cato_memory_queue_depth 0") && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
				metrics = get(t, base+"/metrics")
			}
			st := string(adminGet(t, base+"/api/admin/cato/status"))
			search := map[string]string{"embedded": "hnsw", "postgres": "exact_scan", "pgvector": "pgvector_hnsw", "dynamodb": "exact_scan"}[name]
			for _, want := range []string{`"memory":{"enabled":true`, `"episode_search":"` + search + `"`, `"extractor":"rules"`, `"judge":"rules"`, `"consolidations":{"ok":1}`} {
				if !strings.Contains(st, want) {
					t.Errorf("/status lacks %s: %s", want, st)
				}
			}
			for _, want := range []string{"cato_memory_queue_depth 0", `cato_memory_consolidations_total{outcome="ok"} 1`, `cato_memory_extractions_total{extractor="rules",outcome="facts"} 1`} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
		})
	}
}

// TestMemoryContradictions checks through the API that a later statement
// supersedes an earlier one (kept in the history), that a repeated one
// merges, and that a negation replaces what it negates.
func TestMemoryContradictions(t *testing.T) {
	for name, storeURL := range memoryBackends(t) {
		t.Run(name, func(t *testing.T) {
			base, _ := serve(t, memConfig, storeURL(t), memEnv...)
			a := client{t, base, "key-a"}
			paris := a.remember("u-1", "s-1", "", "I live in Paris.", "Lovely city.")
			a.waitFacts("user=u-1", func(fs []factJSON) bool { return len(fs) == 1 })
			berlin := a.remember("u-1", "s-2", "", "I moved to Berlin last month.", "Welcome to Berlin.")
			fs := a.waitFacts("user=u-1", func(fs []factJSON) bool { return len(fs) == 1 && fs[0].Object == "Berlin" })
			berlinFact := fs[0]
			if berlinFact.Predicate != "residence" || berlinFact.Source != berlin || berlinFact.SupersededBy != "" {
				t.Errorf("current fact = %+v; want residence Berlin from %s", berlinFact, berlin)
			}
			hist := a.facts("user=u-1&history=true")
			var old *factJSON
			for i := range hist {
				if hist[i].Object == "Paris" {
					old = &hist[i]
				}
			}
			if len(hist) != 2 || old == nil || old.SupersededBy != berlinFact.ID || old.SupersededAt == "" || old.Source != paris {
				t.Errorf("history = %+v; want Paris superseded by %s", hist, berlinFact.ID)
			}

			// The same again merges; its negation replaces it.
			a.remember("u-1", "s-3", "", "I work at Google.", "")
			a.remember("u-1", "s-3", "", "I work at Google, as I said.", "")
			a.remember("u-1", "s-4", "", "My favourite colour is blue.", "")
			a.remember("u-1", "s-4", "", "My favourite colour is green now.", "")
			a.remember("u-1", "s-5", "", "I'm allergic to peanuts.", "")
			a.remember("u-1", "s-5", "", "I'm not allergic to peanuts after all.", "")
			waitQueue(t, base)
			got := map[string]factJSON{}
			for _, f := range a.facts("user=u-1") {
				got[f.Predicate] = f
			}
			if g := got["employer"]; g.Object != "Google" || len(g.Sources) != 2 || g.Confidence <= 0.9 {
				t.Errorf("employer = %+v; want Google merged from 2 sources, confidence raised", g)
			}
			if g := got["favourite_colour"]; g.Object != "green" {
				t.Errorf("favourite colour = %+v; want green", g)
			}
			if g := got["allergy"]; g.Object != "peanuts" || !g.Negated {
				t.Errorf("allergy = %+v; want the negation current", g)
			}
			if len(got) != 4 {
				t.Errorf("current predicates %v; want residence, employer, favourite_colour, allergy", got)
			}
		})
	}
}

// TestMemoryRecallInNewSession checks that a new session of the same user
// answers "What is my name?" from facts alone, that the recalled prompt
// bypasses the cache, and that without memory it cannot.
func TestMemoryRecallInNewSession(t *testing.T) {
	base, _ := serve(t, memConfig, "embedded://"+t.TempDir(), memEnv...)
	a := client{t, base, "key-a"}
	ask := func(body string) (queryAnswer, http.Header) {
		t.Helper()
		resp, b := post(t, base+"/api/cato/query", body, "Authorization", "Bearer key-a")
		if resp.StatusCode != 200 {
			t.Fatalf("query %s: %d %s", body, resp.StatusCode, b)
		}
		return decode[queryAnswer](t, b), resp.Header
	}
	ask(`{"query": "My name is Alice.", "session_id": "first", "user": "u-alice"}`)
	for _, q := range []string{"What is 2+2?", "Explain photosynthesis.", "Translate good morning into Spanish."} {
		ask(fmt.Sprintf(`{"query": %q, "session_id": "first", "user": "u-alice"}`, q))
	}
	a.waitFacts("user=u-alice", func(fs []factJSON) bool { return len(fs) == 1 && fs[0].Object == "Alice" })
	waitQueue(t, base)

	ans, h := ask(`{"query": "What is my name?", "session_id": "second", "user": "u-alice"}`)
	if !strings.Contains(ans.Response, "Your name is Alice, as I remember") {
		t.Errorf("a new session answered %q; want Alice, recalled from long-term memory", ans.Response)
	}
	if h.Get("X-Cato-Cache") != "bypass" {
		t.Errorf("X-Cato-Cache = %q; want bypass for a recalled prompt", h.Get("X-Cato-Cache"))
	}
	off, _ := ask(`{"query": "What is my name?", "session_id": "third", "user": "u-alice", "memory": false}`)
	if strings.Contains(off.Response, "Alice") {
		t.Errorf("with memory off the answer was %q; want no name", off.Response)
	}
	other, _ := ask(`{"query": "What is my name?", "session_id": "fourth", "user": "u-bob"}`)
	if strings.Contains(other.Response, "Alice") {
		t.Errorf("another user was told %q", other.Response)
	}
	// The same question as another tenant's user of the same name.
	resp, b := post(t, base+"/api/cato/query", `{"query": "What is my name?", "session_id": "x", "user": "u-alice"}`, "Authorization", "Bearer key-b")
	if resp.StatusCode != 200 || strings.Contains(string(b), "Alice") {
		t.Errorf("another tenant's u-alice was told %s", b)
	}
}

// TestMemoryRecordsCachedAndChatAnswers checks that answers served from the
// cache and through chat completions are recorded too.
func TestMemoryRecordsCachedAndChatAnswers(t *testing.T) {
	base, _ := serve(t, memConfig, "embedded://"+t.TempDir(), memEnv...)
	a := client{t, base, "key-a"}
	body := `{"query": "Why is the sky blue?", "user": "u-9"}`
	post(t, base+"/api/cato/query", body, "Authorization", "Bearer key-a")
	resp, _ := post(t, base+"/api/cato/query", body, "Authorization", "Bearer key-a")
	if resp.Header.Get("X-Cato-Cache") != "hit" {
		t.Fatalf("second ask: X-Cato-Cache = %s; want hit", resp.Header.Get("X-Cato-Cache"))
	}
	resp, b := post(t, base+"/v1/chat/completions", `{"model": "auto", "user": "u-9", "messages": [{"role": "user", "content": "My name is Nora."}]}`, "Authorization", "Bearer key-a")
	if resp.StatusCode != 200 {
		t.Fatalf("chat: %d %s", resp.StatusCode, b)
	}
	a.waitFacts("user=u-9", func(fs []factJSON) bool { return len(fs) == 1 && fs[0].Object == "Nora" })
	waitQueue(t, base)
	code, eb := a.do(http.MethodGet, "/api/cato/memory/episodes?user=u-9&k=10&q=sky", "")
	eps := decode[struct{ Episodes []struct{ Query string } }](t, eb).Episodes
	if code != 200 || len(eps) != 3 {
		t.Errorf("episodes of u-9: %d %s; want 3 (a model's answer, the cache's, and the chat turn)", code, eb)
	}
}

// TestMemoryForgetSession checks that deleting a session forgets the
// facts and episodes derived from it, and brings back what its facts had
// superseded.
func TestMemoryForgetSession(t *testing.T) {
	base, _ := serve(t, memConfig, "embedded://"+t.TempDir(), memEnv...)
	a := client{t, base, "key-a"}
	a.remember("u-1", "keep", "", "I live in Paris.", "")
	a.remember("u-1", "keep", "", "I work at Airbus.", "")
	a.remember("u-1", "drop", "", "I moved to Berlin.", "")
	a.remember("u-1", "drop", "", "My name is Zed.", "")
	a.remember("u-1", "drop", "", "I work at Airbus, still.", "")
	waitQueue(t, base)
	if code, b := a.do(http.MethodDelete, "/api/cato/sessions/drop", ""); code != http.StatusNoContent {
		t.Fatalf("DELETE session: %d %s", code, b)
	}
	got := map[string]factJSON{}
	for _, f := range a.facts("user=u-1") {
		got[f.Predicate] = f
	}
	if got["residence"].Object != "Paris" || got["name"].Object != "" || got["employer"].Object != "Airbus" || len(got["employer"].Sources) != 1 {
		t.Errorf("after deleting the session: %+v; want Paris back, no name, Airbus from one source", got)
	}
	if hist := a.facts("user=u-1&history=true"); len(hist) != 2 {
		t.Errorf("history keeps %d facts; want 2 (nothing of the session)", len(hist))
	}
	_, eb := a.do(http.MethodGet, "/api/cato/memory/episodes?user=u-1&k=10&q=Berlin", "")
	if strings.Contains(string(eb), "Berlin") || strings.Contains(string(eb), "Zed") {
		t.Errorf("episodes of the deleted session remain: %s", eb)
	}
}

// TestMemoryIsolation is the privacy matrix: no endpoint reads, recalls or
// deletes another tenant's or another user's memory.
func TestMemoryIsolation(t *testing.T) {
	base, _ := serve(t, memConfig, "embedded://"+t.TempDir(), memEnv...)
	a, b := client{t, base, "key-a"}, client{t, base, "key-b"}
	type owner struct {
		c    client
		user string
		name string
	}
	owners := []owner{{a, "u-1", "Ana"}, {a, "u-2", "Ben"}, {b, "u-1", "Cid"}, {a, "", "Dee"}}
	for _, o := range owners {
		o.c.remember(o.user, "s-"+o.name, "", "My name is "+o.name+".", "Hello "+o.name+".")
	}
	waitQueue(t, base)
	userParam := func(u string) string {
		if u == "" {
			return ""
		}
		return "user=" + u
	}
	for _, reader := range owners {
		t.Run(reader.name, func(t *testing.T) {
			fs := reader.c.facts(userParam(reader.user))
			if len(fs) != 1 || fs[0].Object != reader.name {
				t.Errorf("facts = %+v; want only %s", fs, reader.name)
			}
			_, eb := reader.c.do(http.MethodGet, "/api/cato/memory/episodes?k=50&q=name&"+userParam(reader.user), "")
			for _, other := range owners {
				if other.name != reader.name && strings.Contains(string(eb), other.name) {
					t.Errorf("episodes show %s's: %s", other.name, eb)
				}
			}
			resp, qb := post(t, base+"/api/cato/query", fmt.Sprintf(`{"query": "What is my name?", "user": %q}`, reader.user),
				"Authorization", "Bearer "+reader.c.key)
			for _, other := range owners {
				if other.name != reader.name && strings.Contains(string(qb), other.name) {
					t.Errorf("recall told %s's name: %d %s", other.name, resp.StatusCode, qb)
				}
			}
			if reader.user != "" && !strings.Contains(string(qb), reader.name) {
				t.Errorf("recall did not find the reader's own name: %s", qb)
			}
		})
	}
	// Tenant b deletes its u-1: a's u-1 keeps its memory.
	if code, body := b.do(http.MethodDelete, "/api/cato/memory/users/u-1", ""); code != http.StatusNoContent {
		t.Fatalf("DELETE user: %d %s", code, body)
	}
	if fs := b.facts("user=u-1"); len(fs) != 0 {
		t.Errorf("b's u-1 kept %+v", fs)
	}
	if fs := a.facts("user=u-1"); len(fs) != 1 || fs[0].Object != "Ana" {
		t.Errorf("a's u-1 lost its memory to b's deletion: %+v", fs)
	}
	if fs := a.facts("user=u-2"); len(fs) != 1 {
		t.Errorf("a's u-2 lost its memory: %+v", fs)
	}
	// Bad requests are refused, not served from someone's memory.
	for _, bad := range []string{"/api/cato/memory/facts?tenant=team-b", "/api/cato/memory/facts?history=maybe", "/api/cato/memory/episodes", "/api/cato/memory/episodes?q=x&k=0"} {
		if code, body := a.do(http.MethodGet, bad, ""); code != http.StatusBadRequest {
			t.Errorf("GET %s = %d %s; want 400", bad, code, body)
		}
	}
	if code, _ := (client{t, base, "wrong"}).do(http.MethodGet, "/api/cato/memory/facts", ""); code != http.StatusUnauthorized {
		t.Errorf("facts without a valid key = %d; want 401", code)
	}
}

// TestMemoryDisabledForTenant checks memory.tenants.
func TestMemoryDisabledForTenant(t *testing.T) {
	base, _ := serve(t, memConfig+"memory: {tenants: {team-b: false}}\n", "embedded://"+t.TempDir(), memEnv...)
	b := client{t, base, "key-b"}
	code, body := b.do(http.MethodPost, "/api/cato/memory/interactions", `{"query": "My name is Eve."}`)
	if code != http.StatusForbidden || !strings.Contains(string(body), "memory_disabled") {
		t.Errorf("POST for a tenant without memory = %d %s; want 403 memory_disabled", code, body)
	}
	a := client{t, base, "key-a"}
	a.remember("u", "", "", "My name is Eve.", "")
	a.waitFacts("user=u", func(fs []factJSON) bool { return len(fs) == 1 })
}

// TestMemoryRecordsLegacyTurns checks that turns the legacy side answers
// (dual-write) reach long-term memory.
func TestMemoryRecordsLegacyTurns(t *testing.T) {
	cfg := strings.Replace(memConfig, "  shadow_self: {provider: simulated}\n",
		"  shadow_self: {provider: simulated}\n  legacy: {provider: simulated}\n", 1) + "rollout: {percentage: 0, legacy: legacy}\n"
	base, _ := serve(t, cfg, "embedded://"+t.TempDir(), memEnv...)
	resp, b := post(t, base+"/v1/chat/completions", `{"model": "auto", "user": "u-legacy", "messages": [{"role": "user", "content": "My name is Lea."}]}`,
		"Authorization", "Bearer key-a")
	if resp.StatusCode != 200 || resp.Header.Get("X-Cato-Side") != "legacy" {
		t.Fatalf("chat: %d on side %q: %s", resp.StatusCode, resp.Header.Get("X-Cato-Side"), b)
	}
	a := client{t, base, "key-a"}
	a.waitFacts("user=u-legacy", func(fs []factJSON) bool { return len(fs) == 1 && fs[0].Object == "Lea" })
}
