package rollout

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

func TestSimilarity(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"", "", 1},
		{"The answer is 4.", "the ANSWER is 4", 1},
		{"The answer is 4.", "4 is the answer!", 1},
		{"the answer is 4", "the answer is 5", 3.0 / 5},
		{"yes", "no", 0},
		{"yes", "", 0},
		{"café 42", "CAFÉ, 42", 1},
	}
	for _, tt := range tests {
		if got := Similarity(tt.a, tt.b); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Similarity(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestShadowCompares(t *testing.T) {
	sh := NewShadow(ShadowOptions{Percentage: 100})
	mirror := func(primarySide Side, primary, shadow Answer) {
		if !sh.Mirror(primarySide, primary, func(context.Context) Answer { return shadow }) {
			t.Fatal("Mirror dropped a shadow with free slots")
		}
	}
	// Legacy primary, new shadow: same words, new 60ms faster, same length.
	mirror(SideLegacy, Answer{Text: "The answer is 4.", Status: 200, Latency: 100 * time.Millisecond},
		Answer{Text: "4 is the answer.", Status: 200, Latency: 40 * time.Millisecond})
	// New primary, legacy shadow: nothing in common, new 20ms slower and twice as long.
	mirror(SideNew, Answer{Text: "no no", Status: 200, Latency: 70 * time.Millisecond},
		Answer{Text: "yes", Status: 200, Latency: 50 * time.Millisecond})
	// The shadow fails.
	mirror(SideLegacy, Answer{Text: "ok", Status: 200}, Answer{Err: errors.New("breaker open")})
	// Both fail.
	mirror(SideNew, Answer{Status: 503}, Answer{Status: 502})
	sh.Close()

	got := sh.Stats()
	want := ShadowStats{
		Percentage: 100, Sent: 4, Completed: 4, PrimaryErrors: 1, ShadowErrors: 2, ErrorMismatch: 1,
		Compared: 2, MeanSimilarity: 0.5, LowSimilarity: 1, MeanLatencyDeltaMs: (-60 + 20) / 2.0,
		MeanLengthRatio: (1 + 5.0/3) / 2,
	}
	if math.Abs(got.MeanLengthRatio-want.MeanLengthRatio) < 1e-9 {
		got.MeanLengthRatio = want.MeanLengthRatio
	}
	if got != want {
		t.Errorf("Stats = %+v\nwant    %+v", got, want)
	}
}

func TestShadowTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sh := NewShadow(ShadowOptions{Percentage: 100, Timeout: time.Second})
		start := time.Now()
		var took time.Duration
		sh.Mirror(SideLegacy, Answer{Status: 200}, func(ctx context.Context) Answer {
			<-ctx.Done()
			took = time.Since(start)
			return Answer{Err: ctx.Err()}
		})
		synctest.Wait()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if took != time.Second {
			t.Errorf("shadow call ended after %v; want the 1s timeout", took)
		}
		if st := sh.Stats(); st.Completed != 1 || st.ShadowErrors != 1 {
			t.Errorf("Stats = %+v; want one completed, failed shadow", st)
		}
		sh.Close()
	})
}

func TestShadowSample(t *testing.T) {
	for _, tt := range []struct {
		pct  float64
		want float64
	}{{0, 0}, {100, 1}, {25, 0.25}} {
		sh := NewShadow(ShadowOptions{Percentage: tt.pct})
		n := 0
		for range 10000 {
			if sh.Sample() {
				n++
			}
		}
		if got := float64(n) / 10000; math.Abs(got-tt.want) > 0.03 {
			t.Errorf("Sample at %v%% drew %.3f; want about %.2f", tt.pct, got, tt.want)
		}
	}
}
