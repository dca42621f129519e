package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/redact"
	"github.com/cato-gateway/cato/internal/router"
	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/telemetry"
	"github.com/cato-gateway/cato/internal/version"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// The types of this file put the spans of a request's trace around the
// orchestrator's collaborators: app wraps each one only when tracing is
// on, so that with tracing off the request path is what it was. Each
// starts its span only under a recorded parent (Tracing.Start), so an
// unsampled request costs a context lookup per call. Span names and
// attributes are listed in docs/operations.md, "Tracing"; none carries a
// prompt, an answer or a key.

// tracingShutdownTimeout bounds the flush of buffered spans at shutdown,
// so that an unreachable collector cannot hold the process.
const tracingShutdownTimeout = 5 * time.Second

// startTracing starts the tracer provider the telemetry section (or the
// OTEL_* environment) configures. With tracing on, a.log stamps trace and
// span ids on every record of a request, and the provider is shut down,
// flushing its spans, after everything else is closed.
func (a *App) startTracing(ctx context.Context, cfg *config.Config, environ []string) error {
	tr, err := telemetry.New(ctx, telemetry.Options{
		Endpoint:       cfg.Telemetry.OTLPEndpoint,
		SampleRatio:    cfg.Telemetry.SampleRatio,
		ServiceVersion: version.String(),
		Environ:        environ,
	})
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	if tr == nil {
		return nil
	}
	a.tracing = tr
	a.closers = append(a.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), tracingShutdownTimeout)
		defer cancel()
		return tr.Shutdown(ctx)
	})
	a.log = slog.New(telemetry.LogHandler{Handler: a.log.Handler()})
	a.log.Info("tracing on", "endpoint", redact.URL(tr.Endpoint()), "sample_ratio", tr.SampleRatio())
	return nil
}

// tracedRouter puts the span "router.decide" around the router.
type tracedRouter struct {
	tr   *telemetry.Tracing
	next *router.Router
}

func (r tracedRouter) Decide(ctx context.Context, in router.Input) (router.Decision, error) {
	ctx, span := r.tr.Start(ctx, "router.decide")
	defer span.End()
	d, err := r.next.Decide(ctx, in)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("cato.model", d.Primary), attribute.String("cato.route.rule", d.Rule),
			attribute.StringSlice("cato.fallbacks", d.Fallbacks))
		if err != nil {
			telemetry.Fail(span, "error")
		}
	}
	return d, err
}

// tracedCache puts "cache.lookup" and "cache.store" around the semantic
// cache.
type tracedCache struct {
	tr   *telemetry.Tracing
	next *cache.Cache
}

func (c tracedCache) Lookup(ctx context.Context, q cache.Query) (cache.Result, error) {
	ctx, span := c.tr.Start(ctx, "cache.lookup")
	defer span.End()
	r, err := c.next.Lookup(ctx, q)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("cato.cache", r.Outcome.String()), attribute.Bool("cato.cache.hit", r.Outcome == cache.Hit))
		if r.Reason != cache.ReasonNone {
			span.SetAttributes(attribute.String("cato.cache.reason", string(r.Reason)))
		}
		if err != nil {
			telemetry.Fail(span, "error")
		}
	}
	return r, err
}

func (c tracedCache) Put(ctx context.Context, r cache.Result, ans cache.Answer) (cache.Entry, error) {
	ctx, span := c.tr.Start(ctx, "cache.store")
	defer span.End()
	e, err := c.next.Put(ctx, r, ans)
	if err != nil {
		telemetry.Fail(span, "error")
	}
	return e, err
}

func (c tracedCache) Purge(ctx context.Context, f cache.Filter) (int, error) {
	return c.next.Purge(ctx, f)
}

func (c tracedCache) Off() bool { return c.next.Off() }

// tracedSessions puts "session.load" and "session.append" around working
// memory.
type tracedSessions struct {
	tr   *telemetry.Tracing
	next *session.Memory
}

func (s tracedSessions) Context(ctx context.Context, k session.Key, req *llm.Request) ([]llm.Message, session.Added, error) {
	ctx, span := s.tr.Start(ctx, "session.load")
	defer span.End()
	msgs, added, err := s.next.Context(ctx, k, req)
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("cato.session.messages", len(msgs)))
		if err != nil {
			telemetry.Fail(span, "error")
		}
	}
	return msgs, added, err
}

func (s tracedSessions) Record(ctx context.Context, k session.Key, ex session.Exchange) error {
	ctx, span := s.tr.Start(ctx, "session.append")
	defer span.End()
	err := s.next.Record(ctx, k, ex)
	if err != nil {
		telemetry.Fail(span, "error")
	}
	return err
}

func (s tracedSessions) Session(ctx context.Context, k session.Key) (*session.Session, error) {
	return s.next.Session(ctx, k)
}

func (s tracedSessions) Delete(ctx context.Context, k session.Key) error {
	return s.next.Delete(ctx, k)
}

// chainKey is the context key of a chainState.
type chainKey struct{}

