package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/session"
)

// fuzzTenant is the tenant of the client key of documentServer.
const fuzzTenant = "team-a"

// echoModel answers every request with its last user message and
// remembers the last one it was asked.
type echoModel struct {
	mu    sync.Mutex
	asked string
}

func (m *echoModel) Chat(_ context.Context, chain []string, req *llm.Request) (provider.Answer, error) {
	m.mu.Lock()
	m.asked = req.LastUserText()
	m.mu.Unlock()
	return provider.Answer{Model: chain[0], Response: &llm.Response{
		Message: llm.Message{Role: llm.RoleAssistant, Content: "ok"}, FinishReason: llm.FinishStop,
	}}, nil
}

func (m *echoModel) ChatStream(ctx context.Context, chain []string, req *llm.Request) (provider.StreamAnswer, error) {
	a, err := m.Chat(ctx, chain, req)
	return provider.StreamAnswer{Model: a.Model, Stream: llm.NewSliceStream(llm.Chunk{Role: llm.RoleAssistant, Content: "ok"}, llm.Chunk{FinishReason: llm.FinishStop})}, err
}

func (m *echoModel) last() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.asked
	m.asked = ""
	return s
}

// keyedMemory is long-term memory that checks keys as memory.Memory does
// and records what it was asked for.
type keyedMemory struct {
	mu   sync.Mutex
	keys []memory.Key
	in   []memory.Interaction
}

func (m *keyedMemory) saw(k memory.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	m.keys = append(m.keys, k)
	m.mu.Unlock()
	return nil
}

func (m *keyedMemory) Submit(_ context.Context, in memory.Interaction) (string, error) {
	if err := in.Validate(); err != nil {
		return "", err
	}
	m.mu.Lock()
	m.in = append(m.in, in)
	m.mu.Unlock()
	return "i-1", m.saw(in.Key())
}

func (m *keyedMemory) Facts(_ context.Context, k memory.Key, _ memory.FactFilter) ([]memory.Fact, error) {
	return nil, m.saw(k)
}

func (m *keyedMemory) Episodes(_ context.Context, k memory.Key, _ string, _ int) ([]memory.EpisodeHit, error) {
	return nil, m.saw(k)
}

func (m *keyedMemory) ForgetUser(_ context.Context, k memory.Key) error { return m.saw(k) }

// taken returns the keys and interactions seen since the last call.
func (m *keyedMemory) taken() ([]memory.Key, []memory.Interaction) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, in := m.keys, m.in
	m.keys, m.in = nil, nil
	return k, in
}

// keyedSessions is working memory that checks keys as session.Memory
// does and holds no session.
type keyedSessions struct{}

func (keyedSessions) Context(_ context.Context, k session.Key, req *llm.Request) ([]llm.Message, session.Added, error) {
	return req.Messages, session.Added{}, k.Validate()
}
func (keyedSessions) Record(_ context.Context, k session.Key, _ session.Exchange) error {
	return k.Validate()
}
func (keyedSessions) Session(_ context.Context, k session.Key) (*session.Session, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return nil, session.ErrNotFound
}
func (keyedSessions) Delete(_ context.Context, k session.Key) error { return k.Validate() }

// documentServer is a Server with a client key of fuzzTenant, the admin
// key, a rollout admin on a memory store, long-term memory and sessions
// that check their keys, and one model.
func documentServer(model *echoModel, mem *keyedMemory) *Server {
	auth := &Auth{}
	auth.AddKey("client-key", fuzzTenant)
	auth.SetAdminKey("admin-key")
	dec := rollout.NewDecider(rollout.Flag{Percentage: 100}, rollout.DeciderOptions{})
	return New(Options{
		Auth:         auth,
		MaxBodyBytes: 1 << 20,
		Orchestrator: orchestrator.New(orchestrator.Options{Models: []string{"m"}, Caller: model, Router: oneRoute{}, Sessions: keyedSessions{}}),
		Rollout:      &Rollout{Decider: dec, Admin: rollout.NewAdmin(rollout.AdminOptions{Store: &rollout.MemoryStore{}, Decider: dec})},
		Memory:       mem,
	})
}

// documentEndpoints are the documents FuzzDocuments sends: a body, a
// query string or a path element, to the endpoint that reads it.
var documentEndpoints = []struct {
	method, path, key string
	// where the fuzzed text goes: "body", "query" (after ?) or "path" (the
	// last path element, escaped)
	in string
}{
	{http.MethodPut, "/api/admin/cato/rollout", "admin-key", "body"},
	{http.MethodPost, "/api/admin/cato/cache/purge", "admin-key", "body"},
	{http.MethodPost, "/api/cato/memory/interactions", "client-key", "body"},
	{http.MethodPost, "/api/cato/query", "client-key", "body"},
	{http.MethodGet, "/api/cato/memory/facts", "client-key", "query"},
	{http.MethodGet, "/api/cato/memory/episodes", "client-key", "query"},
	{http.MethodDelete, "/api/cato/memory/users/", "client-key", "path"},
	{http.MethodGet, "/api/cato/sessions/", "client-key", "path"},
	{http.MethodDelete, "/api/cato/sessions/", "client-key", "path"},
	{http.MethodGet, "/api/admin/cato/rollout", "admin-key", "query"},
}

