package provider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cato-gateway/cato/internal/breaker"
	"github.com/cato-gateway/cato/internal/llm"
)

// Fallback sends a request down a chain of models, the primary first, until
// one answers, all within one deadline budget. It moves on only when a
// model's failure says another may do better: a retryable error (after the
// model's own retries), an open breaker, or a full queue. A request the
// model rejected (400), a caller that went away and a spent budget end the
// chain. Safe for concurrent use.
type Fallback struct {
	lookup func(model string) (Provider, bool)
	budget time.Duration
	log    *slog.Logger
}

// NewFallback returns a Fallback over the providers lookup finds, usually
// Guards (see Lookup). budget bounds each whole call, retries and
// fallbacks included, and for a stream the wait for its first chunk; zero
// means no budget beyond the caller's context.
func NewFallback(lookup func(model string) (Provider, bool), budget time.Duration, log *slog.Logger) *Fallback {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Fallback{lookup: lookup, budget: budget, log: log}
}

// Lookup returns a lookup function over m, for NewFallback.
func Lookup[P Provider](m map[string]P) func(model string) (Provider, bool) {
	return func(model string) (Provider, bool) {
		p, ok := m[model]
		return p, ok
	}
}

// ModelFailure is why one model of a chain did not answer.
type ModelFailure struct {
	Model string
	Err   error
}

// Answer is the result of Fallback.Chat.
type Answer struct {
	Response *llm.Response
	// Model is the model that answered.
	Model string
	// FallbackUsed reports whether Model is not the chain's first.
	FallbackUsed bool
	// Failures lists the models tried before Model, in order.
	Failures []ModelFailure
}

// StreamAnswer is the result of Fallback.ChatStream. The caller must Close
// Stream.
type StreamAnswer struct {
	Stream       llm.Stream
	Model        string
	FallbackUsed bool
	Failures     []ModelFailure
}

// errBudget is the cancel cause of a request whose budget ran out.
var errBudget = errors.New("request budget spent")

// Chat asks the models of chain in order, with req.Model set to each, and
// returns the first answer. When none answers, the error wraps every
// model's failure, the primary's first.
func (f *Fallback) Chat(ctx context.Context, chain []string, req *llm.Request) (Answer, error) {
	var budget time.Time // zero: no budget
	if f.budget > 0 {
		budget = time.Now().Add(f.budget)
	}
	// A Guard is handed the budget's deadline and makes one context per
	// attempt that carries it (see Guard.chat); any other Provider gets a
	// budget context, made for the first of them.
	bctx, cancel := ctx, context.CancelFunc(nil)
	defer func() {
		if cancel != nil {
			cancel()
		}
	}()
	var a Answer
	err := f.walk(ctx, budget, chain, &a.Failures, func(model string, p Provider) error {
		var resp *llm.Response
		var err error
		if g, ok := p.(*Guard); ok {
			resp, err = g.chat(ctx, addressed(req, model), budget)
		} else {
			if cancel == nil {
				bctx, cancel = withBudget(ctx, budget)
			}
			resp, err = p.Chat(bctx, addressed(req, model))
		}
		if err == nil {
			a.Response, a.Model, a.FallbackUsed = resp, model, model != chain[0]
		}
		return err
	})
	return a, err
}

