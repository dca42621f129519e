package session_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/session"
)

var sharedTokenizer = sync.OnceValue(func() *session.Tokenizer {
	tok, err := session.NewTokenizer()
	if err != nil {
		panic(err)
	}
	return tok
})

// summarizerFunc adapts a function to session.Summarizer.
type summarizerFunc func(ctx context.Context, summary string, turns []session.Turn) (string, error)

func (f summarizerFunc) Summarize(ctx context.Context, summary string, turns []session.Turn) (string, error) {
	return f(ctx, summary, turns)
}

// countingStore counts the calls that reach the store.
type countingStore struct {
	session.Store
	calls atomic.Int64
}

func (c *countingStore) Load(ctx context.Context, k session.Key) (*session.Session, error) {
	c.calls.Add(1)
	return c.Store.Load(ctx, k)
}

// hangingStore never answers before the context ends, like a store behind
// a dropped network.
type hangingStore struct{ session.Store }

func (hangingStore) Load(ctx context.Context, k session.Key) (*session.Session, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func newMemory(t *testing.T, store session.Store, o session.MemoryOptions) *session.Memory {
	t.Helper()
	o.Tokenizer = sharedTokenizer()
	m, err := session.NewMemory(store, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestMemoryRemembers(t *testing.T) {
	ctx := context.Background()
	m := newMemory(t, newMemStore(session.StoreOptions{}), session.MemoryOptions{})
	k := session.Key{Tenant: "acme", ID: "s1"}
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "My name is Alice."}}}
	msgs, _, err := m.Context(ctx, k, req)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Context of a new session = %v, %v; want the request unchanged", msgs, err)
	}
	if err := m.Record(ctx, k, session.Exchange{Question: "My name is Alice.", Answer: "Nice to meet you, Alice.", Model: "bedrock_haiku"}); err != nil {
		t.Fatal(err)
	}
	req = &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "What is my name?"}}}
	msgs, added, err := m.Context(ctx, k, req)
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Message{
		{Role: llm.RoleUser, Content: "My name is Alice."},
		{Role: llm.RoleAssistant, Content: "Nice to meet you, Alice."},
		{Role: llm.RoleUser, Content: "What is my name?"},
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("Context (-want +got):\n%s", diff)
	}
	if added.Turns != 2 {
		t.Errorf("added = %+v; want 2 turns", added)
	}
	// Another tenant using the same session id sees nothing.
	msgs, _, err = m.Context(ctx, session.Key{Tenant: "other", ID: "s1"}, req)
	if err != nil || len(msgs) != 1 {
		t.Errorf("Context for another tenant = %v, %v; want the request unchanged", msgs, err)
	}
	s, err := m.Session(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Turns) != 2 || s.Turns[1].Model != "bedrock_haiku" || s.Turns[0].Tokens != 5 {
		t.Errorf("Session = %+v", s)
	}
	if err := m.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Session(ctx, k); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Session after Delete: %v; want ErrNotFound", err)
	}
}

func TestMemoryWithoutSession(t *testing.T) {
	m := newMemory(t, newMemStore(session.StoreOptions{}), session.MemoryOptions{})
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}
	msgs, _, err := m.Context(context.Background(), session.Key{Tenant: "acme"}, req)
	if err != nil || len(msgs) != 1 {
		t.Errorf("Context without session id = %v, %v; want the request", msgs, err)
	}
	err = m.Record(context.Background(), session.Key{Tenant: "acme"}, session.Exchange{Question: "hi"})
	if !errors.Is(err, session.ErrInvalidKey) {
		t.Errorf("Record without session id: %v; want ErrInvalidKey", err)
	}
}

