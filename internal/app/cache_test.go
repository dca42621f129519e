package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/testenv"
)

// TestRunbookCache is the runbook's week-8 check through the HTTP API.
func TestRunbookCache(t *testing.T) {
	base := gateway(t, simConfig, "TEST_KEY_A=key-a")
	ask := func(body string) (queryAnswer, string) {
		resp, b := post(t, base+"/api/cato/query", body, "Authorization", "Bearer key-a")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		return decode[queryAnswer](t, b), resp.Header.Get("X-Cato-Cache")
	}
	first, h1 := ask(`{"query": "What is Python?"}`)
	if first.Cached || h1 != "miss" {
		t.Fatalf("first question: cached %v, X-Cato-Cache %q; want a miss", first.Cached, h1)
	}
	second, h2 := ask(`{"query": "What is Python programming?"}`)
	if !second.Cached || h2 != "hit" {
		t.Fatalf("paraphrase: cached %v, X-Cato-Cache %q; want a hit", second.Cached, h2)
	}
	if second.Response != first.Response || second.CostUSD != 0 {
		t.Errorf("hit served %q at cost %v; want the first answer at no cost", second.Response, second.CostUSD)
	}
	other, h3 := ask(`{"query": "What is Java?"}`)
	if other.Cached || h3 != "miss" {
		t.Errorf("a different entity was served from cache (%q)", other.Response)
	}
	_, h4 := ask(`{"query": "What is Python?", "cache": false}`)
	if h4 != "bypass" {
		t.Errorf("cache: false gave X-Cato-Cache %q; want bypass", h4)
	}
}

// TestCacheNeverLeaksPersonalAnswers: a personal question answered in one
// session is never served to another, however similar.
func TestCacheNeverLeaksPersonalAnswers(t *testing.T) {
	base := gateway(t, simConfig, "TEST_KEY_A=key-a")
	chat := func(session, content string) (string, string) {
		resp, b := post(t, base+"/v1/chat/completions",
			`{"model":"auto","session_id":"`+session+`","messages":[{"role":"user","content":"`+content+`"}]}`,
			"Authorization", "Bearer key-a")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		return string(b), resp.Header.Get("X-Cato-Cache")
	}
	for _, q := range []string{"What is my name?", "what did I say above?", "Remind me what my password hint was"} {
		chat("alice", q)
		body, outcome := chat("bob", q)
		if outcome == "hit" || strings.Contains(body, `"cached":true`) {
			t.Errorf("%q asked in another session was served from cache", q)
		}
		if outcome != "bypass" {
			t.Errorf("%q: X-Cato-Cache %q; want bypass for a personal question", q, outcome)
		}
	}
}

