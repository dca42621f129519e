package breaker

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cato-gateway/cato/internal/window"
)

// ErrOpen is returned by Allow when the breaker is open, or half open with
// every probe slot taken. The call was not made; the caller should not retry
// the same model but may try another.
var ErrOpen = errors.New("circuit breaker is open")

// OpenError is the error of Allow when the breaker refuses a call. It
// wraps ErrOpen.
type OpenError struct {
	Model string
	// RetryIn is how long until the breaker half-opens and lets a probe
	// through; zero when it is half open already with every probe slot
	// taken.
	RetryIn time.Duration
}

func (e *OpenError) Error() string { return fmt.Sprintf("model %s: %v", e.Model, ErrOpen) }

func (e *OpenError) Unwrap() error { return ErrOpen }

// Defaults of a zero Config.
const (
	DefaultFailures       = 5
	DefaultFailureRate    = 0.5
	DefaultMinRequests    = 20
	DefaultWindow         = 60 * time.Second
	DefaultCooldown       = 30 * time.Second
	DefaultHalfOpenProbes = 1
)

// Config tunes a Breaker. The zero Config is valid: it opens when half of
// the calls of the last 60s failed, once there were at least 20 of them, or
// at lower volume after 5 consecutive failures; it stays open 30s and then
// lets 1 probe through.
//
// The consecutive rule applies only while the window holds fewer than
// MinRequests calls, finished or in flight (or when the rate rule is
// disabled): at volume a few failures in a row are a small share and say
// little, while at low volume the rate has too small a sample to decide.
type Config struct {
	// Failures is how many consecutive failures open the breaker while the
	// window holds fewer than MinRequests calls. Zero means
	// DefaultFailures; negative disables this rule.
	Failures int
	// FailureRate opens the breaker when the share of failed calls within
	// Window reaches it, once at least MinRequests calls were counted there.
	// Zero means DefaultFailureRate; negative disables this rule (and then
	// the consecutive rule applies at any volume).
	FailureRate float64
	// MinRequests is the sample FailureRate needs. Zero means
	// DefaultMinRequests.
	MinRequests int
	// Window is the sliding window of FailureRate. Zero means DefaultWindow.
	Window time.Duration
	// Cooldown is how long the breaker stays open before it half-opens.
	// Zero means DefaultCooldown.
	Cooldown time.Duration
	// HalfOpenProbes is how many calls a half-open breaker lets through;
	// that many successes close it, one failure reopens it. Zero means
	// DefaultHalfOpenProbes.
	HalfOpenProbes int
}

