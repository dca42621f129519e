package loadtest

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPick(t *testing.T) {
	cum := []float64{1, 3, 6} // weights 1, 2, 3
	tests := []struct {
		u    float64
		want int
	}{{0, 0}, {0.1, 0}, {1.0 / 6, 1}, {0.49, 1}, {0.5, 2}, {0.999, 2}}
	for _, tt := range tests {
		if got := pick(cum, tt.u); got != tt.want {
			t.Errorf("pick(%v, %v) = %d; want %d", cum, tt.u, got, tt.want)
		}
	}
}

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("body %s is not JSON: %v", data, err)
	}
	return m
}

func TestGeneratorMix(t *testing.T) {
	w := mustWorkload(t, `
stream: 0.25
users: 10
tenants:
  - {name: a, weight: 3, keys: [ka]}
  - {name: b, keys: [kb1, kb2]}
queries:
  - {text: common, weight: 3}
  - {paraphrases: [p1, p2, p3]}
`)
	g := newGenerator(w, "ignored", "s", 7)
	const n = 8000
	texts := map[string]int{}
	keys := map[string]int{}
	streams := 0
	userKey := map[string]string{}
	for range n {
		r := g.next()
		body := decode(t, r.body)
		msgs := body["messages"].([]any)
		text := msgs[len(msgs)-1].(map[string]any)["content"].(string)
		texts[text]++
		keys[r.key]++
		if r.stream {
			streams++
			if body["stream"] != true || body["stream_options"] == nil {
				t.Fatalf("streamed request body %s lacks stream or stream_options", r.body)
			}
		}
		user := body["user"].(string)
		if k, ok := userKey[user]; ok && k != r.key {
			t.Fatalf("user %s sent with keys %s and %s; want one key per user", user, k, r.key)
		}
		userKey[user] = r.key
		g.done(r, "")
	}
	near := func(got int, share float64) bool { return math.Abs(float64(got)/n-share) < 0.03 }
	if !near(texts["common"], 0.75) || !near(texts["p1"]+texts["p2"]+texts["p3"], 0.25) {
		t.Errorf("texts %v; want common 75%% and the paraphrases 25%%", texts)
	}
	for _, p := range []string{"p1", "p2", "p3"} {
		if texts[p] == 0 {
			t.Errorf("paraphrase %s never sent", p)
		}
	}
	if !near(streams, 0.25) {
		t.Errorf("%d of %d streamed; want 25%%", streams, n)
	}
	if len(userKey) != 10 || keys["ignored"] != 0 || keys["ka"] == 0 || keys["kb1"]+keys["kb2"] == 0 {
		t.Errorf("%d users, keys %v; want 10 users over the tenants' keys", len(userKey), keys)
	}
}

func TestGeneratorBodies(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		yaml string
		want map[string]any
	}{
		{"chat", "model: m1\nmax_tokens: 9\nsystem: sys\nqueries: [{text: hi, domain: ai, cache: true}]\n", map[string]any{
			"model": "m1", "max_tokens": 9.0, "user": "user-0",
			"messages": []any{map[string]any{"role": "system", "content": "sys"}, map[string]any{"role": "user", "content": "hi"}},
			"cato":     map[string]any{"domain": "ai", "cache": yes},
		}},
		{"chat without extras", "cato_extras: false\nqueries: [{text: hi, domain: ai, model: m2}]\n", map[string]any{
			"model": "m2", "user": "user-0", "messages": []any{map[string]any{"role": "user", "content": "hi"}},
		}},
		{"query", "endpoint: query\nqueries: [{text: hi, domain: ai, cache: true}]\n", map[string]any{
			"query": "hi", "user": "user-0", "domain": "ai", "cache": yes,
		}},
		{"query session", "endpoint: query\nsessions: {share: 1, turns: 2}\nqueries: [{text: hi}]\n", map[string]any{
			"query": "hi", "user": "user-0", "session_id": "run-1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGenerator(mustWorkload(t, tt.yaml), "k", "run-", 1)
			r := g.next()
			if diff := cmp.Diff(tt.want, decode(t, r.body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if r.key != "k" {
				t.Errorf("key %q; want the command line's %q", r.key, "k")
			}
		})
	}
}

// TestGeneratorSessions checks that a session's turns go out one at a time,
// in script order, and stop after the turn count.
func TestGeneratorSessions(t *testing.T) {
	g := newGenerator(mustWorkload(t, `
sessions:
  share: 1
  turns: 3
  history: client
  scripts: [[a1, a2, a3, a4], [b1, b2]]
queries: [{text: unused}]
`), "", "s", 3)
	seen := map[string][]string{}
	msgs := map[string][]int{}
	inFlight := map[string]bool{}
	var pending []*request
	for i := range 300 {
		r := g.next()
		id := r.sess.id
		if inFlight[id] {
			t.Fatalf("session %s handed out twice without done", id)
		}
		inFlight[id] = true
		seen[id] = append(seen[id], r.text)
		msgs[id] = append(msgs[id], len(decode(t, r.body)["messages"].([]any)))
		pending = append(pending, r)
		if i%3 == 2 { // answer a few at a time, oldest first
			for _, p := range pending {
				delete(inFlight, p.sess.id)
				g.done(p, "answer to "+p.text)
			}
			pending = nil
		}
	}
	full := 0
	for id, texts := range seen {
		want := []string{"a1", "a2", "a3"}
		if texts[0] == "b1" {
			want = []string{"b1", "b2"}
		}
		if len(texts) > len(want) || !cmp.Equal(texts, want[:len(texts)]) {
			t.Errorf("session %s sent %v; want a prefix of %v", id, texts, want)
		}
		if len(texts) == len(want) {
			full++
		}
		for k, n := range msgs[id] {
			if n != 1+2*k {
				t.Errorf("session %s turn %d had %d messages; want %d (client history)", id, k+1, n, 1+2*k)
			}
		}
	}
	if full < 50 {
		t.Errorf("%d sessions ran to the end; want most of them", full)
	}
}

func TestGeneratorUnique(t *testing.T) {
	w := mustWorkload(t, `
queries:
  - {text: "What is 2+2?", unique: true}
  - {paraphrases: [Hi, Hello]}
`)
	g := newGenerator(w, "", "s", 3)
	seen := map[string]bool{}
	numbered := 0
	for range 400 {
		body := decode(t, g.next().body)
		msgs := body["messages"].([]any)
		text := msgs[len(msgs)-1].(map[string]any)["content"].(string)
		switch {
		case text == "Hi" || text == "Hello":
		case strings.HasPrefix(text, "What is 2+2? #"):
			if seen[text] {
				t.Fatalf("unique text %q sent twice", text)
			}
			seen[text] = true
			numbered++
		default:
			t.Fatalf("unexpected text %q", text)
		}
	}
	if numbered < 160 || numbered > 240 { // half of 400, ±4 standard deviations
		t.Fatalf("%d numbered texts of 400 requests; want about 200", numbered)
	}
	// Another run (another prefix) numbers from elsewhere.
	g2 := newGenerator(w, "", "t", 3)
	for range 400 {
		body := decode(t, g2.next().body)
		msgs := body["messages"].([]any)
		if text := msgs[len(msgs)-1].(map[string]any)["content"].(string); seen[text] {
			t.Fatalf("a second run sent %q again", text)
		}
	}
}