// TestMemoryStoreDown checks that a failing store makes calls fail fast,
// that Cato stops calling it for RetryAfter, and recovers by itself.
func TestMemoryStoreDown(t *testing.T) {
	ctx := context.Background()
	var now atomic.Pointer[time.Time]
	t0 := time.Now()
	now.Store(&t0)
	clock := func() time.Time { return *now.Load() }
	mem := newMemStore(session.StoreOptions{})
	store := &countingStore{Store: mem}
	m := newMemory(t, store, session.MemoryOptions{Now: clock, RetryAfter: time.Second})
	k := session.Key{Tenant: "acme", ID: "s"}
	if err := m.Record(ctx, k, session.Exchange{Question: "q1", Answer: "a1"}); err != nil {
		t.Fatal(err)
	}
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "q2"}}}

	mem.setFail(errors.New("connection refused"))
	msgs, _, err := m.Context(ctx, k, req)
	if !errors.Is(err, session.ErrUnavailable) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Context with the store down: error = %v; want ErrUnavailable wrapping the cause", err)
	}
	if len(msgs) != 1 {
		t.Errorf("Context with the store down returned %d messages; want the request's", len(msgs))
	}
	if m.Healthy() {
		t.Error("Healthy() = true after a failure")
	}
	before := store.calls.Load()
	for range 10 {
		if _, _, err := m.Context(ctx, k, req); !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("Context within RetryAfter: %v; want ErrUnavailable", err)
		}
	}
	if n := store.calls.Load() - before; n != 0 {
		t.Errorf("%d calls reached the store within RetryAfter; want 0", n)
	}

	t1 := t0.Add(1500 * time.Millisecond)
	now.Store(&t1)
	if _, _, err := m.Context(ctx, k, req); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("probe of a store still down: %v; want ErrUnavailable", err)
	}
	if n := store.calls.Load() - before; n != 1 {
		t.Errorf("%d calls reached the store after RetryAfter; want 1 probe", n)
	}

	mem.setFail(nil)
	t2 := t1.Add(1500 * time.Millisecond)
	now.Store(&t2)
	msgs, _, err = m.Context(ctx, k, req)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("Context after the store came back = %d messages, %v; want 3, nil", len(msgs), err)
	}
	if !m.Healthy() {
		t.Error("Healthy() = false after recovery")
	}
}

// TestMemoryStoreHangs checks that a store that does not answer costs a
// request at most Timeout.
func TestMemoryStoreHangs(t *testing.T) {
	tok := sharedTokenizer()
	synctest.Test(t, func(t *testing.T) {
		m, err := session.NewMemory(hangingStore{newMemStore(session.StoreOptions{})},
			session.MemoryOptions{Timeout: 300 * time.Millisecond, Tokenizer: tok})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		start := time.Now()
		req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "q"}}}
		_, _, err = m.Context(context.Background(), session.Key{ID: "s"}, req)
		if !errors.Is(err, session.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Context with a hanging store: %v; want ErrUnavailable and DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 300*time.Millisecond {
			t.Errorf("Context took %v; want the 300ms timeout", d)
		}
		// The caller giving up says nothing about the store.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		m2, _ := session.NewMemory(hangingStore{newMemStore(session.StoreOptions{})}, session.MemoryOptions{Tokenizer: tok})
		defer m2.Close()
		if _, _, err := m2.Context(ctx, session.Key{ID: "s"}, req); !errors.Is(err, context.Canceled) || errors.Is(err, session.ErrUnavailable) {
			t.Errorf("Context with a cancelled request: %v; want Canceled, not ErrUnavailable", err)
		}
		if !m2.Healthy() {
			t.Error("Healthy() = false after the caller cancelled")
		}
	})
}

func exchange(i int) session.Exchange {
	return session.Exchange{
		Question: fmt.Sprintf("question %d: one two three four five six seven eight", i),
		Answer:   fmt.Sprintf("answer %d: one two three four five six seven eight", i),
		Model:    "m",
	}
}

