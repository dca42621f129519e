package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/router"
	"github.com/cato-gateway/cato/internal/session"
)

// fakeMemory adds what added says to every request and keeps the exchanges
// it is told to record. err, when set, fails Context and Record.
type fakeMemory struct {
	added   session.Added
	err     error
	records []session.Exchange
}

func (m *fakeMemory) Context(_ context.Context, _ session.Key, req *llm.Request) ([]llm.Message, session.Added, error) {
	if m.err != nil {
		return req.Messages, session.Added{}, m.err
	}
	msgs := req.Messages
	if m.added.Turns > 0 {
		msgs = append([]llm.Message{{Role: llm.RoleUser, Content: "earlier"}, {Role: llm.RoleAssistant, Content: "reply"}}, msgs...)
	}
	return msgs, m.added, nil
}

func (m *fakeMemory) Record(_ context.Context, _ session.Key, ex session.Exchange) error {
	if m.err != nil {
		return m.err
	}
	m.records = append(m.records, ex)
	return nil
}

func (*fakeMemory) Session(context.Context, session.Key) (*session.Session, error) {
	return nil, session.ErrNotFound
}
func (*fakeMemory) Delete(context.Context, session.Key) error { return nil }

// fakeCache serves hit (nil: misses) to every query it may serve, and
// records what it was told.
func (*fakeCache) Off() bool { return false }

type fakeCache struct {
	hit     *cache.Entry
	lookups []cache.Query
	puts    []cache.Answer
}

func (c *fakeCache) Lookup(_ context.Context, q cache.Query) (cache.Result, error) {
	c.lookups = append(c.lookups, q)
	switch {
	case q.Disabled:
		return cache.Result{Outcome: cache.Bypass, Reason: cache.ReasonDisabled}, nil
	case q.SessionMemory:
		return cache.Result{Outcome: cache.Bypass, Reason: cache.ReasonSessionMemory}, nil
	case c.hit != nil:
		return cache.Result{Outcome: cache.Hit, Entry: c.hit, Similarity: 0.97}, nil
	}
	return cache.Result{Outcome: cache.Miss}, nil
}

func (c *fakeCache) Put(_ context.Context, _ cache.Result, a cache.Answer) (cache.Entry, error) {
	c.puts = append(c.puts, a)
	return cache.Entry{}, nil
}

func (c *fakeCache) Purge(context.Context, cache.Filter) (int, error) { return 0, nil }

// fixedRouter routes every query to m, falling back to m2.
type fixedRouter struct{}

func (fixedRouter) Decide(context.Context, router.Input) (router.Decision, error) {
	return router.Decision{Primary: "m", Fallbacks: []string{"m2"}, Rule: "fixed"}, nil
}

var fakeUsage = llm.Usage{PromptTokens: 3, CompletionTokens: 2}

// fakeCaller walks a chain as provider.Fallback does: the models in fails
// fail, the first other one answers "ok". breakErr, when set, breaks a
// stream off after its first chunk. It keeps the requests it was sent.
type fakeCaller struct {
	fails    map[string]bool
	breakErr error
	reqs     []*llm.Request
	// chunks, when set, replace the streamed answer "ok".
	chunks []llm.Chunk
}

var errModelDown = errors.New("model down")

func (c *fakeCaller) walk(chain []string, req *llm.Request) (string, []provider.ModelFailure, error) {
	c.reqs = append(c.reqs, req)
	var fs []provider.ModelFailure
	for _, m := range chain {
		if !c.fails[m] {
			return m, fs, nil
		}
		fs = append(fs, provider.ModelFailure{Model: m, Err: errModelDown})
	}
	return "", fs, fmt.Errorf("no model answered: %w", errModelDown)
}

func (c *fakeCaller) Chat(_ context.Context, chain []string, req *llm.Request) (provider.Answer, error) {
	m, fs, err := c.walk(chain, req)
	if err != nil {
		return provider.Answer{Failures: fs}, err
	}
	resp := &llm.Response{Message: llm.Message{Role: llm.RoleAssistant, Content: "ok"}, FinishReason: llm.FinishStop, Usage: fakeUsage}
	return provider.Answer{Response: resp, Model: m, FallbackUsed: m != chain[0], Failures: fs}, nil
}

func (c *fakeCaller) ChatStream(_ context.Context, chain []string, req *llm.Request) (provider.StreamAnswer, error) {
	m, fs, err := c.walk(chain, req)
	if err != nil {
		return provider.StreamAnswer{Failures: fs}, err
	}
	u := fakeUsage
	chunks := []llm.Chunk{{Role: llm.RoleAssistant, Content: "o"}, {Content: "k"}, {FinishReason: llm.FinishStop, Usage: &u}}
	if c.chunks != nil {
		chunks = c.chunks
	}
	end := io.EOF
	if c.breakErr != nil {
		chunks, end = chunks[:1], c.breakErr
	}
	return provider.StreamAnswer{Stream: &chunkStream{chunks: chunks, end: end}, Model: m, FallbackUsed: m != chain[0], Failures: fs}, nil
}

// chunkStream yields chunks, then ends with end.
type chunkStream struct {
	chunks []llm.Chunk
	end    error
	closed bool
}

func (s *chunkStream) Next() (llm.Chunk, error) {
	if len(s.chunks) == 0 {
		return llm.Chunk{}, s.end
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

func (s *chunkStream) Close() error { s.closed = true; return nil }
