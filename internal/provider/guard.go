package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"syscall"
	"time"

	"github.com/cato-gateway/cato/internal/backoff"
	"github.com/cato-gateway/cato/internal/breaker"
	"github.com/cato-gateway/cato/internal/llm"
)

// GuardConfig tunes a Guard. The zero GuardConfig is valid: one attempt, no
// per-attempt timeout, no concurrency limit, and the default failure
// statuses.
type GuardConfig struct {
	// Timeout bounds one attempt: the whole call for Chat, the wait for the
	// first chunk for ChatStream (after it, a stream is bounded by
	// StreamIdleTimeout and the caller's context only, so long answers are
	// not cut). Zero means no per-attempt timeout.
	Timeout time.Duration
	// StreamIdleTimeout bounds the wait for each chunk of a stream after
	// the first: a model that stops sending for this long fails the stream
	// with a 504 stream_idle_timeout, which counts against its breaker.
	// Only the time spent waiting in Next counts, not the time the caller
	// takes between chunks. Zero means no idle timeout.
	StreamIdleTimeout time.Duration
	// MaxAttempts is the number of attempts, the first included. Zero means 1.
	MaxAttempts int
	// Backoff spaces the attempts. A Retry-After hint replaces it when the
	// hint is at most the policy's Max; a longer hint ends the retries at
	// once, so that the request falls back to another model rather than
	// sleep.
	Backoff backoff.Policy
	// MaxConcurrency caps the calls in flight; zero means no cap.
	MaxConcurrency int
	// MaxQueue is how many calls may wait for a slot; more are refused with
	// ErrOverloaded. Zero means none wait.
	MaxQueue int
	// FailureStatuses lists the upstream statuses that count against the
	// breaker. Empty means 408 and 5xx except 501: a 429 says the model is
	// busy for this caller, not broken, so it is retried or falls back
	// without opening the breaker for everyone. Timeouts and connection
	// errors always count.
	FailureStatuses []int
	// OnCallDone, if set, is called after every attempt, on the caller's
	// goroutine (for a stream, on the goroutine that ends it). It must be
	// quick and safe for concurrent use.
	OnCallDone func(CallDone)
}

// CallDone describes one finished attempt. Fields may be added.
type CallDone struct {
	Model string
	// Attempt is 1-based. Zero means the call was refused before any
	// attempt because the model was overloaded.
	Attempt int
	// Stream reports whether the attempt was a ChatStream.
	Stream bool
	// Duration is the attempt's length; for a stream, until it ended.
	Duration time.Duration
	// FirstChunk is how long a stream took to yield its first chunk.
	FirstChunk time.Duration
	Usage      llm.Usage
	// Outcome is what the attempt told the model's breaker.
	Outcome breaker.Outcome
	// Err is nil on success; it wraps breaker.ErrOpen when the breaker
	// refused the attempt and ErrOverloaded when the queue was full.
	Err error
}

// errAttemptTimeout is the cancel cause of an attempt that ran out of time.
var errAttemptTimeout = errors.New("attempt timed out")

// errStreamIdle is the cancel cause of a stream that sent no chunk within
// the idle timeout.
var errStreamIdle = errors.New("stream idle")

// Guard is a Provider that protects one model. Each call passes, from the
// outside in, through:
//
//  1. the concurrency limit: a slot is held for the whole call, retries and
//     backoff included, until a stream is closed; a full queue fails at
//     once with ErrOverloaded (503 model_overloaded, not retryable);
//  2. retries with jittered backoff for retryable errors, waiting for the
//     upstream's Retry-After when it gave one and it is at most the
//     backoff's Max (a longer one ends the retries, so the caller falls
//     back at once), and never past the context's deadline;
//  3. the model's breaker: an open breaker fails the attempt with an error
//     wrapping breaker.ErrOpen and ends the retries;
//  4. the per-attempt timeout: an attempt that runs out of time fails with
//     a retryable 504 "timeout";
//  5. the adapter.
//
// A stream is retried only until its first chunk: ChatStream returns once
// the first chunk has arrived (or every attempt failed); a failure after
// that counts against the breaker and is returned by Next, never retried.
// Only failures that say the model is unwell count against the breaker
// (timeouts, connection errors, FailureStatuses); a request the model
// rejected counts as a success, and a failure of Cato's own making (see
// IsLocal: a caller that went away, no file descriptors, a full connection
// pool) is not counted. Guard is safe for concurrent use.
type Guard struct {
	model   string
	next    Provider
	breaker *breaker.Breaker // nil: no breaker
	cfg     GuardConfig
	limit   *limiter
	log     *slog.Logger
}

var _ Provider = (*Guard)(nil)