// TestCacheSharedByReplicas: a second gateway sharing Redis hits an entry
// the first one wrote, within a second.
func TestCacheSharedByReplicas(t *testing.T) {
	url := testenv.RedisURL(t)
	a, _ := replica(t, url)
	b, _ := replica(t, url)
	ask := func(base, q string) (queryAnswer, string) {
		resp, body := post(t, base+"/api/cato/query", fmt.Sprintf(`{"query": %q}`, q), "Authorization", "Bearer key-a")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		return decode[queryAnswer](t, body), resp.Header.Get("X-Cato-Cache")
	}
	q := fmt.Sprintf("What is the tallest mountain in region %d?", time.Now().UnixNano()%100000)
	if _, outcome := ask(a, q); outcome != "miss" {
		t.Fatalf("first ask on replica a: %s; want miss", outcome)
	}
	// Only an ask begun past the second and still missing refutes "within
	// a second": one that a busy machine slowed down past it does not.
	start := time.Now()
	for {
		began := time.Now()
		ans, outcome := ask(b, q)
		if outcome == "hit" && ans.Cached {
			t.Logf("replica b hit replica a's entry after %v", time.Since(start))
			return
		}
		if began.Sub(start) > time.Second {
			t.Fatalf("replica b did not hit replica a's entry within a second (last: %s, asked %v after the write)", outcome, began.Sub(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCacheKeptAcrossRestart: on the embedded store, a gateway started on
// the file of one that stopped serves the entries the first one wrote.
func TestCacheKeptAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	ask := func(base, q string) (queryAnswer, string) {
		resp, body := post(t, base+"/api/cato/query", fmt.Sprintf(`{"query": %q}`, q), "Authorization", "Bearer key-a")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		return decode[queryAnswer](t, body), resp.Header.Get("X-Cato-Cache")
	}
	before, stop := replica(t, "embedded://"+dir)
	if _, outcome := ask(before, "What is the capital of Portugal?"); outcome != "miss" {
		t.Fatalf("first ask: %s; want miss", outcome)
	}
	stop()
	after, _ := replica(t, "embedded://"+dir)
	// The warm start runs in the background; wait for it before asking, so
	// that a miss cannot be turned into a hit by the ask itself.
	start := time.Now()
	for cacheEntries(t, after) == 0 {
		if time.Since(start) > 15*time.Second {
			t.Fatal("the restarted gateway holds no cache entry 15s after start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ans, outcome := ask(after, "What is the capital of Portugal?"); outcome != "hit" || !ans.Cached {
		t.Errorf("after a restart: X-Cato-Cache %q, cached %v; want a hit", outcome, ans.Cached)
	}
}

// cacheEntries returns the number of entries in the cache of the gateway at
// base, from /status.
func cacheEntries(t *testing.T, base string) int {
	t.Helper()
	return decode[struct {
		Cache struct {
			Entries int `json:"entries"`
		} `json:"cache"`
	}](t, adminGet(t, base+"/api/admin/cato/status")).Cache.Entries
}

func TestCachePurge(t *testing.T) {
	base := gateway(t, simConfig, "TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin")
	ask := func() string {
		resp, _ := post(t, base+"/api/cato/query", `{"query": "What is the speed of light?"}`, "Authorization", "Bearer key-a")
		return resp.Header.Get("X-Cato-Cache")
	}
	ask()
	if got := ask(); got != "hit" {
		t.Fatalf("second ask: %s; want hit", got)
	}
	resp, body := post(t, base+"/api/admin/cato/cache/purge", `{"tenant": "team-a"}`, "Authorization", "Bearer admin")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"purged":1`) {
		t.Fatalf("purge = %d %s; want one entry purged", resp.StatusCode, body)
	}
	if got := ask(); got != "miss" {
		t.Errorf("after the purge: %s; want miss", got)
	}
	if resp, _ := post(t, base+"/api/admin/cato/cache/purge", `{}`, "Authorization", "Bearer key-a"); resp.StatusCode != 403 {
		t.Errorf("purge with a client key = %d; want 403", resp.StatusCode)
	}
}

// TestCacheNeverServesNonTextContent: a request with an image, audio, a
// file or any other part that is not text is neither served from the cache
// nor stored in it, in whichever message the part is. The question text
// alone is the same each time, so a cache that looked at the text only
// would give the second image the first image's answer.
func TestCacheNeverServesNonTextContent(t *testing.T) {
	const question = "Describe the picture in one sentence."
	textPart := fmt.Sprintf(`{"type": "text", "text": %q}`, question)
	tests := []struct {
		name string
		// messages builds the request's messages around one non-text part.
		messages func(part string) string
		parts    [2]string // two different contents of the same kind
	}{
		{
			name:     "an image_url part",
			messages: userParts(textPart),
			parts: [2]string{
				`{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="}}`,
				`{"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}`,
			},
		},
		{
			name:     "an input_audio part",
			messages: userParts(textPart),
			parts: [2]string{
				`{"type": "input_audio", "input_audio": {"data": "UklGRiQAAABXQVZF", "format": "wav"}}`,
				`{"type": "input_audio", "input_audio": {"data": "SUQzBAAAAAAA", "format": "mp3"}}`,
			},
		},
		{
			name:     "a file part",
			messages: userParts(textPart),
			parts: [2]string{
				`{"type": "file", "file": {"file_id": "file-abc"}}`,
				`{"type": "file", "file": {"file_id": "file-xyz"}}`,
			},
		},
		{
			name:     "a part of a type Cato does not know",
			messages: userParts(textPart),
			parts:    [2]string{`{"type": "video_url", "video_url": {"url": "https://example.com/a.mp4"}}`, `{"type": "video_url", "video_url": {"url": "https://example.com/b.mp4"}}`},
		},
		{
			name: "an image_url part in the system message",
			messages: func(part string) string {
				if part != "" {
					part = ", " + part
				}
				return fmt.Sprintf(`[{"role": "system", "content": [{"type": "text", "text": "Answer in one sentence."}%s]}, {"role": "user", "content": %q}]`, part, question)
			},
			parts: [2]string{
				`{"type": "image_url", "image_url": {"url": "https://example.com/dog.jpg"}}`,
				`{"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := gateway(t, simConfig, "TEST_KEY_A=key-a")
			chat := func(messages string) string {
				t.Helper()
				resp, b := post(t, base+"/v1/chat/completions", `{"model": "auto", "messages": `+messages+`}`, "Authorization", "Bearer key-a")
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, b)
				}
				return resp.Header.Get("X-Cato-Cache")
			}
			for i, part := range tt.parts {
				if got := chat(tt.messages(part)); got != "bypass" {
					t.Errorf("request %d with %s: X-Cato-Cache %q; want bypass", i+1, tt.name, got)
				}
			}
			// Nothing was stored: the same question without the part is a
			// miss, not the answer about an image, and is then cached as
			// usual.
			for i, want := range []string{"miss", "hit"} {
				if got := chat(tt.messages("")); got != want {
					t.Errorf("the question without %s, ask %d: X-Cato-Cache %q; want %s", tt.name, i+1, got, want)
				}
			}
		})
	}
}

// userParts returns a messages builder of one user message whose content
// parts are text and then the part it is given, if any.
func userParts(text string) func(part string) string {
	return func(part string) string {
		if part == "" {
			return fmt.Sprintf(`[{"role": "user", "content": [%s]}]`, text)
		}
		return fmt.Sprintf(`[{"role": "user", "content": [%s, %s]}]`, text, part)
	}
}

// TestCacheSkipsLargeQuestions: a question over cache.max_entry_bytes is
// neither served from the cache nor stored, and is counted as too_large.
func TestCacheSkipsLargeQuestions(t *testing.T) {
	base := gateway(t, simConfig+"cache: {max_entry_bytes: 512}\n", "TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin")
	ask := func(q string) string {
		t.Helper()
		resp, body := post(t, base+"/api/cato/query", fmt.Sprintf(`{"query": %q}`, q), "Authorization", "Bearer key-a")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		return resp.Header.Get("X-Cato-Cache")
	}
	long := "What is Python? " + strings.Repeat("Python is a programming language. ", 16) // 560 bytes
	for i := range 2 {
		if got := ask(long); got != "bypass" {
			t.Errorf("a %d-byte question, ask %d: X-Cato-Cache %q; want bypass", len(long), i+1, got)
		}
	}
	if got := ask("What is Python?"); got != "miss" {
		t.Errorf("a short question: X-Cato-Cache %q; want miss", got)
	}
	st := decode[struct {
		Cache struct {
			Bypasses map[string]int `json:"bypasses_by_reason"`
		} `json:"cache"`
	}](t, adminGet(t, base+"/api/admin/cato/status"))
	if n := st.Cache.Bypasses["too_large"]; n != 2 {
		t.Errorf("bypasses_by_reason.too_large = %d; want 2", n)
	}
}

// TestDefaultConfigCachesParaphrases runs the configuration `make run`
// uses (no file, no environment) through the HTTP API: with the default
// embedder, a politely reworded question is served from the cache, a
// question about a related thing is not.
func TestDefaultConfigCachesParaphrases(t *testing.T) {
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Embeddings.Provider != "" || cfg.Cache.Threshold != 0 {
		t.Fatalf("default config sets embeddings.provider %q, cache.threshold %v; want both unset", cfg.Embeddings.Provider, cfg.Cache.Threshold)
	}
	cfg.Store = "embedded://" + t.TempDir()
	a, err := New(context.Background(), cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		a.close()
	})
	ask := func(q string) (queryAnswer, string) {
		t.Helper()
		resp, b := post(t, srv.URL+"/api/cato/query", fmt.Sprintf(`{"query": %q}`, q))
		if resp.StatusCode != 200 {
			t.Fatalf("%q: status %d: %s", q, resp.StatusCode, b)
		}
		return decode[queryAnswer](t, b), resp.Header.Get("X-Cato-Cache")
	}
	first, h := ask("What is Kafka?")
	if first.Cached || h != "miss" {
		t.Fatalf("first question: cached %v, X-Cato-Cache %q; want a miss", first.Cached, h)
	}
	polite, h := ask("Can you tell me what Kafka is?")
	if !polite.Cached || h != "hit" || polite.Response != first.Response {
		t.Errorf("polite rewording: cached %v, X-Cato-Cache %q; want a hit with the first answer", polite.Cached, h)
	}
	other, h := ask("What is RabbitMQ?")
	if other.Cached || h != "miss" {
		t.Errorf("related question: cached %v, X-Cato-Cache %q; want a miss", other.Cached, h)
	}
}
