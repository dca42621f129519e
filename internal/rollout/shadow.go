package rollout

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

// Answer is what one side answered to a request, as Shadow compares it.
type Answer struct {
	// Text is the answer's text (the assistant message, or the streamed
	// deltas joined).
	Text    string
	Status  int
	Err     error
	Latency time.Duration
	// CostUSD is what the answer cost, when CostKnown: set by Legacy when
	// its Price is set and the answer carried usage, and by api for the
	// new side.
	CostUSD   float64
	CostKnown bool
}

func (a Answer) failed() bool {
	return a.Err != nil || a.Status >= http.StatusInternalServerError
}

// ShadowOptions tunes a Shadow. The zero value mirrors nothing.
type ShadowOptions struct {
	// Percentage is the share of primary requests also sent to the other
	// side, 0..100. Default 0.
	Percentage float64
	// MaxConcurrent caps shadow calls in flight; a shadow that finds no free
	// slot is dropped and counted. Zero means DefaultShadowConcurrency.
	MaxConcurrent int
	// Timeout bounds one shadow call. Zero means 60s.
	Timeout time.Duration
	Log     *slog.Logger
}

// DefaultShadowConcurrency is how many shadow calls may be in flight
// unless ShadowOptions says otherwise.
const DefaultShadowConcurrency = 64

// Shadow mirrors a share of primary traffic to the other side in the
// background and compares the two answers: latency, errors, answer length
// and a token Jaccard similarity. It never touches the primary response:
// api calls Mirror after the primary answer is written, Mirror returns at
// once, and the shadow call runs detached from the client's request, with
// its own timeout, in at most MaxConcurrent goroutines that Close cancels
// and waits for. A Shadow is safe for concurrent use. Create it with
// NewShadow.
type Shadow struct {
	opts   ShadowOptions
	slots  chan struct{}
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	mu     sync.Mutex // guards closed and wg.Add against Close's wg.Wait
	closed bool
	wg     sync.WaitGroup

	sent    atomic.Uint64
	dropped atomic.Uint64

	cmpMu sync.Mutex // guards cmp
	cmp   comparison
}

// comparison accumulates the figures of finished shadows.
type comparison struct {
	completed                   uint64
	primaryErrors, shadowErrors uint64
	errorMismatch               uint64 // one side failed and the other did not
	bothOK                      uint64
	similaritySum               float64
	lowSimilarity               uint64 // bothOK with similarity below 0.5
	latencyDeltaSum             time.Duration
	lengthRatioSum              float64
	lengthRatioN                uint64
}

// NewShadow returns a Shadow.
func NewShadow(opts ShadowOptions) *Shadow {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultShadowConcurrency
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Shadow{opts: opts, slots: make(chan struct{}, opts.MaxConcurrent), ctx: ctx, cancel: cancel}
}

// Sample draws whether one request is mirrored, against Percentage.
func (s *Shadow) Sample() bool {
	p := s.opts.Percentage
	return p > 0 && (p >= 100 || rand.Float64()*100 < p)
}

// Mirror runs call, the same request sent to the other side than primary,
// in the background and compares its answer with the primary one. It
// returns at once, reporting false when the shadow was dropped because all
// slots are busy or Shadow is closed. call gets a context detached from the
// client's request, cancelled by the timeout or Close; it must not write to
// the client.
func (s *Shadow) Mirror(primarySide Side, primary Answer, call func(ctx context.Context) Answer) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.dropped.Add(1)
		return false
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.mu.Unlock()
		s.dropped.Add(1)
		return false
	}
	s.wg.Add(1)
	s.mu.Unlock()
	s.sent.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.slots }()
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.Timeout)
		defer cancel()
		shadow := call(ctx)
		if s.ctx.Err() != nil && errors.Is(shadow.Err, context.Canceled) {
			return // cut short by Close: the comparison would be noise
		}
		s.compare(primarySide, primary, shadow)
	}()
	return true
}

// Close cancels the shadows in flight, waits for them to end and refuses
// new ones. It returns nil.
func (s *Shadow) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