// NewGuard returns next guarded as model. b may be nil for no breaker.
func NewGuard(model string, next Provider, b *breaker.Breaker, cfg GuardConfig, log *slog.Logger) *Guard {
	if cfg.MaxAttempts < 1 {
		cfg.MaxAttempts = 1
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Guard{
		model:   model,
		next:    next,
		breaker: b,
		cfg:     cfg,
		limit:   newLimiter(cfg.MaxConcurrency, cfg.MaxQueue),
		log:     log.With(slog.String("model", model)),
	}
}

// Model returns the model name the Guard protects.
func (g *Guard) Model() string { return g.model }

// Unwrap returns the guarded Provider, for optional capabilities such as
// Pinger that bypass the guard.
func (g *Guard) Unwrap() Provider { return g.next }

// GuardStatus is a Guard's state at one moment, for /status.
type GuardStatus struct {
	Breaker  breaker.Snapshot `json:"breaker"`
	InFlight int              `json:"in_flight"`
	Queued   int              `json:"queued"`
}

// Status returns the breaker's snapshot and the concurrency counts.
func (g *Guard) Status() GuardStatus {
	s := GuardStatus{InFlight: g.limit.inFlight(), Queued: g.limit.waiting()}
	if g.breaker != nil {
		s.Breaker = g.breaker.Snapshot()
	}
	return s
}

// Chat implements Provider.
func (g *Guard) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	return g.chat(ctx, req, time.Time{})
}

// chat is Chat within a Fallback's budget, which ends at budget (zero: no
// budget). Fallback hands the budget's deadline down rather than a context
// of its own, so that each attempt runs under one deadline context that
// carries whichever cause comes first, the attempt's timeout or the
// budget, where a budget context and an attempt context below it cost a
// timer, a context and a cancellation each (seven allocations a request:
// BenchmarkProxy in internal/app).
func (g *Guard) chat(ctx context.Context, req *llm.Request, budget time.Time) (*llm.Response, error) {
	if err := g.acquire(ctx, false, budget); err != nil {
		return nil, err
	}
	defer g.limit.release()
	req = addressed(req, g.model)
	var resp *llm.Response
	err := g.retry(ctx, budget, func(attempt int, done func(breaker.Outcome)) error {
		actx, cancel := g.attemptContext(ctx, budget)
		pt, tctx := startPoolTrace(actx)
		start := time.Now()
		r, err := g.next.Chat(tctx, req)
		err, outcome := g.classify(ctx, actx, err, pt)
		pt.done()
		cancel()
		done(outcome)
		cd := CallDone{Model: g.model, Attempt: attempt, Duration: time.Since(start), Outcome: outcome, Err: err}
		if err == nil {
			resp = r
			cd.Usage = r.Usage
		}
		g.report(cd)
		return err
	})
	return resp, err
}

// ChatStream implements Provider. It returns after the first chunk has
// arrived, so that every failure before it can be retried.
func (g *Guard) ChatStream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if err := g.acquire(ctx, true, time.Time{}); err != nil {
		return nil, err
	}
	req = addressed(req, g.model)
	var out llm.Stream
	err := g.retry(ctx, time.Time{}, func(attempt int, done func(breaker.Outcome)) error {
		s, err := g.openStream(ctx, req, attempt, done)
		out = s
		return err
	})
	if err != nil {
		g.limit.release()
		return nil, err
	}
	return out, nil
}

// openStream makes one stream attempt and waits for its first chunk. The
// stream it returns gives the Guard's slot back when it ends.
func (g *Guard) openStream(ctx context.Context, req *llm.Request, n int, done func(breaker.Outcome)) (llm.Stream, error) {
	actx, cancel := context.WithCancelCause(ctx)
	var timer *time.Timer
	if g.cfg.Timeout > 0 {
		timer = time.AfterFunc(g.cfg.Timeout, func() { cancel(errAttemptTimeout) })
	}
	pt, tctx := startPoolTrace(actx)
	start := time.Now()
	s, err := g.next.ChatStream(tctx, req)
	var first llm.Chunk
	var eof bool
	if err == nil {
		first, eof, err = peekFirst(s)
	}
	if timer != nil && !timer.Stop() && err == nil {
		// The timeout fired; even if a chunk slipped in, the attempt's
		// context is cancelled and the stream is dead.
		s.Close()
		err = context.Cause(actx)
	}
	if err != nil {
		err, outcome := g.classify(ctx, actx, err, pt)
		pt.done()
		cancel(nil)
		done(outcome)
		g.report(CallDone{Model: g.model, Attempt: n, Stream: true, Duration: time.Since(start), Outcome: outcome, Err: err})
		return nil, err
	}
	pt.done() // the stream's connection is got: no hook runs again
	a := &attempt{g: g, ctx: ctx, actx: actx, cancel: cancel, done: done, n: n, start: start, firstAt: time.Since(start)}
	if g.cfg.StreamIdleTimeout > 0 && !eof {
		t := time.AfterFunc(time.Hour, func() { cancel(errStreamIdle) })
		t.Stop() // armed by each Next
		s = &idleStream{s: s, idle: g.cfg.StreamIdleTimeout, ctx: actx, model: g.model, timer: t}
	}
	a.stream.init(s, first, eof, a) // an empty answer is still an answer
	return &a.stream, nil
}

