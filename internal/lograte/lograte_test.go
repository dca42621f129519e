package lograte

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newLogger(o Options) (*slog.Logger, *bytes.Buffer, *clock) {
	var buf bytes.Buffer
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o.Now = c.Now
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(New(h, o)), &buf, c
}

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimSpace(buf.String())
	buf.Reset()
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestHandlerLimitsRepeats(t *testing.T) {
	log, buf, clk := newLogger(Options{Interval: 10 * time.Second})
	ctx := context.Background()

	for i := range 5 {
		log.WarnContext(ctx, "semantic cache put failed", "err", "redis down", "i", i)
	}
	got := lines(buf)
	if len(got) != 1 || !strings.Contains(got[0], "i=0") || strings.Contains(got[0], SuppressedKey) {
		t.Fatalf("first burst logged %q; want the first record only", got)
	}

	// Another kind, a derived logger and records below Warn are not held back.
	log.With("store", "redis").Warn("session context unavailable; answering without it")
	log.Info("semantic cache put failed")
	if got := lines(buf); len(got) != 2 {
		t.Errorf("other kinds logged %q; want both lines", got)
	}
	// The same message at Error is another kind.
	log.Error("semantic cache put failed")
	if got := lines(buf); len(got) != 1 {
		t.Errorf("an error of the same message logged %q; want it", got)
	}

	clk.Advance(9 * time.Second)
	log.With("model", "m").Warn("semantic cache put failed", "i", 5) // derived: same count
	if got := lines(buf); len(got) != 0 {
		t.Errorf("within the interval logged %q; want nothing", got)
	}

	clk.Advance(time.Second)
	log.Warn("semantic cache put failed", "i", 6)
	got = lines(buf)
	if len(got) != 1 || !strings.Contains(got[0], "i=6") || !strings.Contains(got[0], "suppressed=5") {
		t.Errorf("after the interval logged %q; want one line with suppressed=5", got)
	}

	clk.Advance(10 * time.Second)
	log.Warn("semantic cache put failed", "i", 7)
	got = lines(buf)
	if len(got) != 1 || strings.Contains(got[0], SuppressedKey) {
		t.Errorf("after a quiet interval logged %q; want one line without a count", got)
	}
}

func TestHandlerForgetsKindsPastItsCap(t *testing.T) {
	log, buf, clk := newLogger(Options{Interval: time.Second, MaxKinds: 2})
	log.Warn("a")
	log.Warn("b")
	log.Warn("c") // beyond the cap: passes, not remembered
	log.Warn("c")
	if got := lines(buf); len(got) != 4 {
		t.Errorf("past the cap logged %q; want every record", got)
	}
	clk.Advance(time.Second)
	log.Warn("d") // a and b are quiet and over: forgotten, d remembered
	log.Warn("d")
	if got := lines(buf); len(got) != 1 {
		t.Errorf("after forgetting logged %q; want d once", got)
	}
}

func TestHandlerConcurrent(t *testing.T) {
	log, buf, _ := newLogger(Options{Interval: time.Hour})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				log.Warn("store down")
			}
		})
	}
	wg.Wait()
	if got := lines(buf); len(got) != 1 {
		t.Errorf("800 concurrent records logged %d lines; want 1", len(got))
	}
}
