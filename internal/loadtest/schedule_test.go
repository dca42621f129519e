package loadtest

import (
	"testing"
	"time"
)

func TestArrivalOffsetConstantRate(t *testing.T) {
	for i, want := range map[int64]time.Duration{0: 0, 1: 10 * time.Millisecond, 100: time.Second, 1000: 10 * time.Second} {
		if got := arrivalOffset(i, 100, 0); got != want {
			t.Errorf("arrivalOffset(%d, 100/s, no ramp) = %v; want %v", i, got, want)
		}
	}
}

// TestArrivalOffsetRamp checks that the number of requests due by time t
// follows the ramp: rate·t²/(2·ramp) during it, rate·(t - ramp/2) after.
func TestArrivalOffsetRamp(t *testing.T) {
	const rate = 1000.0
	ramp := 2 * time.Second
	due := func(by time.Duration) int64 {
		var n int64
		for arrivalOffset(n, rate, ramp) < by {
			n++
		}
		return n
	}
	tests := []struct {
		by   time.Duration
		want int64
	}{
		{time.Second, 250},           // 1000·1²/4
		{2 * time.Second, 1000},      // end of the ramp: half the full rate's count
		{3 * time.Second, 2000},      // then 1000 more per second
		{500 * time.Millisecond, 63}, // 1000·0.25/4 = 62.5
	}
	for _, tt := range tests {
		if got := due(tt.by); got < tt.want-1 || got > tt.want+1 {
			t.Errorf("requests due by %v = %d; want %d ± 1", tt.by, got, tt.want)
		}
	}
	prev := time.Duration(-1)
	for i := range int64(3000) {
		at := arrivalOffset(i, rate, ramp)
		if at < prev {
			t.Fatalf("arrivalOffset(%d) = %v < arrivalOffset(%d) = %v: not monotonic", i, at, i-1, prev)
		}
		prev = at
	}
}

func TestUserStart(t *testing.T) {
	if got := userStart(0, 4, time.Second); got != 0 {
		t.Errorf("userStart(0) = %v; want 0", got)
	}
	if got := userStart(3, 4, time.Second); got != 750*time.Millisecond {
		t.Errorf("userStart(3 of 4, 1s) = %v; want 750ms", got)
	}
	if got := userStart(5, 10, 0); got != 0 {
		t.Errorf("userStart without ramp = %v; want 0", got)
	}
}

func TestBucketWidth(t *testing.T) {
	tests := []struct{ d, want time.Duration }{
		{time.Second, 100 * time.Millisecond},
		{30 * time.Second, 200 * time.Millisecond},
		{time.Minute, 500 * time.Millisecond},
		{10 * time.Minute, 5 * time.Second},
		{1000 * time.Hour, time.Hour},
	}
	for _, tt := range tests {
		if got := bucketWidth(tt.d); got != tt.want {
			t.Errorf("bucketWidth(%v) = %v; want %v", tt.d, got, tt.want)
		}
	}
}
