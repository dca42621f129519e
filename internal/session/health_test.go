package session_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/session"
)

// logRecorder keeps the message and "err" attribute of every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	line := rec.Level.String() + " " + rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			line += ": " + a.Value.String()
		}
		return true
	})
	r.mu.Lock()
	r.recs = append(r.recs, line)
	r.mu.Unlock()
	return nil
}

// TestMemoryStoreDownIsLogged checks that a store going down is logged
// once, with its cause, however many calls then fail, and that its return
// is logged.
func TestMemoryStoreDownIsLogged(t *testing.T) {
	ctx := context.Background()
	var now atomic.Pointer[time.Time]
	t0 := time.Now()
	now.Store(&t0)
	mem := newMemStore(session.StoreOptions{})
	var rec logRecorder
	m := newMemory(t, mem, session.MemoryOptions{Now: func() time.Time { return *now.Load() }, RetryAfter: time.Second, Log: slog.New(&rec)})
	k := session.Key{Tenant: "acme", ID: "s"}
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "q"}}}

	mem.setFail(errors.New("connection refused"))
	for range 3 {
		if _, _, err := m.Context(ctx, k, req); !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("Context with the store down: %v; want ErrUnavailable", err)
		}
	}
	t1 := t0.Add(2 * time.Second)
	now.Store(&t1)
	if _, _, err := m.Context(ctx, k, req); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("probe of a store still down: %v; want ErrUnavailable", err)
	}
	mem.setFail(nil)
	t2 := t1.Add(2 * time.Second)
	now.Store(&t2)
	if _, _, err := m.Context(ctx, k, req); err != nil {
		t.Fatalf("Context after the store came back: %v", err)
	}
	want := []string{
		"WARN session store failed; going on without working memory: connection refused",
		"INFO session store is back",
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if diff := cmp.Diff(want, rec.recs); diff != "" {
		t.Errorf("log mismatch (-want +got):\n%s", diff)
	}
}
