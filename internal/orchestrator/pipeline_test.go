package orchestrator

import (
	"context"
	"errors"
	"io"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/metrics"
	"github.com/cato-gateway/cato/internal/session"
)

// outcome is what a client learns of one answer, streamed or not.
type outcome struct {
	Text         string
	Model        string
	Cached       bool
	FallbackUsed bool
	CacheOutcome string
	Rule         string
	CostUSD      float64
	Degraded     []string
}

// ask answers q with Answer, or with Stream read to the end and closed.
func ask(o *Orchestrator, q *Query, stream bool) (outcome, error) {
	ctx := context.Background()
	if !stream {
		a, err := o.Answer(ctx, q)
		if err != nil {
			return outcome{}, err
		}
		return outcome{a.Response.Message.Content, a.Model, a.Cached, a.FallbackUsed, a.CacheOutcome, a.Routing.Rule, a.CostUSD, a.Degraded}, nil
	}
	sa, err := o.Stream(ctx, q)
	if err != nil {
		return outcome{}, err
	}
	var text string
	for {
		c, err := sa.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			sa.Close()
			return outcome{}, err
		}
		text += c.Content
	}
	if err := sa.Close(); err != nil {
		return outcome{}, err
	}
	return outcome{text, sa.Model, sa.Cached, sa.FallbackUsed, sa.CacheOutcome, sa.Routing.Rule, sa.CostUSD(), sa.Degraded}, nil
}

