package orchestrator

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/cato-gateway/cato/internal/cache"
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
	q      *Query
	s      llm.Stream
	cr     cache.Result
	finish string
	tools  int
	text   strings.Builder
	usage  llm.Usage
	done   bool
	closed bool
	ctx    context.Context
}

// Stream answers q as a stream. It returns once the answering model has
// sent its first chunk, so that errors before it can still fall back.
func (o *Orchestrator) Stream(ctx context.Context, q *Query) (*StreamAnswer, error) {
	if err := o.checkModel(q); err != nil {
		return nil, err
	}
	req, degraded, err := o.withSession(ctx, q)
	if err != nil {
		return nil, err
	}
	cr := o.lookup(ctx, q)
	if cr.Outcome == cache.Hit {
		return &StreamAnswer{
			Model: cr.Entry.Model, Cached: true, CacheOutcome: cr.Outcome.String(), Routing: cachedDecision(cr),
			Degraded: degraded, o: o, q: q, ctx: ctx, s: llm.StreamOf(cachedResponse(cr.Entry)), cr: cr,
		}, nil
	}
	d, err := o.Route(ctx, q)
	if err != nil {
		return nil, err
	}
	o.opt.Metrics.Routes.WithLabelValues(d.Primary, d.Rule).Inc()
	a, err := o.opt.Caller.ChatStream(ctx, chainOf(d), req)
	o.countFailures(a.Failures)
	if err != nil {
		return nil, err
	}
	return &StreamAnswer{
		Model: a.Model, FallbackUsed: a.FallbackUsed, Routing: d, CacheOutcome: cr.Outcome.String(),
		Degraded: degraded, o: o, q: q, ctx: ctx, s: a.Stream, cr: cr,
	}, nil
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
	a.text.WriteString(c.Content)
	a.tools += len(c.ToolCalls)
	if c.FinishReason != "" {
		a.finish = c.FinishReason
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

// Close releases the upstream stream and, for a complete answer, saves it
// to the session and the cache. api calls it once the last chunk is read,
// before it ends the stream, so that the client's next turn finds this one
// saved; Degraded is final after it. Calls after the first do nothing.
func (a *StreamAnswer) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	ok := a.done
	err := a.s.Close()
	if ok {
		a.Degraded = append(a.Degraded, a.o.record(context.WithoutCancel(a.ctx), a.q, a.text.String(), a.Model)...)
	}
	if a.Cached {
		return err
	}
	if ok && cacheable(a.finish, a.tools) {
		a.o.store(context.WithoutCancel(a.ctx), a.q, a.cr, a.text.String(), a.Model, a.usage)
	}
	switch {
	case ok:
		a.o.opt.Metrics.RecordCall(a.Model, a.usage, a.CostUSD())
	case a.ctx.Err() == nil:
		// Cut short by the model, not by a client that went away.
		a.o.opt.Metrics.RecordError(a.Model)
	}
	if a.FallbackUsed {
		a.o.opt.Metrics.Fallbacks.WithLabelValues(a.Routing.Primary, a.Model).Inc()
	}
	return err
}
