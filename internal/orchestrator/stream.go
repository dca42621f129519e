package orchestrator

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/router"
)

// StreamAnswer is a streamed answer. Model, FallbackUsed and Routing are
// final when Stream returns, because a stream falls back only before its
// first chunk. The caller reads chunks with Next and must Close it.
type StreamAnswer struct {
	Model        string
	FallbackUsed bool
	Cached       bool
	// CacheOutcome is hit, miss or bypass.
	CacheOutcome string
	Routing      router.Decision
	Degraded     []string

	o      *Orchestrator
	ctx    context.Context
	t      turn
	s      llm.Stream
	finish string
	tools  int
	text   strings.Builder
	usage  llm.Usage
	done   bool
	closed bool
}

// Stream answers q as a stream, through the pipeline of pipeline.go:
// prepare, the cached answer or a streamed call down the chain, and finish
// when the stream is closed. It returns once the answering model has sent
// its first chunk, so that errors before it can still fall back.
func (o *Orchestrator) Stream(ctx context.Context, q *Query) (*StreamAnswer, error) {
	t, err := o.prepare(ctx, q)
	if err != nil {
		return nil, err
	}
	a := &StreamAnswer{
		Cached: t.cached(), CacheOutcome: t.cache.Outcome.String(), Routing: t.route, Degraded: t.degraded,
		o: o, ctx: ctx, t: t,
	}
	if t.cached() {
		a.Model, a.s = t.cache.Entry.Model, llm.StreamOf(cachedResponse(t.cache.Entry))
		return a, nil
	}
	sa, err := o.opt.Caller.ChatStream(ctx, chainOf(t.route), t.prompt.req)
	o.countFailures(sa.Failures)
	if err != nil {
		return nil, err
	}
	a.Model, a.FallbackUsed, a.s = sa.Model, sa.FallbackUsed, sa.Stream
	return a, nil
}

// Next returns the next chunk, or io.EOF after the last.
func (a *StreamAnswer) Next() (llm.Chunk, error) {
	if a.done {
		return llm.Chunk{}, io.EOF
	}
	c, err := a.s.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			a.done = true
		}
		return llm.Chunk{}, err
	}
	// The session and the cache keep the first choice (requests with
	// n > 1 bypass the cache).
	if c.Index == 0 {
		a.text.WriteString(c.Content)
		a.tools += len(c.ToolCalls)
		if c.FinishReason != "" {
			a.finish = c.FinishReason
		}
	}
	if c.Usage != nil {
		a.usage = *c.Usage
	}
	return c, nil
}

// Usage returns the usage reported so far (final after io.EOF).
func (a *StreamAnswer) Usage() llm.Usage { return a.usage }

// CostUSD returns the cost of the usage reported so far; a cached answer
// costs nothing.
func (a *StreamAnswer) CostUSD() float64 {
	if a.Cached {
		return 0
	}
	return a.o.opt.Cost(a.Model, a.usage)
}

// Text returns the answer's text streamed so far.
func (a *StreamAnswer) Text() string { return a.text.String() }

// Close releases the upstream stream and finishes the turn: a complete
// answer is saved to the session and the cache. api calls it once the last
// chunk is read, before it ends the stream, so that the client's next turn
// finds this one saved; Degraded is final after it. Calls after the first
// do nothing.
func (a *StreamAnswer) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	err := a.s.Close()
	a.o.finish(context.WithoutCancel(a.ctx), &a.t, reply{
		model: a.Model, text: a.text.String(), usage: a.usage, finishReason: a.finish, toolCalls: a.tools,
		fallbackUsed: a.FallbackUsed, complete: a.done,
		// Cut short by the model, not by a client that went away.
		brokeOff: !a.done && a.ctx.Err() == nil,
	})
	a.Degraded = a.t.degraded
	return err
}