// FuzzDocuments sends any document to each endpoint that reads one from
// a client or an operator: the rollout PUT, the cache purge, memory
// interactions, native queries, the memory and rollout query strings, and
// session and user ids in paths. A request is answered 2xx or 4xx, never
// 5xx; every refusal is an OpenAI error object with a code; and what is
// accepted holds what the endpoint requires: a purge names a tenant or a
// model, an interaction and a query have text and are the caller's
// tenant's, a memory read or delete is of the caller's tenant with a valid
// key.
func FuzzDocuments(f *testing.F) {
	seeds := []struct {
		endpoint int
		doc      string
	}{
		{0, `{"use_new_orchestrator": {"percentage": 10}, "actor": "ops", "reason": "ramp"}`},
		{0, `{"use_new_orchestrator": {"percentage": 101}}`},
		{1, `{"tenant": "team-b"}`}, {1, `{"model": "m", "tenant": ""}`}, {1, `{}`}, {1, ``}, {1, `{"tenat": "x"}`},
		{2, `{"query": "I live in Paris.", "response": "Nice.", "domain": "ai", "session_id": "s-1", "user": "u-1"}`},
		{2, `{"query": "", "response": "x"}`}, {2, `{"query": "q", "user": "a\u0000b"}`}, {2, `{"query": "q", "extra": 1}`},
		{3, `{"query": "What is 2+2?", "session_id": "s-1", "user": "u-42", "domain": "general", "cache": true}`},
		{3, `{"query": "q", "session_id": "a\u0085b"}`}, {3, `{"query": "q", "max_tokens": -1}`}, {3, `{"qurey": "q"}`},
		{4, `domain=ai&user=u-1&history=true`}, {4, `history=maybe`}, {4, `user=a&user=b`}, {4, `user=%00`}, {4, `bogus=1`},
		{5, `q=what+is+ML&k=3&user=u-1`}, {5, `k=0&q=x`}, {5, `k=51&q=x`}, {5, `q=`},
		{6, `u-1`}, {6, "a\x00b"}, {6, ``}, {6, "\xff"},
		{7, `s-1`}, {7, "a\u0085b"}, {7, "\u200b"}, {8, `s-1`}, {8, "\u202e"},
		{9, `limit=5`}, {9, `limit=-1`}, {9, `limit=x`},
	}
	for _, s := range seeds {
		f.Add(uint8(s.endpoint), []byte(s.doc))
	}
	model, mem := &echoModel{}, &keyedMemory{}
	s := documentServer(model, mem)
	f.Fuzz(func(t *testing.T, which uint8, doc []byte) {
		ep := documentEndpoints[int(which)%len(documentEndpoints)]
		target := ep.path
		var body []byte
		switch ep.in {
		case "body":
			body = doc
		case "query":
			target += "?" + url.PathEscape(string(doc))
		case "path":
			target += url.PathEscape(string(doc))
		}
		req := httptest.NewRequest(ep.method, "http://cato.test/", bytes.NewReader(body))
		if u, err := url.ParseRequestURI(target); err == nil {
			req.URL = u
		} else {
			return // not a request a client can send
		}
		req.Header.Set("Authorization", "Bearer "+ep.key)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		keys, ins := mem.taken()
		asked := model.last()
		code := rec.Code
		// The mux cleans "." and ".." out of a path and redirects, and
		// matches no segment that is one escaped "/": such an id can be
		// neither read nor deleted, so none may be kept.
		if id := string(doc); ep.in == "path" && (id == "/" || code >= 300 && code < 400) {
			if id != "." && id != ".." && id != "/" ||
				(session.Key{Tenant: fuzzTenant, ID: id}).Validate() == nil || (memory.Key{Tenant: fuzzTenant, User: id}).Validate() == nil {
				t.Fatalf("%s %s with %q: %d %s", ep.method, ep.path, doc, code, rec.Body)
			}
			return
		}
		if ep.path == "/api/cato/sessions/" && len(doc) > 0 {
			// A valid id is a 404 (none is stored) or deleted; any other a 400.
			valid := session.Key{Tenant: fuzzTenant, ID: string(doc)}.Validate() == nil
			want := map[bool]int{true: http.StatusNotFound, false: http.StatusBadRequest}[valid]
			if valid && ep.method == http.MethodDelete {
				want = http.StatusNoContent
			}
			if code != want {
				t.Fatalf("%s session %q: %d %s; want %d", ep.method, doc, code, rec.Body, want)
			}
		}
		if code >= 500 || code < 200 {
			t.Fatalf("%s %s with %q: %d %s", ep.method, ep.path, doc, code, rec.Body)
		}
		if code >= 400 {
			var e struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%s %s with %q: %d with a body that is no error object: %s", ep.method, ep.path, doc, code, rec.Body)
			}
			if code != http.StatusNotFound && (len(ins) > 0 || asked != "") {
				t.Fatalf("%s %s with %q refused (%d) after it reached memory or the model", ep.method, ep.path, doc, code)
			}
			return
		}
		for _, k := range keys {
			if k.Tenant != fuzzTenant || k.Validate() != nil {
				t.Fatalf("%s %s with %q reached memory key %q", ep.method, ep.path, doc, k)
			}
		}
		switch ep.path {
		case "/api/admin/cato/cache/purge":
			var named struct{ Tenant, Model string }
			if json.Unmarshal(doc, &named) != nil || named.Tenant == "" && named.Model == "" {
				t.Fatalf("purge accepted %q, which names no tenant and no model", doc)
			}
		case "/api/cato/memory/interactions":
			if len(ins) != 1 || ins[0].Query == "" || ins[0].Tenant != fuzzTenant {
				t.Fatalf("interaction %q accepted as %+v", doc, ins)
			}
		case "/api/cato/query":
			if asked == "" {
				t.Fatalf("query %q accepted without asking the model anything", doc)
			}
		case "/api/cato/memory/facts", "/api/cato/memory/episodes", "/api/cato/memory/users/":
			if len(keys) != 1 {
				t.Fatalf("%s %s with %q answered %d without asking memory", ep.method, ep.path, doc, code)
			}
		}
	})
}
