package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

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
	Routing      router.Decision
	Degraded     []string

	o       *Orchestrator
	q       *Query
	start   time.Time
	first   *llm.Chunk
	s       llm.Stream
	text    strings.Builder
	usage   llm.Usage
	hidden  *llm.HiddenStates
	done    bool
	onClose []func(ok bool)
}

// Stream answers q as a stream.
func (o *Orchestrator) Stream(ctx context.Context, q *Query) (*StreamAnswer, error) {
	start := time.Now()
	d, err := o.Route(ctx, q)
	if err != nil {
		return nil, err
	}
	chain := append([]string{d.Primary}, d.Fallbacks...)
	var lastErr error
	for i, name := range chain {
		p, ok := o.opt.Models[name]
		if !ok {
			continue
		}
		req := *q.Request
		req.Model = name
		s, err := p.ChatStream(ctx, &req)
		if err == nil {
			// Fall back only before the first chunk reaches the client:
			// read it now.
			var first llm.Chunk
			first, err = s.Next()
			if err == nil || errors.Is(err, io.EOF) {
				sa := &StreamAnswer{Model: name, FallbackUsed: i > 0, Routing: d, o: o, q: q, start: start, s: s}
				if err == nil {
					sa.first = &first
				} else {
					sa.done = true
				}
				return sa, nil
			}
			s.Close()
		}
		o.opt.Metrics.RecordError(name)
		lastErr = err
		if ctx.Err() != nil || !fallbackable(err) {
			return nil, err
		}
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("%w: %q", ErrModelNotFound, d.Primary)
	}
	return nil, lastErr
}

// Next returns the next chunk, or io.EOF after the last.
func (a *StreamAnswer) Next() (llm.Chunk, error) {
	var c llm.Chunk
	switch {
	case a.first != nil:
		c, a.first = *a.first, nil
	case a.done:
		return llm.Chunk{}, io.EOF
	default:
		var err error
		if c, err = a.s.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				a.done = true
			}
			return llm.Chunk{}, err
		}
	}
	a.text.WriteString(c.Content)
	if c.Usage != nil {
		a.usage = *c.Usage
	}
	if c.HiddenStates != nil {
		a.hidden = c.HiddenStates
	}
	return c, nil
}

// Usage returns the usage reported so far (final after io.EOF).
func (a *StreamAnswer) Usage() llm.Usage { return a.usage }

// CostUSD returns the cost of the usage reported so far.
func (a *StreamAnswer) CostUSD() float64 { return a.o.opt.Cost(a.Model, a.usage) }

// Text returns the answer's text streamed so far.
func (a *StreamAnswer) Text() string { return a.text.String() }

// Latency returns the time since the query started.
func (a *StreamAnswer) Latency() time.Duration { return time.Since(a.start) }

// Close releases the upstream stream.
func (a *StreamAnswer) Close() error {
	ok := a.done
	err := a.s.Close()
	if ok {
		a.o.opt.Metrics.RecordCall(a.Model, a.usage, a.CostUSD())
	} else {
		a.o.opt.Metrics.RecordError(a.Model)
	}
	if a.FallbackUsed {
		a.o.opt.Metrics.Fallbacks.WithLabelValues(a.Routing.Primary, a.Model).Inc()
	}
	for _, f := range a.onClose {
		f(ok)
	}
	a.onClose = nil
	return err
}