// ChatStream is Chat for streams. A model is passed over only before its
// stream yields the first chunk: ChatStream reads that chunk before it
// returns, and a failure after it is the caller's, returned by Next.
//
// The budget bounds the wait for the first chunk only: once a stream has
// started it is bounded by each Guard's idle timeout between chunks and by
// the caller's context (the server's write timeout), so a long but healthy
// answer is not cut.
func (f *Fallback) ChatStream(ctx context.Context, chain []string, req *llm.Request) (StreamAnswer, error) {
	ctx, cancelCause := context.WithCancelCause(ctx)
	cancel := func() { cancelCause(nil) }
	var budget *time.Timer
	if f.budget > 0 {
		budget = time.AfterFunc(f.budget, func() { cancelCause(errBudget) })
	}
	var a StreamAnswer
	err := f.walk(ctx, time.Time{}, chain, &a.Failures, func(model string, p Provider) error {
		s, err := p.ChatStream(ctx, addressed(req, model))
		if err != nil {
			return err
		}
		first, eof, err := peekFirst(s)
		if err != nil {
			return err
		}
		if budget != nil && !budget.Stop() {
			s.Close() // the budget ran out as the chunk came: the stream is cancelled
			return context.Cause(ctx)
		}
		ps := &peekedStream{}
		ps.init(s, first, eof, cancelOnEnd(cancel))
		a.Stream, a.Model, a.FallbackUsed = ps, model, model != chain[0]
		return nil
	})
	if err != nil {
		if budget != nil {
			budget.Stop()
		}
		cancel()
	}
	return a, err
}

// walk calls try for each model of chain until one succeeds or a failure
// ends the chain; a budget that ends at budget (zero: none, or carried by
// ctx) ends it too.
func (f *Fallback) walk(ctx context.Context, budget time.Time, chain []string, failures *[]ModelFailure, try func(model string, p Provider) error) error {
	if len(chain) == 0 {
		return errors.New("routing gave no model to call")
	}
	seen := make(map[string]bool, len(chain))
	for i, model := range chain {
		if seen[model] {
			continue
		}
		seen[model] = true
		p, ok := f.lookup(model)
		var err error
		if !ok {
			err = &Error{Model: model, StatusCode: http.StatusNotFound, Code: CodeModelNotFound, Err: errors.New("no provider is configured for this model")}
		} else if err = try(model, p); err == nil {
			return nil
		}
		*failures = append(*failures, ModelFailure{Model: model, Err: err})
		if ctx.Err() != nil || budgetSpent(budget) {
			break
		}
		if ok && !canFallback(err) {
			break
		}
		if i < len(chain)-1 {
			f.log.WarnContext(ctx, "falling back", slog.String("model", model), slog.Any("err", err))
		}
	}
	return f.exhausted(ctx, budget, chain, *failures)
}

// exhausted builds the error of a chain in which no model answered.
func (f *Fallback) exhausted(ctx context.Context, budget time.Time, chain []string, failures []ModelFailure) error {
	errs := make([]error, 0, len(failures)+1)
	if errors.Is(context.Cause(ctx), errBudget) || spentFirst(ctx, budget) {
		last := chain[0]
		if len(failures) > 0 {
			last = failures[len(failures)-1].Model
		}
		errs = append(errs, &Error{Model: last, StatusCode: http.StatusGatewayTimeout, Code: CodeDeadlineExceeded,
			Err: fmt.Errorf("%w after %v", errBudget, f.budget)})
	}
	for _, mf := range failures {
		errs = append(errs, mf.Err)
	}
	names := make([]string, len(failures))
	for i, mf := range failures {
		names[i] = mf.Model
	}
	return fmt.Errorf("no model answered (tried %s): %w", strings.Join(names, ", "), errors.Join(errs...))
}

// withBudget returns ctx bounded by the budget that ends at budget (zero:
// none).
func withBudget(ctx context.Context, budget time.Time) (context.Context, context.CancelFunc) {
	if budget.IsZero() {
		return context.WithCancel(ctx)
	}
	return context.WithDeadlineCause(ctx, budget, errBudget)
}

// spentFirst reports whether the budget ending at budget (zero: none) ran
// out before ctx ended, as a budget context's cause would tell: a caller
// that went away, or whose own deadline passed first, did not run out of
// budget.
func spentFirst(ctx context.Context, budget time.Time) bool {
	if !budgetSpent(budget) {
		return false
	}
	if ctx.Err() == nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && d.After(budget)
}

// canFallback reports whether another model may succeed where err failed.
func canFallback(err error) bool {
	return IsRetryable(err) || errors.Is(err, breaker.ErrOpen) || errors.Is(err, ErrOverloaded)
}
