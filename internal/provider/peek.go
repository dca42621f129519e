package provider

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/cato-gateway/cato/internal/llm"
)

// streamEnd is told once how a peekedStream ended. Guard's attempt and
// Fallback's budget implement it.
type streamEnd interface {
	// streamEnded is called with a nil error at io.EOF or Close (a stream
	// closed early was still being answered), else with the error Next
	// returned; usage is the last usage a chunk reported.
	streamEnded(usage llm.Usage, err error)
}

// peekedStream is a model's stream whose first chunk was read before the
// caller committed to the model, so that a failure before it could still be
// retried (Guard) or passed over (Fallback). Next yields that chunk, then
// the rest of s; end hears once how the stream ended. Guard and Fallback
// both wrap their streams in one. Like every llm.Stream it is not safe for
// concurrent use, except that Close may race a Next that ends the stream.
type peekedStream struct {
	s       llm.Stream // nil when there is nothing after first
	first   llm.Chunk
	pending bool // first is yet to be returned
	eof     bool
	usage   llm.Usage // the last usage a chunk reported
	end     streamEnd // nil: no one to tell
	ended   atomic.Bool
}

// peekFirst reads the first chunk of s. A stream that fails before it is
// closed, and its error returned; one that ends at once (io.EOF) is an
// answer all the same, an empty one.
func peekFirst(s llm.Stream) (first llm.Chunk, eof bool, err error) {
	first, err = s.Next()
	switch {
	case err == io.EOF:
		return llm.Chunk{}, true, nil
	case err != nil:
		s.Close()
		return llm.Chunk{}, false, err
	}
	return first, false, nil
}

// init sets p up over s, whose first chunk (or io.EOF, when eof) was read
// already. An empty answer ends at once.
func (p *peekedStream) init(s llm.Stream, first llm.Chunk, eof bool, end streamEnd) {
	p.s, p.end = s, end
	if eof {
		p.eof = true
		p.finish(nil)
		return
	}
	p.first, p.pending = first, true
	p.note(first)
}

func (p *peekedStream) Next() (llm.Chunk, error) {
	if p.pending {
		p.pending = false
		return p.first, nil
	}
	if p.eof || p.s == nil {
		return llm.Chunk{}, io.EOF
	}
	c, err := p.s.Next()
	switch {
	case err == nil:
		p.note(c)
		return c, nil
	case err == io.EOF:
		p.eof = true
		p.finish(nil)
	default:
		p.finish(err)
	}
	return llm.Chunk{}, err
}

// Close closes the model's stream and ends p, if Next has not.
func (p *peekedStream) Close() error {
	var err error
	if p.s != nil {
		err = p.s.Close()
	}
	p.finish(nil)
	return err
}

func (p *peekedStream) note(c llm.Chunk) {
	if c.Usage != nil {
		p.usage = *c.Usage
	}
}

func (p *peekedStream) finish(err error) {
	if p.end != nil && p.ended.CompareAndSwap(false, true) {
		p.end.streamEnded(p.usage, err)
	}
}

// cancelOnEnd ends a context when the stream ends: Fallback's budget.
type cancelOnEnd context.CancelFunc

func (c cancelOnEnd) streamEnded(llm.Usage, error) { c() }

// addressed returns req with Model set to model, copying it only when the
// model differs.
func addressed(req *llm.Request, model string) *llm.Request {
	if req.Model == model {
		return req
	}
	r := *req
	r.Model = model
	return &r
}