func (s *Shadow) compare(primarySide Side, primary, shadow Answer) {
	newA, legacyA := shadow, primary
	if primarySide == SideNew {
		newA, legacyA = primary, shadow
	}
	var sim float64
	bothOK := !primary.failed() && !shadow.failed()
	if bothOK {
		sim = Similarity(primary.Text, shadow.Text)
	}
	s.cmpMu.Lock()
	c := &s.cmp
	c.completed++
	if primary.failed() {
		c.primaryErrors++
	}
	if shadow.failed() {
		c.shadowErrors++
	}
	if primary.failed() != shadow.failed() {
		c.errorMismatch++
	}
	if bothOK {
		c.bothOK++
		c.similaritySum += sim
		if sim < 0.5 {
			c.lowSimilarity++
		}
		c.latencyDeltaSum += newA.Latency - legacyA.Latency
		if n := len(legacyA.Text); n > 0 {
			c.lengthRatioSum += float64(len(newA.Text)) / float64(n)
			c.lengthRatioN++
		}
	}
	s.cmpMu.Unlock()
	if s.opts.Log != nil && s.opts.Log.Enabled(context.Background(), slog.LevelDebug) {
		s.opts.Log.Debug("shadow compared", slog.String("primary", primarySide.String()),
			slog.Bool("primary_failed", primary.failed()), slog.Bool("shadow_failed", shadow.failed()),
			slog.Float64("similarity", sim), slog.Duration("new_latency", newA.Latency),
			slog.Duration("legacy_latency", legacyA.Latency))
	}
}

// ShadowStats are the shadow comparison figures for /status and metrics.
// Latency and length compare the new side with the legacy side whichever
// was primary.
type ShadowStats struct {
	Percentage    float64 `json:"percentage"`
	Sent          uint64  `json:"sent"`
	Dropped       uint64  `json:"dropped"`
	Completed     uint64  `json:"completed"`
	PrimaryErrors uint64  `json:"primary_errors"`
	ShadowErrors  uint64  `json:"shadow_errors"`
	// ErrorMismatch counts pairs where exactly one side failed.
	ErrorMismatch uint64 `json:"error_mismatch"`
	// Compared counts pairs where both answered; the means below cover them.
	Compared       uint64  `json:"compared"`
	MeanSimilarity float64 `json:"mean_similarity"`
	// LowSimilarity counts compared pairs with similarity below 0.5.
	LowSimilarity uint64 `json:"low_similarity"`
	// MeanLatencyDeltaMs is the new side's latency minus the legacy side's.
	MeanLatencyDeltaMs float64 `json:"mean_latency_delta_ms"`
	// MeanLengthRatio is the new answer's length over the legacy one's.
	MeanLengthRatio float64 `json:"mean_length_ratio"`
}

// Stats returns the figures so far.
func (s *Shadow) Stats() ShadowStats {
	s.cmpMu.Lock()
	c := s.cmp
	s.cmpMu.Unlock()
	st := ShadowStats{
		Percentage: s.opts.Percentage, Sent: s.sent.Load(), Dropped: s.dropped.Load(),
		Completed: c.completed, PrimaryErrors: c.primaryErrors, ShadowErrors: c.shadowErrors,
		ErrorMismatch: c.errorMismatch, Compared: c.bothOK, LowSimilarity: c.lowSimilarity,
	}
	if c.bothOK > 0 {
		st.MeanSimilarity = c.similaritySum / float64(c.bothOK)
		st.MeanLatencyDeltaMs = ms(c.latencyDeltaSum) / float64(c.bothOK)
	}
	if c.lengthRatioN > 0 {
		st.MeanLengthRatio = c.lengthRatioSum / float64(c.lengthRatioN)
	}
	return st
}

// similarityMaxBytes caps the text Similarity reads; answers longer than
// that are compared on their first part, which keeps a shadow's cost flat.
const similarityMaxBytes = 64 << 10

// Similarity is the Jaccard index of the sets of lower-cased words (runs
// of letters and digits) of a and b: 1 for the same words, 0 for none in
// common. Two empty texts are identical.
func Similarity(a, b string) float64 {
	wa, wb := words(a), words(b)
	if len(wa) == 0 && len(wb) == 0 {
		return 1
	}
	inter := 0
	for w := range wa {
		if _, ok := wb[w]; ok {
			inter++
		}
	}
	return float64(inter) / float64(len(wa)+len(wb)-inter)
}

func words(s string) map[string]struct{} {
	if len(s) > similarityMaxBytes {
		s = s[:similarityMaxBytes]
	}
	set := map[string]struct{}{}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		set[strings.ToLower(w)] = struct{}{}
	}
	return set
}