// retry runs attempt up to MaxAttempts times while it fails retryably and
// the next wait fits before ctx's deadline and the budget (zero: none).
// Each attempt first asks the breaker; a refusal ends the retries.
func (g *Guard) retry(ctx context.Context, budget time.Time, attempt func(n int, done func(breaker.Outcome)) error) error {
	var last error
	for n := 1; ; n++ {
		done, err := g.allow()
		if err != nil {
			g.report(CallDone{Model: g.model, Attempt: n, Outcome: breaker.Ignored, Err: err})
			if last != nil {
				return last // the failure that opened the breaker says more
			}
			return err
		}
		err = attempt(n, done)
		if err == nil {
			return nil
		}
		last = err
		if n >= g.cfg.MaxAttempts || !IsRetryable(err) || ctx.Err() != nil || budgetSpent(budget) {
			return err
		}
		var hint time.Duration
		if pe := (*Error)(nil); errors.As(err, &pe) {
			hint = pe.RetryAfter
		}
		if hint > g.cfg.Backoff.MaxDelay() {
			// Waiting that long would starve the fallbacks: give up on
			// this model now and let the caller try the next.
			g.log.DebugContext(ctx, "not retrying: Retry-After exceeds the backoff's max", slog.Duration("retry_after", hint), slog.Any("err", err))
			return err
		}
		wait := g.cfg.Backoff.After(n, hint, nil)
		deadline, ok := ctx.Deadline()
		if !budget.IsZero() && (!ok || budget.Before(deadline)) {
			deadline, ok = budget, true
		}
		if ok && time.Until(deadline) <= wait {
			g.log.DebugContext(ctx, "not retrying: wait exceeds deadline", slog.Duration("wait", wait), slog.Any("err", err))
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting to retry model %s: %w (last error: %w)", g.model, context.Cause(ctx), err)
		}
	}
}

// allow asks the breaker for one attempt.
func (g *Guard) allow() (func(breaker.Outcome), error) {
	if g.breaker == nil {
		return func(breaker.Outcome) {}, nil
	}
	done, err := g.breaker.Allow()
	if err != nil {
		pe := &Error{Model: g.model, StatusCode: http.StatusServiceUnavailable, Code: CodeBreakerOpen, Err: err}
		if oe := (*breaker.OpenError)(nil); errors.As(err, &oe) {
			pe.RetryAfter = oe.RetryIn
		}
		return nil, pe
	}
	return done, nil
}

// acquire takes a slot of the model's concurrency limit, waiting no later
// than budget (zero: no budget); the caller gives it back with
// g.limit.release.
func (g *Guard) acquire(ctx context.Context, stream bool, budget time.Time) error {
	err := g.limit.acquire(ctx, budget)
	if errors.Is(err, ErrOverloaded) {
		err = &Error{Model: g.model, StatusCode: http.StatusServiceUnavailable, Code: CodeModelOverloaded, Err: err}
		g.report(CallDone{Model: g.model, Stream: stream, Outcome: breaker.Ignored, Err: err})
	} else if err != nil {
		err = fmt.Errorf("waiting for a slot of model %s: %w", g.model, err)
	}
	return err
}

// attemptContext returns the context of one attempt: it ends at the
// attempt's timeout or at the budget (zero: none), whichever comes first,
// with that one's cause.
func (g *Guard) attemptContext(ctx context.Context, budget time.Time) (context.Context, context.CancelFunc) {
	deadline, cause := budget, errBudget
	if g.cfg.Timeout > 0 {
		if at := time.Now().Add(g.cfg.Timeout); budget.IsZero() || at.Before(budget) {
			deadline, cause = at, errAttemptTimeout
		}
	}
	if deadline.IsZero() {
		return context.WithCancel(ctx)
	}
	return context.WithDeadlineCause(ctx, deadline, cause)
}

// budgetSpent reports whether the budget ending at deadline (zero: none)
// has run out.
func budgetSpent(deadline time.Time) bool {
	return !deadline.IsZero() && !time.Now().Before(deadline)
}

