// Package lograte keeps a repeated warning from flooding the log: a
// slog.Handler that lets one record per message through per interval and
// counts the ones it held back. app wraps the logger of the request path
// with it (a sick store warns on every request). It imports nothing of
// Cato.
package lograte

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// SuppressedKey is the attribute that carries, on the first record let
// through after an interval, how many records of its kind were held back.
const SuppressedKey = "suppressed"

// Options tune a Handler. The zero Options is valid.
type Options struct {
	// Interval is how long after letting a record of one kind through the
	// Handler holds back the others. Zero means 10s.
	Interval time.Duration
	// Level is the lowest level limited; records below it always pass.
	// Nil means slog.LevelWarn.
	Level slog.Leveler
	// MaxKinds caps the kinds remembered; a record of a new kind beyond
	// it passes unlimited. Zero means 1024.
	MaxKinds int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler limits the records it passes to the handler it wraps: of the
// records at Options.Level or above with the same level and message (one
// kind), the first passes, the others within Options.Interval are dropped
// and counted, and the first after it passes with the count as its
// "suppressed" attribute. Attributes other than the message do not make a
// kind, so "saving the session turn failed" for a thousand sessions is one
// line per interval. Records held back after the last one to pass are
// counted on the next of their kind. Handlers derived with WithAttrs and
// WithGroup share the count. A Handler is safe for concurrent use when
// the wrapped one is.
type Handler struct {
	next  slog.Handler
	state *state
}

type state struct {
	interval time.Duration
	level    slog.Leveler
	maxKinds int
	now      func() time.Time

	mu    sync.Mutex // guards kinds
	kinds map[kind]*tally
}

type kind struct {
	level slog.Level
	msg   string
}

type tally struct {
	passed     time.Time // when the last record of the kind passed
	suppressed int       // records held back since then
}

// New returns a Handler that limits what reaches next.
func New(next slog.Handler, o Options) *Handler {
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.Level == nil {
		o.Level = slog.LevelWarn
	}
	if o.MaxKinds <= 0 {
		o.MaxKinds = 1024
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Handler{next: next, state: &state{
		interval: o.Interval, level: o.Level, maxKinds: o.MaxKinds, now: o.Now,
		kinds: map[kind]*tally{},
	}}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.state.level.Level() {
		return h.next.Handle(ctx, r)
	}
	n, pass := h.state.admit(kind{r.Level, r.Message})
	if !pass {
		return nil
	}
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int(SuppressedKey, n))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs), state: h.state}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), state: h.state}
}

// admit reports whether a record of kind k passes now, and how many of
// its kind were held back before it.
func (s *state) admit(k kind) (int, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.kinds[k]
	if !ok {
		if len(s.kinds) >= s.maxKinds {
			s.forgetQuietLocked(now)
			if len(s.kinds) >= s.maxKinds {
				return 0, true
			}
		}
		s.kinds[k] = &tally{passed: now}
		return 0, true
	}
	if now.Sub(t.passed) >= s.interval {
		n := t.suppressed
		t.passed, t.suppressed = now, 0
		return n, true
	}
	t.suppressed++
	return 0, false
}

// forgetQuietLocked drops the kinds whose interval is over and that hold
// no count. s.mu must be held.
func (s *state) forgetQuietLocked(now time.Time) {
	for k, t := range s.kinds {
		if t.suppressed == 0 && now.Sub(t.passed) >= s.interval {
			delete(s.kinds, k)
		}
	}
}