func (c Config) withDefaults() Config {
	if c.Failures == 0 {
		c.Failures = DefaultFailures
	}
	if c.FailureRate == 0 {
		c.FailureRate = DefaultFailureRate
	}
	if c.MinRequests <= 0 {
		c.MinRequests = DefaultMinRequests
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.Cooldown <= 0 {
		c.Cooldown = DefaultCooldown
	}
	if c.HalfOpenProbes <= 0 {
		c.HalfOpenProbes = DefaultHalfOpenProbes
	}
	return c
}

// Options are a Breaker's collaborators. The zero Options is valid.
type Options struct {
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// OnStateChange, if set, is told of every transition. It is called once
	// per transition, in order, never concurrently with itself, and never
	// with the breaker's lock held, so it may call the Breaker's methods.
	// It may run on the goroutine of a later call than the one that caused
	// the transition, so it should be quick (log, count, set a gauge).
	OnStateChange func(Transition)
}

// Transition describes one change of state. Fields may be added.
type Transition struct {
	Model    string
	From, To State
	At       time.Time
	// Reason says what caused it ("5 consecutive failures", "cooldown
	// elapsed", "probe failed", "probes succeeded").
	Reason string
}

// Snapshot is a Breaker's state at one moment, for /status.
type Snapshot struct {
	State State `json:"state"`
	// ConsecutiveFailures counts the failures since the last success; it
	// is kept while open and reset when the breaker closes.
	ConsecutiveFailures int `json:"failures"`
	// Requests and Failures count the calls within the failure-rate
	// window while closed.
	Requests int `json:"window_requests"`
	Failures int `json:"window_failures"`
	// Rejected counts the calls refused with ErrOpen since the start.
	Rejected uint64 `json:"rejected"`
	// Since is when the breaker entered State.
	Since time.Time `json:"since"`
}

// Breaker is the circuit breaker of one model. Create it with New; it is
// safe for concurrent use.
type Breaker struct {
	model    string
	cfg      Config
	now      func() time.Time
	onChange func(Transition)

	mu          sync.Mutex // guards every field below, up to hookMu
	state       State
	gen         uint64 // bumped on every transition; stale results are dropped
	since       time.Time
	consecutive int
	inFlight    int // calls allowed whose result has not come back
	win         *window.Window[counts]
	probes      int // half-open calls let through and not yet ignored
	probeOK     int // half-open calls that succeeded
	pending     []Transition

	hookMu   sync.Mutex // held while OnStateChange runs, so calls are serial and in order
	rejected atomic.Uint64
}

// New returns a closed Breaker for model.
func New(model string, cfg Config, opts Options) *Breaker {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	cfg = cfg.withDefaults()
	t := now()
	return &Breaker{
		model:    model,
		cfg:      cfg,
		now:      now,
		onChange: opts.OnStateChange,
		since:    t,
		win:      window.New[counts](t, cfg.Window, windowBuckets),
	}
}

// Model returns the name the breaker was created for.
func (b *Breaker) Model() string { return b.model }

// Allow asks to make one call. When the breaker refuses, it returns ErrOpen
// and the caller must not call. Otherwise the caller must call done exactly
// once with the call's Outcome; later calls of done do nothing. A result
// that arrives after the breaker has changed state is not counted.
func (b *Breaker) Allow() (done func(Outcome), err error) {
	b.mu.Lock()
	now := b.now()
	changed := b.advanceLocked(now)
	refused := false
	var retryIn time.Duration
	switch b.state {
	case Open:
		refused = true
		retryIn = b.cfg.Cooldown - now.Sub(b.since)
	case HalfOpen:
		if b.probes >= b.cfg.HalfOpenProbes {
			refused = true
		} else {
			b.probes++
		}
	}
	gen := b.gen
	if !refused {
		b.inFlight++
	}
	b.mu.Unlock()
	if changed {
		b.notify()
	}
	if refused {
		b.rejected.Add(1)
		return nil, &OpenError{Model: b.model, RetryIn: retryIn}
	}
	var once atomic.Bool
	return func(o Outcome) {
		if once.CompareAndSwap(false, true) {
			b.record(gen, o)
		}
	}, nil
}

// State returns the current state, moving an open breaker whose cool-down
// has passed to half_open.
func (b *Breaker) State() State {
	b.mu.Lock()
	changed := b.advanceLocked(b.now())
	s := b.state
	b.mu.Unlock()
	if changed {
		b.notify()
	}
	return s
}

// Snapshot returns the current state and counts.
func (b *Breaker) Snapshot() Snapshot {
	b.mu.Lock()
	now := b.now()
	changed := b.advanceLocked(now)
	s := Snapshot{State: b.state, ConsecutiveFailures: b.consecutive, Since: b.since}
	if b.state == Closed {
		s.Requests, s.Failures = b.sumLocked(now)
	}
	b.mu.Unlock()
	if changed {
		b.notify()
	}
	s.Rejected = b.rejected.Load()
	return s
}

func (b *Breaker) record(gen uint64, o Outcome) {
	b.mu.Lock()
	b.inFlight--
	now := b.now()
	changed := false
	if gen == b.gen {
		switch b.state {
		case Closed:
			changed = b.recordClosedLocked(now, o)
		case HalfOpen:
			changed = b.recordHalfOpenLocked(now, o)
		}
	}
	b.mu.Unlock()
	if changed {
		b.notify()
	}
}

// recordClosedLocked counts o and trips the breaker when a rule says so.
// b.mu must be held.
func (b *Breaker) recordClosedLocked(now time.Time, o Outcome) bool {
	switch o {
	case Success:
		b.consecutive = 0
		b.win.At(now).total++
	case Failure:
		b.consecutive++
		c := b.win.At(now)
		c.total++
		c.failed++
		if b.cfg.Failures > 0 && b.consecutive >= b.cfg.Failures && b.lowVolumeLocked(now) {
			b.transitionLocked(Open, now, fmt.Sprintf("%d consecutive failures", b.consecutive))
			return true
		}
	default:
		return false
	}
	// The rate is checked after successes too: the call that completes the
	// MinRequests sample may be one.
	if b.cfg.FailureRate > 0 {
		total, failed := b.sumLocked(now)
		if total >= b.cfg.MinRequests && float64(failed) >= b.cfg.FailureRate*float64(total) {
			b.transitionLocked(Open, now, fmt.Sprintf("%d of %d calls failed within %v", failed, total, b.cfg.Window))
			return true
		}
	}
	return false
}

// lowVolumeLocked reports whether the consecutive rule applies: the rate
// rule is disabled, or its window holds fewer than MinRequests calls,
// counting the calls still in flight: a burst of thousands of calls is
// not low volume because few of them have finished yet. b.mu must be
// held.
func (b *Breaker) lowVolumeLocked(now time.Time) bool {
	if b.cfg.FailureRate <= 0 {
		return true
	}
	total, _ := b.sumLocked(now)
	return total+b.inFlight < b.cfg.MinRequests
}

// windowBuckets is how many slices the failure-rate window is cut into: the
// rate forgets old calls a tenth of a window at a time, which is smooth
// enough for a breaker and costs a fixed 10 counters per model.
const windowBuckets = 10

// counts are the calls and failures of one slice of the failure-rate
// window.
type counts struct{ total, failed int }

// sumLocked returns the calls and failures within the failure-rate window.
// b.mu must be held.
func (b *Breaker) sumLocked(now time.Time) (total, failed int) {
	for c := range b.win.Live(now) {
		total += c.total
		failed += c.failed
	}
	return total, failed
}

// recordHalfOpenLocked counts a probe's result. b.mu must be held.
func (b *Breaker) recordHalfOpenLocked(now time.Time, o Outcome) bool {
	switch o {
	case Ignored:
		b.probes-- // give the slot to another caller
	case Failure:
		b.consecutive++
		b.transitionLocked(Open, now, "probe failed")
		return true
	case Success:
		b.consecutive = 0
		b.probeOK++
		if b.probeOK >= b.cfg.HalfOpenProbes {
			b.transitionLocked(Closed, now, "probes succeeded")
			return true
		}
	}
	return false
}

// advanceLocked half-opens an open breaker whose cool-down has passed and
// reports whether it did. b.mu must be held.
func (b *Breaker) advanceLocked(now time.Time) bool {
	if b.state == Open && now.Sub(b.since) >= b.cfg.Cooldown {
		b.transitionLocked(HalfOpen, now, "cooldown elapsed")
		return true
	}
	return false
}

// transitionLocked moves to state to and queues the hook's event. b.mu
// must be held.
func (b *Breaker) transitionLocked(to State, now time.Time, reason string) {
	from := b.state
	b.state, b.since = to, now
	b.gen++
	b.probes, b.probeOK = 0, 0
	if to == Closed {
		b.consecutive = 0
		b.win.Reset()
	}
	if b.onChange != nil {
		b.pending = append(b.pending, Transition{Model: b.model, From: from, To: to, At: now, Reason: reason})
	}
}

// notify delivers queued transitions to OnStateChange in order. Whoever
// holds hookMu delivers everything queued meanwhile, so a caller that finds
// it taken (another goroutine, or the hook itself calling back into the
// breaker) can return at once.
func (b *Breaker) notify() {
	if b.onChange == nil {
		return
	}
	for {
		if !b.hookMu.TryLock() {
			return
		}
		for {
			b.mu.Lock()
			p := b.pending
			b.pending = nil
			b.mu.Unlock()
			if len(p) == 0 {
				break
			}
			for _, t := range p {
				b.onChange(t)
			}
		}
		b.hookMu.Unlock()
		// A transition queued after the last drain, by a caller whose
		// TryLock failed, would otherwise wait for the next one.
		b.mu.Lock()
		more := len(b.pending) > 0
		b.mu.Unlock()
		if !more {
			return
		}
	}
}
