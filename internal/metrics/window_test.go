package metrics

import (
	"sync"
	"testing"
	"time"
)

func TestWindowQuantiles(t *testing.T) {
	w := NewWindow(100)
	if got := w.Quantiles(0.5); got[0] != 0 {
		t.Errorf("empty window p50 = %v; want 0", got[0])
	}
	for i := 1; i <= 100; i++ {
		w.Add(time.Duration(i) * time.Millisecond)
	}
	q := w.Quantiles(0.5, 0.99, 1)
	if q[0] != 50*time.Millisecond || q[1] != 99*time.Millisecond || q[2] != 100*time.Millisecond {
		t.Errorf("p50, p99, max = %v; want 50ms, 99ms, 100ms", q)
	}
	// The window keeps only the last 100 samples.
	for range 100 {
		w.Add(time.Second)
	}
	if q := w.Quantiles(0.5); q[0] != time.Second {
		t.Errorf("p50 after the window turned over = %v; want 1s", q[0])
	}
}

func TestWindowConcurrent(t *testing.T) {
	w := NewWindow(64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				w.Add(time.Duration(g*1000+i) * time.Microsecond)
				if i%100 == 0 {
					w.Quantiles(0.99)
				}
			}
		})
	}
	wg.Wait()
	if q := w.Quantiles(1); q[0] <= 0 {
		t.Errorf("max = %v; want a recorded latency", q[0])
	}
}