// TestMemoryFolds checks that old turns are folded into the summary in the
// background once they outgrow the budget, and that none is lost.
func TestMemoryFolds(t *testing.T) {
	tok := sharedTokenizer()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store := newMemStore(session.StoreOptions{})
		var mu sync.Mutex
		var folded []string // contents of every turn summarised
		sum := summarizerFunc(func(ctx context.Context, summary string, turns []session.Turn) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, t := range turns {
				folded = append(folded, t.Content)
			}
			return fmt.Sprintf("%s[%d turns]", summary, len(turns)), nil
		})
		// Each turn costs 14 tokens with its overhead: a pair 28.
		m, err := session.NewMemory(store, session.MemoryOptions{ContextTokens: 100, Summarizer: sum, Tokenizer: tok})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		k := session.Key{Tenant: "acme", ID: "long"}
		const exchanges = 10
		for i := range exchanges {
			if err := m.Record(ctx, k, exchange(i)); err != nil {
				t.Fatal(err)
			}
			synctest.Wait() // let the worker fold, if it must
		}
		s, err := m.Session(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if s.Summary == "" || s.SummaryThrough == 0 {
			t.Fatalf("nothing folded: %+v", s)
		}
		var all []string
		all = append(all, folded...)
		for _, tu := range s.Turns {
			all = append(all, tu.Content)
		}
		var want []string
		for i := range exchanges {
			want = append(want, exchange(i).Question, exchange(i).Answer)
		}
		if diff := cmp.Diff(want, all); diff != "" {
			t.Errorf("folded + stored turns (-want +got):\n%s", diff)
		}
		req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "next"}}}
		msgs, added, err := m.Context(ctx, k, req)
		if err != nil {
			t.Fatal(err)
		}
		if !added.Summary || !strings.Contains(msgs[0].Content, s.Summary) {
			t.Errorf("Context = %v; want the summary first", msgs)
		}
	})
}

// TestMemoryCloseAbandonsFold checks that Close stops a fold in progress
// and waits for the worker, and that the turns stay stored.
func TestMemoryCloseAbandonsFold(t *testing.T) {
	defer goleak.VerifyNone(t)
	started := make(chan struct{})
	var once sync.Once
	sum := summarizerFunc(func(ctx context.Context, summary string, turns []session.Turn) (string, error) {
		once.Do(func() { close(started) })
		<-ctx.Done()
		return "", ctx.Err()
	})
	store := newMemStore(session.StoreOptions{})
	m, err := session.NewMemory(store, session.MemoryOptions{ContextTokens: 50, Summarizer: sum, Tokenizer: sharedTokenizer()})
	if err != nil {
		t.Fatal(err)
	}
	k := session.Key{ID: "s"}
	for i := range 3 {
		if err := m.Record(context.Background(), k, exchange(i)); err != nil {
			t.Fatal(err)
		}
	}
	<-started
	m.Close()
	s, err := store.Load(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Turns) != 6 || s.Summary != "" {
		t.Errorf("after Close: %d turns, summary %q; want all 6 and none", len(s.Turns), s.Summary)
	}
}

func TestMemoryRecordCleansText(t *testing.T) {
	store := newMemStore(session.StoreOptions{})
	m := newMemory(t, store, session.MemoryOptions{})
	k := session.Key{ID: "s"}
	if err := m.Record(context.Background(), k, session.Exchange{Question: "a\x00b\xffc", Answer: "ok"}); err != nil {
		t.Fatal(err)
	}
	s, err := store.Load(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Turns[0].Content; got != "a\uFFFDb\uFFFDc" {
		t.Errorf("stored %q; want NUL and the bad byte replaced", got)
	}
}

func TestMemoryObserve(t *testing.T) {
	var mu sync.Mutex
	var calls []session.StoreCall
	store := newMemStore(session.StoreOptions{})
	m := newMemory(t, store, session.MemoryOptions{Observe: func(c session.StoreCall) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, c)
	}})
	ctx := context.Background()
	k := session.Key{ID: "s"}
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "q"}}}
	m.Context(ctx, k, req)
	m.Record(ctx, k, session.Exchange{Question: "q", Answer: "a"})
	store.setFail(errors.New("down"))
	m.Context(ctx, k, req)
	m.Context(ctx, k, req)
	mu.Lock()
	defer mu.Unlock()
	var ops []string
	for _, c := range calls {
		ops = append(ops, fmt.Sprintf("%s:%v", c.Op, c.Err != nil))
	}
	want := []string{"load:true", "append:false", "load:true", "load:true"}
	if diff := cmp.Diff(want, ops); diff != "" {
		t.Errorf("observed calls (-want +got):\n%s", diff)
	}
	if !errors.Is(calls[0].Err, session.ErrNotFound) {
		t.Errorf("first load: %v; want ErrNotFound", calls[0].Err)
	}
	if calls[3].Duration != 0 || !errors.Is(calls[3].Err, session.ErrUnavailable) {
		t.Errorf("refused call = %+v; want ErrUnavailable without a duration", calls[3])
	}
}
