package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
)

// Summarizer folds turns into a running summary; ModelSummarizer asks the
// cheap model (config session.summary_model). It must be safe for
// concurrent use.
type Summarizer interface {
	// Summarize returns a summary of the conversation so far: summary (the
	// previous one, "" at first) followed by turns.
	Summarize(ctx context.Context, summary string, turns []Turn) (string, error)
}

// MemoryOptions configure a Memory. The zero value is valid.
type MemoryOptions struct {
	// ContextTokens is the token budget of what Context adds to a prompt
	// (config session.context_tokens). Zero means 2000.
	ContextTokens int
	// Summarizer folds old turns into the summary once a session's turns
	// outgrow ContextTokens. Nil disables folding: older turns stay stored
	// until the session expires, and only the newest that fit are sent.
	Summarizer Summarizer
	// Tokenizer counts tokens. Nil loads one (see NewTokenizer).
	Tokenizer *Tokenizer
	// Timeout bounds each store call, so that a store that is down costs a
	// request at most this much. Zero means 500ms.
	Timeout time.Duration
	// RetryAfter is how long after a store failure calls fail at once with
	// ErrUnavailable; then one call at a time probes the store until it
	// answers. Zero means 1s.
	RetryAfter time.Duration
	// SummarizeTimeout bounds one Summarize call. Zero means 60s.
	SummarizeTimeout time.Duration
	// FoldQueue is how many sessions may wait to be folded; more are
	// dropped and folded after their next turn. Zero means 1024.
	FoldQueue int
	// SweepEvery is how often expired sessions are deleted when the store
	// is a Sweeper. Zero means 10m.
	SweepEvery time.Duration
	// Observe is called after each store call (metrics: latency, errors).
	// It must be fast and safe for concurrent use. Nil means none.
	Observe func(StoreCall)
	// Log receives store failures and folding errors. Nil discards them.
	Log *slog.Logger
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

func (o MemoryOptions) withDefaults() MemoryOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.ContextTokens <= 0 {
		o.ContextTokens = 2000
	}
	def(&o.Timeout, 500*time.Millisecond)
	def(&o.RetryAfter, time.Second)
	def(&o.SummarizeTimeout, 60*time.Second)
	def(&o.SweepEvery, 10*time.Minute)
	if o.FoldQueue <= 0 {
		o.FoldQueue = 1024
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Observe == nil {
		o.Observe = func(StoreCall) {}
	}
	return o
}

// Memory is working memory: it adds a session's context to a request before
// the call (Context), records the exchange after it (Record), and folds old
// turns into the summary in the background. Store failures make calls fail
// fast with ErrUnavailable and Healthy report false until the store
// answers again. A Memory is safe for concurrent use; Close stops its
// background work.
type Memory struct {
	store *guarded
	raw   Store
	opts  MemoryOptions
	tok   *Tokenizer

	queue  chan Key
	mu     sync.Mutex // guards queued
	queued map[Key]bool

	cancel context.CancelFunc
	done   chan struct{}
}

// NewMemory returns a Memory over store and starts its background worker,
// which Close stops.
func NewMemory(store Store, o MemoryOptions) (*Memory, error) {
	o = o.withDefaults()
	tok := o.Tokenizer
	if tok == nil {
		var err error
		if tok, err = NewTokenizer(); err != nil {
			return nil, err
		}
	}
	m := &Memory{
		store: newGuarded(store, o),
		raw:   store,
		opts:  o,
		tok:   tok,
		queue: make(chan Key, o.FoldQueue),

		queued: make(map[Key]bool),
		done:   make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go m.run(ctx)
	return m, nil
}

// Close stops folding and sweeping and waits for the worker to exit. A fold
// in progress is abandoned, which loses nothing: its turns stay stored and
// are folded after a later turn. Close does not close the store.
func (m *Memory) Close() error {
	m.cancel()
	<-m.done
	return nil
}

// Healthy reports whether the store answered the last call made to it.
func (m *Memory) Healthy() bool { return m.store.healthy() }

// Context returns the messages to send for req in session k: req.Messages
// with the session's summary and recent turns added within ContextTokens,
// following the rule in docs/sessions.md (a client that sends its own
// history does not get it twice). An empty k.ID means no session: it returns
// req.Messages. On error (ErrInvalidKey, or ErrUnavailable when the store is
// down) it also returns req.Messages, so the caller can go on without memory.
func (m *Memory) Context(ctx context.Context, k Key, req *llm.Request) ([]llm.Message, Added, error) {
	if k.ID == "" {
		return req.Messages, Added{}, nil
	}
	if err := k.Validate(); err != nil {
		return req.Messages, Added{}, err
	}
	s, err := m.store.Load(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return req.Messages, Added{}, nil
	}
	if err != nil {
		return req.Messages, Added{}, fmt.Errorf("loading session %s: %w", k, err)
	}
	msgs, added := withContext(s, req.Messages, m.opts.ContextTokens, m.tok)
	return msgs, added, nil
}

// Exchange is one question and its answer.
type Exchange struct {
	// Question is the user's message that was answered (the request's last
	// user message). Empty means none is recorded.
	Question string
	// Answer is the assistant's answer. Empty means none is recorded.
	Answer string
	// Model is the model that answered.
	Model string
	// At is when the question was asked. Zero means now.
	At time.Time
}

// Record appends the exchange to session k (created if new) and, when the
// session has outgrown the budget, schedules folding. NUL bytes and invalid
// UTF-8 in the texts are stored as U+FFFD. It returns
// ErrUnavailable when the store is down; the answer can still be sent.
func (m *Memory) Record(ctx context.Context, k Key, ex Exchange) error {
	if err := k.Validate(); err != nil {
		return err
	}
	at := ex.At
	if at.IsZero() {
		at = m.opts.Now()
	}
	// Every backend stores text: PostgreSQL rejects NUL and invalid UTF-8,
	// and a client's bad byte must not read as a store failure.
	ex.Question, ex.Answer = cleanText(ex.Question), cleanText(ex.Answer)
	var turns []Turn
	if ex.Question != "" {
		turns = append(turns, Turn{Role: llm.RoleUser, Content: ex.Question, Tokens: m.tok.Count(ex.Question), At: at})
	}
	if ex.Answer != "" {
		turns = append(turns, Turn{Role: llm.RoleAssistant, Content: ex.Answer, Model: ex.Model, Tokens: m.tok.Count(ex.Answer), At: m.opts.Now()})
	}
	if len(turns) == 0 {
		return nil
	}
	if err := m.store.Append(ctx, k, turns...); err != nil {
		return fmt.Errorf("recording turns of session %s: %w", k, err)
	}
	if m.opts.Summarizer != nil {
		m.enqueue(k)
	}
	return nil
}

// cleanText replaces NUL bytes and invalid UTF-8 with U+FFFD.
func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Session returns session k (GET /api/cato/sessions/{id}), or ErrNotFound.
func (m *Memory) Session(ctx context.Context, k Key) (*Session, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	s, err := m.store.Load(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("loading session %s: %w", k, err)
	}
	return s, nil
}

// Delete forgets session k. Deleting a missing session is not an error.
func (m *Memory) Delete(ctx context.Context, k Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if err := m.store.Delete(ctx, k); err != nil {
		return fmt.Errorf("deleting session %s: %w", k, err)
	}
	return nil
}