// chainState follows the attempts of one call down a fallback chain, so
// that each attempt's span can say its number and whether it is a
// fallback. The attempts of a chain run one after another, so it needs no
// lock.
type chainState struct {
	primary string
	model   string // the model of the latest attempt
	n       int    // attempts of model so far
}

// tracedCaller puts "provider.call" around a call down a fallback chain;
// its children are the attempts (tracedProvider).
type tracedCaller struct {
	tr   *telemetry.Tracing
	next *provider.Fallback
}

func (c tracedCaller) start(ctx context.Context, chain []string) (context.Context, trace.Span) {
	ctx, span := c.tr.Start(ctx, "provider.call")
	if span.IsRecording() && len(chain) > 0 {
		span.SetAttributes(attribute.StringSlice("cato.chain", chain))
		ctx = context.WithValue(ctx, chainKey{}, &chainState{primary: chain[0]})
	}
	return ctx, span
}

func (c tracedCaller) Chat(ctx context.Context, chain []string, req *llm.Request) (provider.Answer, error) {
	ctx, span := c.start(ctx, chain)
	defer span.End()
	a, err := c.next.Chat(ctx, chain, req)
	endCall(span, a.Model, a.FallbackUsed, len(a.Failures), err)
	return a, err
}

func (c tracedCaller) ChatStream(ctx context.Context, chain []string, req *llm.Request) (provider.StreamAnswer, error) {
	ctx, span := c.start(ctx, chain)
	defer span.End() // at the first chunk; the attempt's span lasts the stream
	a, err := c.next.ChatStream(ctx, chain, req)
	endCall(span, a.Model, a.FallbackUsed, len(a.Failures), err)
	return a, err
}

func endCall(span trace.Span, model string, fallback bool, failures int, err error) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.Bool("cato.fallback_used", fallback), attribute.Int("cato.models_failed", failures))
	if model != "" {
		span.SetAttributes(attribute.String("cato.model", model))
	}
	if err != nil {
		telemetry.Fail(span, failureReason(err))
	}
}

// tracedProvider puts "provider.attempt" around each call of one model's
// adapter: it sits under the model's Guard, so each retry is an attempt of
// its own, and the upstream request carries the attempt's traceparent.
type tracedProvider struct {
	tr    *telemetry.Tracing
	model string
	next  provider.Provider
}

func (p tracedProvider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	ctx, span := p.start(ctx, false)
	defer span.End()
	resp, err := p.next.Chat(ctx, req)
	endAttempt(span, err)
	return resp, err
}

func (p tracedProvider) ChatStream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	ctx, span := p.start(ctx, true)
	if !span.IsRecording() {
		return p.next.ChatStream(ctx, req)
	}
	s, err := p.next.ChatStream(ctx, req)
	if err != nil {
		endAttempt(span, err)
		span.End()
		return nil, err
	}
	return &tracedStream{Stream: s, span: span}, nil
}

func (p tracedProvider) start(ctx context.Context, stream bool) (context.Context, trace.Span) {
	ctx, span := p.tr.Start(ctx, "provider.attempt")
	if !span.IsRecording() {
		return ctx, span
	}
	attempt, fallback := 1, false
	if st, ok := ctx.Value(chainKey{}).(*chainState); ok {
		if st.model != p.model {
			st.model, st.n = p.model, 0
		}
		st.n++
		attempt, fallback = st.n, p.model != st.primary
	}
	span.SetAttributes(attribute.String("cato.model", p.model), attribute.Int("cato.attempt", attempt),
		attribute.Int("cato.retry", attempt-1), attribute.Bool("cato.fallback", fallback), attribute.Bool("cato.stream", stream))
	return ctx, span
}

func endAttempt(span trace.Span, err error) {
	if !span.IsRecording() {
		return
	}
	if err == nil {
		span.SetAttributes(attribute.String("cato.outcome", "ok"))
		return
	}
	var pe *provider.Error
	if errors.As(err, &pe) && pe.StatusCode != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", pe.StatusCode))
	}
	span.SetAttributes(attribute.String("cato.outcome", "error"))
	telemetry.Fail(span, failureReason(err))
}

// failureReason names err by its code, never by its text.
func failureReason(err error) string {
	var pe *provider.Error
	switch {
	case errors.As(err, &pe) && pe.Code != "":
		return string(pe.Code)
	case errors.As(err, &pe):
		return "upstream_error_" + strconv.Itoa(pe.StatusCode)
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}

// tracedStream ends its attempt's span when the stream ends: at its last
// chunk, its error, or Close, whichever comes first.
type tracedStream struct {
	llm.Stream
	span trace.Span
	once sync.Once
}

func (s *tracedStream) Next() (llm.Chunk, error) {
	c, err := s.Stream.Next()
	if err != nil {
		s.end(err)
	}
	return c, err
}

func (s *tracedStream) Close() error {
	s.end(nil)
	return s.Stream.Close()
}

func (s *tracedStream) end(err error) {
	s.once.Do(func() {
		if errors.Is(err, io.EOF) {
			err = nil
		}
		endAttempt(s.span, err)
		s.span.End()
	})
}
