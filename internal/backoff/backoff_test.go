package backoff

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestCeiling(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		n    int
		want time.Duration
	}{
		{"zero policy first", Policy{}, 1, DefaultBase},
		{"zero policy third", Policy{}, 3, 4 * DefaultBase},
		{"zero policy capped", Policy{}, 10, DefaultMax},
		{"n below one", Policy{Base: time.Second, Max: time.Minute}, 0, time.Second},
		{"doubling", Policy{Base: 10 * time.Millisecond, Max: time.Second}, 4, 80 * time.Millisecond},
		{"cap", Policy{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}, 4, 50 * time.Millisecond},
		{"huge n does not overflow", Policy{Base: time.Second, Max: time.Hour}, 1000, time.Hour},
		{"base above max", Policy{Base: time.Minute, Max: time.Second}, 1, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Ceiling(tt.n); got != tt.want {
				t.Errorf("%+v.Ceiling(%d) = %v; want %v", tt.p, tt.n, got, tt.want)
			}
		})
	}
}

func TestDelayWithinCeilingAndSpread(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: 2 * time.Second}
	rnd := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 8; n++ {
		ceiling := p.Ceiling(n)
		var lo, hi time.Duration = ceiling, 0
		for range 2000 {
			d := p.Delay(n, rnd)
			if d < 0 || d > ceiling {
				t.Fatalf("Delay(%d) = %v; want within [0, %v]", n, d, ceiling)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		// Full jitter: the draws cover most of the range, not one point.
		if lo > ceiling/10 || hi < ceiling*9/10 {
			t.Errorf("Delay(%d) spread [%v, %v]; want close to [0, %v]", n, lo, hi, ceiling)
		}
	}
}

func TestDelayNilRandIsConcurrencySafe(t *testing.T) {
	p := Policy{}
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 1000 {
				if d := p.Delay(3, nil); d < 0 || d > p.Ceiling(3) {
					t.Errorf("Delay(3, nil) = %v; want within [0, %v]", d, p.Ceiling(3))
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

func TestAfter(t *testing.T) {
	p := Policy{Base: 10 * time.Millisecond, Max: 20 * time.Millisecond}
	rnd := rand.New(rand.NewPCG(3, 4))
	if got := p.After(1, 5*time.Second, rnd); got != 5*time.Second {
		t.Errorf("After(1, 5s) = %v; want the hint 5s, uncapped", got)
	}
	for range 100 {
		if got := p.After(2, 0, rnd); got < 0 || got > 20*time.Millisecond {
			t.Fatalf("After(2, 0) = %v; want a jittered delay within [0, 20ms]", got)
		}
	}
	if got := p.After(2, -time.Second, rnd); got < 0 || got > 20*time.Millisecond {
		t.Errorf("After(2, -1s) = %v; want a negative hint ignored", got)
	}
}