// fallbacks returns how many answers of to stood in for from.
func fallbacks(t *testing.T, m *metrics.Metrics, from, to string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "cato_fallbacks_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["from"] == from && labels["to"] == to {
				return s.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func question(model string) *llm.Request {
	return &llm.Request{Model: model, Messages: []llm.Message{{Role: llm.RoleUser, Content: "What is Python?"}}}
}

func off() *bool { f := false; return &f }

// TestPipeline runs each case through Answer and through Stream: both take
// the same steps (prepare, answer, finish), so a client sees the same
// outcome and Cato keeps the same state either way.
func TestPipeline(t *testing.T) {
	hit := &cache.Entry{ID: "e1", Answer: "cached answer", Model: "m-cached", Usage: fakeUsage}
	tests := []struct {
		name    string
		q       Query // Request defaults to question(Auto)
		hit     *cache.Entry
		memory  fakeMemory
		fails   map[string]bool
		want    outcome
		wantErr error
		// State Cato keeps.
		wantPuts    []cache.Answer
		wantRecords []session.Exchange
		wantSent    int // messages in the request sent to the model; 0: no call
		wantLookups int
		wantCalls   map[string]int // answered calls per model
		wantErrors  map[string]int // failed calls per model
		wantFallbk  float64        // fallbacks counted from m to m2
	}{
		{
			name:     "cache miss: the model answers and the answer is stored",
			want:     outcome{Text: "ok", Model: "m", CacheOutcome: "miss", Rule: "fixed", CostUSD: 0.02},
			wantPuts: []cache.Answer{{Text: "ok", Model: "m", Usage: fakeUsage}}, wantSent: 1, wantLookups: 1,
			wantCalls: map[string]int{"m": 1},
		},
		{
			name: "cache hit: no model is called and the turn is still saved",
			q:    Query{SessionID: "s-1"}, hit: hit,
			want:        outcome{Text: "cached answer", Model: "m-cached", Cached: true, CacheOutcome: "hit", Rule: "cache"},
			wantRecords: []session.Exchange{{Question: "What is Python?", Answer: "cached answer", Model: "m-cached"}},
			wantLookups: 1,
		},
		{
			name: "bypass: the client turned the cache off",
			q:    Query{Cache: off()}, hit: hit,
			want:     outcome{Text: "ok", Model: "m", CacheOutcome: "bypass", Rule: "fixed", CostUSD: 0.02},
			wantSent: 1, wantLookups: 1, wantCalls: map[string]int{"m": 1},
		},
		{
			name: "session context goes into the prompt and keeps the cache away",
			q:    Query{SessionID: "s-1"}, hit: hit, memory: fakeMemory{added: session.Added{Turns: 2}},
			want:        outcome{Text: "ok", Model: "m", CacheOutcome: "bypass", Rule: "fixed", CostUSD: 0.02},
			wantRecords: []session.Exchange{{Question: "What is Python?", Answer: "ok", Model: "m"}},
			wantSent:    3, wantLookups: 1, wantCalls: map[string]int{"m": 1},
		},
		{
			name: "memory off: the session is neither read nor written",
			q:    Query{SessionID: "s-1", Memory: off()}, memory: fakeMemory{added: session.Added{Turns: 2}},
			want:     outcome{Text: "ok", Model: "m", CacheOutcome: "miss", Rule: "fixed", CostUSD: 0.02},
			wantPuts: []cache.Answer{{Text: "ok", Model: "m", Usage: fakeUsage}}, wantSent: 1, wantLookups: 1,
			wantCalls: map[string]int{"m": 1},
		},
		{
			name: "a session store that is down degrades the answer",
			q:    Query{SessionID: "s-1"}, memory: fakeMemory{err: session.ErrUnavailable},
			want:     outcome{Text: "ok", Model: "m", CacheOutcome: "miss", Rule: "fixed", CostUSD: 0.02, Degraded: []string{"session_store", "session_store"}},
			wantPuts: []cache.Answer{{Text: "ok", Model: "m", Usage: fakeUsage}}, wantSent: 1, wantLookups: 1,
			wantCalls: map[string]int{"m": 1},
		},
		{
			name: "a shadow request leaves nothing behind",
			q:    Query{SessionID: "s-1", Shadow: true}, hit: hit, memory: fakeMemory{added: session.Added{Turns: 2}},
			want:     outcome{Text: "ok", Model: "m", CacheOutcome: "bypass", Rule: "fixed", CostUSD: 0.02},
			wantSent: 1, wantLookups: 1, wantCalls: map[string]int{"m": 1},
		},
		{
			name:     "fallback: the next model answers and the answer is stored as its",
			fails:    map[string]bool{"m": true},
			want:     outcome{Text: "ok", Model: "m2", FallbackUsed: true, CacheOutcome: "miss", Rule: "fixed", CostUSD: 0.02},
			wantPuts: []cache.Answer{{Text: "ok", Model: "m2", Usage: fakeUsage}}, wantSent: 1, wantLookups: 1,
			wantCalls: map[string]int{"m2": 1}, wantErrors: map[string]int{"m": 1}, wantFallbk: 1,
		},
		{
			name:  "every model fails",
			q:     Query{SessionID: "s-1"},
			fails: map[string]bool{"m": true, "m2": true}, wantErr: errModelDown,
			wantSent: 1, wantLookups: 1, wantErrors: map[string]int{"m": 1, "m2": 1},
		},
		{
			name:     "the client names a model",
			q:        Query{Request: question("m2")},
			want:     outcome{Text: "ok", Model: "m2", CacheOutcome: "miss", Rule: "requested", CostUSD: 0.02},
			wantPuts: []cache.Answer{{Text: "ok", Model: "m2", Usage: fakeUsage}}, wantSent: 1, wantLookups: 1,
			wantCalls: map[string]int{"m2": 1},
		},
		{
			name: "an unknown model is refused before the cache is asked",
			q:    Query{Request: question("nope")}, wantErr: ErrModelNotFound,
		},
		{
			name: "an invalid session id is refused",
			q:    Query{SessionID: "bad"}, memory: fakeMemory{err: session.ErrInvalidKey}, wantErr: ErrInvalidSession,
		},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				c := &fakeCache{hit: tt.hit}
				mem := tt.memory
				caller := &fakeCaller{fails: tt.fails}
				m := metrics.New()
				o := New(Options{
					Models: []string{"m", "m2"}, Caller: caller, Router: fixedRouter{}, Cache: c, Sessions: &mem, Metrics: m,
					Fallbacks: map[string][]string{},
					Cost:      func(_ string, u llm.Usage) float64 { return float64(u.CompletionTokens) / 100 },
				})
				q := tt.q
				q.Tenant = "t"
				if q.Request == nil {
					q.Request = question(Auto)
				}
				got, err := ask(o, &q, stream)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("got error %v; want %v", err, tt.wantErr)
					}
				} else if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("outcome mismatch (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.wantPuts, c.puts); diff != "" {
					t.Errorf("cache puts mismatch (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.wantRecords, mem.records); diff != "" {
					t.Errorf("session records mismatch (-want +got):\n%s", diff)
				}
				if len(c.lookups) != tt.wantLookups {
					t.Errorf("cache lookups = %d; want %d", len(c.lookups), tt.wantLookups)
				}
				sent := 0
				if len(caller.reqs) > 0 {
					sent = len(caller.reqs[0].Messages)
				}
				if sent != tt.wantSent || len(caller.reqs) > 1 {
					t.Errorf("sent %d calls, the first with %d messages; want at most one, with %d", len(caller.reqs), sent, tt.wantSent)
				}
				if len(q.Request.Messages) != 1 {
					t.Errorf("the query's request now has %d messages; want it untouched", len(q.Request.Messages))
				}
				usage := m.Book.Usage()
				for _, model := range []string{"m", "m2", "m-cached"} {
					if got := int(usage[model].Requests); got != tt.wantCalls[model] {
						t.Errorf("answered calls of %s = %d; want %d", model, got, tt.wantCalls[model])
					}
					if got := int(usage[model].Errors); got != tt.wantErrors[model] {
						t.Errorf("failed calls of %s = %d; want %d", model, got, tt.wantErrors[model])
					}
				}
				if got := fallbacks(t, m, "m", "m2"); got != tt.wantFallbk {
					t.Errorf("fallbacks m→m2 = %v; want %v", got, tt.wantFallbk)
				}
			})
		}
	}
}