func (g *Guard) report(cd CallDone) {
	if g.cfg.OnCallDone != nil {
		g.cfg.OnCallDone(cd)
	}
}

// classify turns an attempt's error into the error the caller sees and the
// breaker's Outcome. parent is the caller's context, actx the attempt's.
// pt, when not nil, tells whether an attempt that timed out was still
// waiting for a connection of Cato's own pool.
func (g *Guard) classify(parent, actx context.Context, err error, pt *poolTrace) (error, breaker.Outcome) {
	if err == nil {
		return nil, breaker.Success
	}
	if parent.Err() != nil || errors.Is(context.Cause(actx), errBudget) {
		// The caller went away, or its deadline or the request's budget
		// passed: nothing learnt about the model.
		return err, breaker.Ignored
	}
	timedOut := errors.Is(context.Cause(actx), errAttemptTimeout) || errors.Is(err, context.DeadlineExceeded)
	if timedOut && pt != nil && pt.waitedForPool() {
		return localError(g.model, fmt.Errorf("%w: %w", errPoolWait, err)), breaker.Ignored
	}
	if !timedOut && IsLocal(err) {
		return localError(g.model, err), breaker.Ignored
	}
	if timedOut {
		return &Error{Model: g.model, StatusCode: http.StatusGatewayTimeout, Code: CodeTimeout, Retryable: true,
			Err: fmt.Errorf("no answer within the attempt's time: %w", err)}, breaker.Failure
	}
	var pe *Error
	if errors.As(err, &pe) {
		if pe.StatusCode == 0 || pe.Code == CodeTimeout || isConnError(err) || g.failureStatus(pe.StatusCode) {
			return err, breaker.Failure
		}
		if pe.StatusCode == http.StatusTooManyRequests {
			// Busy for this caller: nothing learnt about the model's health.
			return err, breaker.Ignored
		}
		return err, breaker.Success // the model answered; it rejected the request
	}
	if isConnError(err) {
		return &Error{Model: g.model, StatusCode: http.StatusBadGateway, Code: CodeConnectionError, Retryable: true, Err: err}, breaker.Failure
	}
	// An error the adapter did not classify says nothing certain about
	// the model's health.
	return err, breaker.Ignored
}

func (g *Guard) failureStatus(status int) bool {
	if len(g.cfg.FailureStatuses) > 0 {
		return slices.Contains(g.cfg.FailureStatuses, status)
	}
	return status != http.StatusTooManyRequests && StatusRetryable(status)
}

// isConnError reports whether err is a network failure: refused, reset or
// cut-off connections, DNS failures, dial timeouts.
func isConnError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF)
}

// attempt is a stream attempt that got its first chunk. When its stream
// ends it reports to the breaker, the hook and the limiter, once (its
// peekedStream calls streamEnded once).
type attempt struct {
	stream  peekedStream
	g       *Guard
	ctx     context.Context // the caller's
	actx    context.Context // the attempt's
	cancel  context.CancelCauseFunc
	done    func(breaker.Outcome)
	n       int
	start   time.Time
	firstAt time.Duration
}

func (a *attempt) streamEnded(usage llm.Usage, err error) {
	o := breaker.Success // at the end, or closed early while the model was answering
	switch {
	case err == nil:
	case a.ctx.Err() != nil || IsLocal(err):
		o = breaker.Ignored
	default:
		// After the first chunk nothing is retried, but a model that
		// breaks off mid-answer is unwell.
		o = breaker.Failure
	}
	a.cancel(nil)
	a.done(o)
	a.g.limit.release()
	a.g.report(CallDone{
		Model: a.g.model, Attempt: a.n, Stream: true, Duration: time.Since(a.start),
		FirstChunk: a.firstAt, Usage: usage, Outcome: o, Err: err,
	})
}

// idleStream fails a stream whose model sends no chunk within idle: a timer
// armed while Next waits cancels the attempt's context, which ends the
// adapter's read.
type idleStream struct {
	s     llm.Stream
	idle  time.Duration
	ctx   context.Context // the attempt's
	model string
	timer *time.Timer // cancels ctx with errStreamIdle when it fires
}

func (s *idleStream) Next() (llm.Chunk, error) {
	s.timer.Reset(s.idle)
	c, err := s.s.Next()
	s.timer.Stop()
	if err != nil && err != io.EOF && errors.Is(context.Cause(s.ctx), errStreamIdle) {
		err = &Error{Model: s.model, StatusCode: http.StatusGatewayTimeout, Code: CodeStreamIdle,
			Err: fmt.Errorf("no chunk within %v: %w", s.idle, err)}
	}
	return c, err
}

func (s *idleStream) Close() error {
	s.timer.Stop()
	return s.s.Close()
}
