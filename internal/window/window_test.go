package window

import (
	"testing"
	"time"
)

type counts struct{ total, failed int }

func sum(w *Window[counts], now time.Time) counts {
	var c counts
	for b := range w.Live(now) {
		c.total += b.total
		c.failed += b.failed
	}
	return c
}

func TestWindow(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type event struct {
		at     time.Duration
		failed bool
	}
	tests := []struct {
		name   string
		events []event
		readAt time.Duration
		want   counts
	}{
		{"empty", nil, 0, counts{}},
		{"one bucket", []event{{0, false}, {time.Second, true}}, 5 * time.Second, counts{2, 1}},
		{"every bucket counts", []event{{0, true}, {30 * time.Second, false}, {59 * time.Second, false}}, 59 * time.Second, counts{3, 1}},
		{"the oldest bucket is forgotten", []event{{0, true}, {30 * time.Second, false}}, 60 * time.Second, counts{1, 0}},
		{"all forgotten after a span", []event{{0, true}, {5 * time.Second, true}}, 2 * time.Minute, counts{}},
		{"a reused slot forgets its old slice", []event{{0, true}, {60 * time.Second, false}}, 60 * time.Second, counts{1, 0}},
		{"a clock that steps back", []event{{-3 * time.Second, true}, {0, false}}, 0, counts{2, 1}},
		{"events read from the past are not counted", []event{{30 * time.Second, true}}, 0, counts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := New[counts](t0, time.Minute, 10)
			for _, e := range tt.events {
				b := w.At(at(e.at))
				b.total++
				if e.failed {
					b.failed++
				}
			}
			if got := sum(w, at(tt.readAt)); got != tt.want {
				t.Errorf("sum at %v = %+v; want %+v", tt.readAt, got, tt.want)
			}
		})
	}
}

func TestWindowReset(t *testing.T) {
	t0 := time.Now()
	w := New[counts](t0, time.Minute, 10)
	w.At(t0).total = 3
	w.Reset()
	if got := sum(w, t0); got != (counts{}) {
		t.Errorf("sum after Reset = %+v; want none", got)
	}
	w.At(t0).total++
	if got := sum(w, t0); got.total != 1 {
		t.Errorf("sum after Reset and one event = %+v; want 1", got)
	}
}

func TestWindowDegenerateSizes(t *testing.T) {
	t0 := time.Now()
	w := New[counts](t0, 0, 0) // one bucket of 1ns
	w.At(t0).total++
	if got := sum(w, t0); got.total != 1 {
		t.Errorf("sum in the same instant = %+v; want 1", got)
	}
	if got := sum(w, t0.Add(time.Nanosecond)); got.total != 0 {
		t.Errorf("sum 1ns later = %+v; want 0", got)
	}
}