// TestStreamCutShort checks finish for a stream that did not complete: a
// model that breaks off counts as its failure, a client that goes away
// does not, and neither is saved to the session or the cache.
func TestStreamCutShort(t *testing.T) {
	tests := []struct {
		name       string
		breakErr   error
		cancel     bool // the client goes away after the first chunk
		wantErrors int
	}{
		{"the model breaks off", syscall.ECONNRESET, false, 1},
		{"the client goes away", nil, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mem, m := &fakeCache{}, &fakeMemory{}, metrics.New()
			o := New(Options{Models: []string{"m", "m2"}, Caller: &fakeCaller{breakErr: tt.breakErr}, Router: fixedRouter{}, Cache: c, Sessions: mem, Metrics: m})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sa, err := o.Stream(ctx, &Query{Tenant: "t", SessionID: "s-1", Request: question(Auto)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sa.Next(); err != nil {
				t.Fatalf("first chunk: %v", err)
			}
			if tt.cancel {
				cancel()
			} else if _, err := sa.Next(); !errors.Is(err, tt.breakErr) {
				t.Fatalf("second Next() = %v; want %v", err, tt.breakErr)
			}
			sa.Close()
			if len(c.puts) != 0 || len(mem.records) != 0 {
				t.Errorf("a cut-short stream left %d cache puts and %d session records; want none", len(c.puts), len(mem.records))
			}
			u := m.Book.Usage()["m"]
			if u.Requests != 0 || int(u.Errors) != tt.wantErrors {
				t.Errorf("calls of m: %d answered, %d failed; want 0 and %d", u.Requests, u.Errors, tt.wantErrors)
			}
		})
	}
}

// TestStreamKeepsTheFirstChoice: a stream of several choices (n > 1) is
// remembered by its first: its text, finish reason and tool calls.
func TestStreamKeepsTheFirstChoice(t *testing.T) {
	u := fakeUsage
	caller := &fakeCaller{chunks: []llm.Chunk{
		{Index: 0, Role: llm.RoleAssistant, Content: "He"}, {Index: 1, Role: llm.RoleAssistant, Content: "Ta"},
		{Index: 1, Content: "ils", ToolCalls: []llm.ToolCallDelta{{ID: "c"}}}, {Index: 0, Content: "ads"},
		{Index: 1, FinishReason: llm.FinishToolCalls}, {Index: 0, FinishReason: llm.FinishStop}, {Usage: &u},
	}}
	mem := &fakeMemory{}
	o := New(Options{Models: []string{"m", "m2"}, Caller: caller, Router: fixedRouter{}, Sessions: mem})
	sa, err := o.Stream(context.Background(), &Query{Tenant: "t", SessionID: "s-1", Request: question(Auto)})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := sa.Next(); err != nil {
			break
		}
	}
	sa.Close()
	if got := sa.Text(); got != "Heads" {
		t.Errorf("Text() = %q; want the first choice's Heads", got)
	}
	if len(mem.records) != 1 || mem.records[0].Answer != "Heads" {
		t.Errorf("session records = %+v; want the first choice's answer", mem.records)
	}
}
