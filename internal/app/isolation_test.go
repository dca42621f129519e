package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echoUpstream is an OpenAI-compatible model whose every answer is
// "answer-N" (N counts its calls) followed by every message it was sent.
// An answer so shows all that Cato put into the prompt: session turns,
// recalled facts and episodes, a stored response's conversation.
func echoUpstream(t *testing.T) *httptest.Server {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct {
				Content json.RawMessage `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		parts := []string{fmt.Sprintf("answer-%d", calls.Add(1))}
		for _, m := range req.Messages {
			parts = append(parts, string(m.Content))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "x", "object": "chat.completion", "created": 1, "model": "echo",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": strings.Join(parts, " | ")}}},
			"usage": map[string]int{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// isolationConfig is two tenants, each with its key, in front of url.
func isolationConfig(url string) string {
	return upstreamConfig(url) + `
auth:
  admin_key_env: TEST_ADMIN_KEY
  keys:
    - {key_env: TEST_KEY_A, tenant: team-a}
    - {key_env: TEST_KEY_B, tenant: team-b}
memory: {extractor: rules}
`
}

// owner is one user of one tenant, and the word that only its data holds.
type owner struct {
	tenant, key, user string
	word              string
	session           string // a session only this owner has used
	response          string // the id of a stored response of this owner
	question          string // a question this owner put in the cache
	cached            string // the answer the cache holds for it
}

func (o *owner) String() string { return o.tenant + "/" + o.user }

// relation is how a caller stands to the owner of the data it reaches for.
type relation int

const (
	self          relation = iota // the owner itself: the control
	sameTenant                    // another user of the owner's tenant
	otherTenant                   // a user of the other tenant with the owner's user name
	otherTenantOU                 // a user of the other tenant with another user name
)

func (r relation) String() string {
	return [...]string{"self", "same tenant, other user", "other tenant, same user name", "other tenant, other user"}[r]
}

func relate(caller, o *owner) relation {
	switch {
	case caller == o:
		return self
	case caller.tenant == o.tenant:
		return sameTenant
	case caller.user == o.user:
		return otherTenant
	}
	return otherTenantOU
}

// as sends a request as caller: its key and X-Cato-User.
func (o *owner) as(t *testing.T, base, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+o.key)
	req.Header.Set("X-Cato-User", o.user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, string(readAll(t, resp))
}

// outcome is what a cell of the matrix expects.
type outcome int

const (
	reaches  outcome = iota // 2xx, and the owner's data is in the body
	shares                  // 2xx with the owner's data, by design (see the row)
	nothing                 // 2xx, and none of the owner's data in the body
	notFound                // 404, none of the owner's data
	badRef                  // 400 previous_response_not_found, none of the owner's data
)

// TestIsolationMatrix proves through the HTTP API that no tenant reaches
// another tenant's data, and no user another user's private data, on
// every endpoint that reads or deletes data. Two tenants with a key each,
// two users in each (u1 and u2 in both, so the other tenant can name the
// same user); every (owner, caller) pair is tried on every row, and the
// owner's own request is the control.
//
// A tenant is who holds its key; a user is what the caller says it is (the
// body's user or X-Cato-User), not a credential. So a user's memory (facts,
// episodes, recall, forgetting) and private cache answers are kept from the
// tenant's other users, while a session and a stored response are the
// tenant's, reached by whoever of the tenant names their id (the "shares"
// cells).
func TestIsolationMatrix(t *testing.T) {
	up := echoUpstream(t)
	base, _ := serve(t, isolationConfig(up.URL), "embedded://"+t.TempDir(), memEnv...)

	owners := []*owner{
		{tenant: "team-a", key: "key-a", user: "u1", word: "crimson", question: "What is the capital of Portugal?"},
		{tenant: "team-a", key: "key-a", user: "u2", word: "turquoise", question: "What is the capital of Norway?"},
		{tenant: "team-b", key: "key-b", user: "u1", word: "saffron", question: "What is the capital of Chile?"},
		{tenant: "team-b", key: "key-b", user: "u2", word: "magenta", question: "What is the capital of Kenya?"},
	}

	// Each owner leaves data behind: a session, memories, a stored
	// response and a cache entry, every one holding its word.
	for _, o := range owners {
		o.session = "s-" + o.tenant + "-" + o.user
		code, b := o.as(t, base, http.MethodPost, "/api/cato/query",
			fmt.Sprintf(`{"query": "Please keep the word %s in mind.", "session_id": %q, "user": %q}`, o.word, o.session, o.user))
		if code != http.StatusOK || !strings.Contains(b, o.word) {
			t.Fatalf("%s: seeding the session: %d %s", o, code, b)
		}
		code, b = o.as(t, base, http.MethodPost, "/api/cato/memory/interactions",
			fmt.Sprintf(`{"query": "My favourite colour is %s.", "response": "Noted.", "user": %q}`, o.word, o.user))
		if code != http.StatusAccepted {
			t.Fatalf("%s: seeding memory: %d %s", o, code, b)
		}
		code, b = o.as(t, base, http.MethodPost, "/v1/responses",
			fmt.Sprintf(`{"model": "auto", "input": "The codeword is %s.", "user": %q}`, o.word, o.user))
		if code != http.StatusOK {
			t.Fatalf("%s: seeding a stored response: %d %s", o, code, b)
		}
		o.response = decode[struct{ ID string }](t, []byte(b)).ID
		for i := range 2 {
			// Without memory, so that a recalled first asking cannot keep
			// the second from the cache.
			code, b = o.as(t, base, http.MethodPost, "/api/cato/query", fmt.Sprintf(`{"query": %q, "user": %q, "memory": false}`, o.question, o.user))
			ans := decode[queryAnswer](t, []byte(b))
			if code != http.StatusOK || ans.Cached != (i == 1) {
				t.Fatalf("%s: asking %q (%d): %d cached=%v %s", o, o.question, i, code, ans.Cached, b)
			}
			o.cached = ans.Response
		}
	}
	for _, o := range owners {
		c := client{t, base, o.key}
		c.waitFacts("user="+o.user, func(fs []factJSON) bool {
			for _, f := range fs {
				if f.Predicate == "favourite_colour" && f.Object == o.word {
					return true
				}
			}
			return false
		})
	}
	waitQueue(t, base)
	// A fact can be visible a moment before its episode is.
	for _, o := range owners {
		deadline := time.Now().Add(15 * time.Second)
		for {
			_, b := o.as(t, base, http.MethodGet, "/api/cato/memory/episodes?k=50&q="+url.QueryEscape("favourite colour "+o.word), "")
			if strings.Contains(b, o.word) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's episode never became searchable: %s", o, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Each row reads the owner's data as the caller and returns the status
	// and body; holds says whether the body holds the owner's data (its
	// word, unless the row says otherwise). want gives the outcome per
	// relation. The memory rows come first: a "shares" row records, in the
	// caller's memory, an answer that holds the owner's word.
	contains := func(o *owner, body string) bool { return strings.Contains(body, o.word) }
	rows := []struct {
		name  string
		do    func(caller, o *owner) (int, string)
		holds func(o *owner, body string) bool
		want  [4]outcome
	}{
		{
			name: "GET /api/cato/memory/facts",
			do: func(c, o *owner) (int, string) {
				return c.as(t, base, http.MethodGet, "/api/cato/memory/facts?user="+url.QueryEscape(c.user), "")
			},
			want: [4]outcome{reaches, nothing, nothing, nothing},
		},
		{
			name: "GET /api/cato/memory/facts?history=true",
			do: func(c, o *owner) (int, string) {
				return c.as(t, base, http.MethodGet, "/api/cato/memory/facts?history=true&user="+url.QueryEscape(c.user), "")
			},
			want: [4]outcome{reaches, nothing, nothing, nothing},
		},
		{
			name: "GET /api/cato/memory/episodes",
			do: func(c, o *owner) (int, string) {
				return c.as(t, base, http.MethodGet, "/api/cato/memory/episodes?k=50&q="+url.QueryEscape("favourite colour "+o.word), "")
			},
			want: [4]outcome{reaches, nothing, nothing, nothing},
		},
		{
			name: "POST /api/cato/query recalling long-term memory (a personal question: the cache is bypassed)",
			do: func(c, o *owner) (int, string) {
				return c.as(t, base, http.MethodPost, "/api/cato/query",
					fmt.Sprintf(`{"query": "What is my favourite colour?", "session_id": %q, "user": %q}`, "recall-"+c.tenant+"-"+c.user+"-"+o.tenant+"-"+o.user, c.user))
			},
			want: [4]outcome{reaches, nothing, nothing, nothing},
		},
		{
			name: "GET /api/cato/sessions/{id}",
			do: func(c, o *owner) (int, string) {
				return c.as(t, base, http.MethodGet, "/api/cato/sessions/"+url.PathEscape(o.session), "")
			},
			want: [4]outcome{reaches, shares, notFound, notFound},
		},
		{
			name: "POST /api/cato/query in the owner's session (working memory)",
			do: func(c, o *owner) (int, string) {
				return c.as(t, base, http.MethodPost, "/api/cato/query",
					fmt.Sprintf(`{"query": "Which word was I to keep in mind?", "session_id": %q, "user": %q}`, o.session, c.user))
			},
			want: [4]outcome{reaches, shares, nothing, nothing},
		},
		{
			// With memory false, nothing but the cache could bring the
			// owner's word into this answer.
			name: "POST /api/cato/query of the same question in a session of the caller's (an answer from a session is never cached)",
			do: func(c, o *owner) (int, string) {
				return c.as(t, base, http.MethodPost, "/api/cato/query",
					fmt.Sprintf(`{"query": "Which word was I to keep in mind?", "session_id": %q, "user": %q, "memory": false}`, "fresh-"+c.tenant+"-"+c.user+"-"+o.tenant+"-"+o.user, c.user))
			},
			want: [4]outcome{nothing, nothing, nothing, nothing},
		},
		{
			name: "POST /api/cato/query of the owner's cached question (semantic cache)",
			do: func(c, o *owner) (int, string) {
				return c.as(t, base, http.MethodPost, "/api/cato/query", fmt.Sprintf(`{"query": %q, "user": %q, "memory": false}`, o.question, c.user))
			},
			// The data is the cached answer, whose answer-N is the owner's.
			holds: func(o *owner, body string) bool {
				var a queryAnswer
				return json.Unmarshal([]byte(body), &a) == nil && a.Response == o.cached
			},
			// The cache is per tenant: a question that is not personal and
			// carries no session is answered alike for the tenant's users.
			want: [4]outcome{reaches, shares, nothing, nothing},
		},
		{
			name: "POST /v1/responses with the owner's previous_response_id",
			do: func(c, o *owner) (int, string) {
				return c.as(t, base, http.MethodPost, "/v1/responses",
					fmt.Sprintf(`{"model": "auto", "input": "Say the codeword.", "previous_response_id": %q, "user": %q}`, o.response, c.user))
			},
			want: [4]outcome{reaches, shares, badRef, badRef},
		},
		// Client keys (GET /api/admin/cato/keys, DELETE
		// /api/admin/cato/keys/{id}) join this table with them: a tenant's
		// key reaches no other tenant's key or spend.
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			holds := row.holds
			if holds == nil {
				holds = contains
			}
			for _, o := range owners {
				for _, c := range owners {
					rel := relate(c, o)
					code, body := row.do(c, o)
					check(t, fmt.Sprintf("%s's data as %s (%s)", o, c, rel), row.want[rel], code, body, holds(o, body))
				}
			}
		})
	}
	waitQueue(t, base)

	// Deletes, owner by owner: first every caller of the other tenant
	// deletes the owner's session by its id, which reaches nothing of the
	// owner's. Then the owner deletes its session and its memory (the
	// control: both are gone), and every owner after it still has both:
	// u1 of team-a deleting its memory leaves u2 of team-a and u1 of
	// team-b theirs.
	session := func(c, o *owner) (int, string) {
		return c.as(t, base, http.MethodGet, "/api/cato/sessions/"+url.PathEscape(o.session), "")
	}
	facts := func(o *owner) (int, string) {
		return o.as(t, base, http.MethodGet, "/api/cato/memory/facts?history=true&user="+url.QueryEscape(o.user), "")
	}
	for i, o := range owners {
		for _, c := range owners {
			if c.tenant == o.tenant {
				continue
			}
			if code, b := c.as(t, base, http.MethodDelete, "/api/cato/sessions/"+url.PathEscape(o.session), ""); code != http.StatusNoContent {
				t.Errorf("DELETE %s's session as %s: %d %s; want 204", o, c, code, b)
			}
		}
		code, b := session(o, o)
		check(t, fmt.Sprintf("%s's session after the other tenant deleted its id", o), reaches, code, b, strings.Contains(b, o.word))
		if code, b := o.as(t, base, http.MethodDelete, "/api/cato/sessions/"+url.PathEscape(o.session), ""); code != http.StatusNoContent {
			t.Errorf("DELETE its own session as %s: %d %s", o, code, b)
		}
		if code, b := o.as(t, base, http.MethodDelete, "/api/cato/memory/users/"+url.PathEscape(o.user), ""); code != http.StatusNoContent {
			t.Errorf("DELETE its own memory as %s: %d %s", o, code, b)
		}
		code, b = session(o, o)
		check(t, fmt.Sprintf("%s's session after its own delete", o), notFound, code, b, strings.Contains(b, o.word))
		code, b = facts(o)
		check(t, fmt.Sprintf("%s's facts after its own delete", o), nothing, code, b, strings.Contains(b, o.word))
		for _, later := range owners[i+1:] {
			code, b := session(later, later)
			check(t, fmt.Sprintf("%s's session after %s deleted its own", later, o), reaches, code, b, strings.Contains(b, later.word))
			code, b = facts(later)
			check(t, fmt.Sprintf("%s's facts after %s deleted its memory", later, o), reaches, code, b, strings.Contains(b, later.word))
		}
	}
}

// check asserts one cell: the status, and has, whether the body holds
// the owner's data.
func check(t *testing.T, what string, want outcome, code int, body string, has bool) {
	t.Helper()
	ok := false
	switch want {
	case reaches, shares:
		ok = code/100 == 2 && has
	case nothing:
		ok = code/100 == 2 && !has
	case notFound:
		ok = code == http.StatusNotFound && !has && errorCodeOf(body) != ""
	case badRef:
		ok = code == http.StatusBadRequest && !has && errorCodeOf(body) == "previous_response_not_found"
	}
	if !ok {
		t.Errorf("%s: %d %s; want %s", what, code, body, [...]string{"2xx with the data", "2xx with the data (shared by design)", "2xx without the data", "404 without the data", "400 previous_response_not_found without the data"}[want])
	}
}

func errorCodeOf(body string) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error.Code
}
