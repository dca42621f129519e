package feedback

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// memStore is a feedback.Store keeping what Remember was given; Remember
// blocks while gate is held, and fails when failing is set.
type memStore struct {
	Store // Rate and Counts are not called here
	gate  sync.Mutex

	mu      sync.Mutex // guards the fields below
	batches [][]Answer
	failing bool
	swept   int
}

func (s *memStore) Remember(_ context.Context, as ...Answer) error {
	s.gate.Lock()
	defer s.gate.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing {
		return errors.New("READONLY")
	}
	s.batches = append(s.batches, append([]Answer(nil), as...))
	return nil
}

func (s *memStore) Sweep(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.swept++
	return 0, nil
}

func (s *memStore) remembered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.batches {
		n += len(b)
	}
	return n
}

func TestRecorderDropsWhenFullAndFlushesOnStop(t *testing.T) {
	st := &memStore{}
	// Batch 1: the answer Run takes first is written alone, so the queue
	// holds exactly what the test puts in it while the store stalls.
	r := NewRecorder(RecorderOptions{Store: st, Queue: 4, Batch: 1})
	st.gate.Lock() // the store stalls
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	// One answer is taken and stuck in Remember; four more fill the queue.
	r.Record(Answer{RequestID: "r0"})
	for r.Stats().Queued != 0 {
		time.Sleep(time.Millisecond)
	}
	for i := range 4 {
		if !r.Record(Answer{RequestID: "q"}) {
			t.Fatalf("Record %d refused with room in the queue", i)
		}
	}
	if r.Record(Answer{RequestID: "over"}) {
		t.Error("Record accepted an answer over the queue's bound")
	}
	if s := r.Stats(); s.Dropped != 1 || s.Queued != 4 {
		t.Errorf("stats = %+v; want 1 dropped and 4 queued", s)
	}
	st.gate.Unlock()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := st.remembered(); got != 5 {
		t.Errorf("remembered %d answers; want the 5 accepted ones, the queue flushed on stop", got)
	}
	for _, b := range st.batches {
		if len(b) > 1 {
			t.Errorf("a batch of %d answers; want at most 1", len(b))
		}
	}
	if s := r.Stats(); s.Written != 5 || s.Failed != 0 {
		t.Errorf("stats = %+v; want 5 written", s)
	}
}

func TestRecorderCountsStoreFailures(t *testing.T) {
	st := &memStore{failing: true}
	r := NewRecorder(RecorderOptions{Store: st})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	r.Record(Answer{RequestID: "a"})
	r.Record(Answer{RequestID: "b"})
	deadline := time.Now().Add(15 * time.Second)
	for r.Stats().Failed < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if s := r.Stats(); s.Failed != 2 || s.Written != 0 {
		t.Errorf("stats = %+v; want 2 failed", s)
	}
}

func TestRecorderBatches(t *testing.T) {
	st := &memStore{}
	r := NewRecorder(RecorderOptions{Store: st, Queue: 100, Batch: 8})
	for range 20 {
		r.Record(Answer{RequestID: "a"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(15 * time.Second)
	for st.remembered() < 20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.batches) != 3 || len(st.batches[0]) != 8 || len(st.batches[2]) != 4 {
		sizes := []int{}
		for _, b := range st.batches {
			sizes = append(sizes, len(b))
		}
		t.Errorf("batches of %v; want 8, 8 and 4", sizes)
	}
}

// TestRecorderLingers: answers that trickle in within Linger are written
// together; one alone is written once Linger has passed.
func TestRecorderLingers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &memStore{}
		r := NewRecorder(RecorderOptions{Store: st, Batch: 8, Linger: time.Second})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		for range 3 {
			r.Record(Answer{RequestID: "a"})
			time.Sleep(100 * time.Millisecond)
		}
		synctest.Wait()
		if got := st.remembered(); got != 0 {
			t.Fatalf("%d answers written before Linger passed; want 0", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		st.mu.Lock()
		sizes := []int{}
		for _, b := range st.batches {
			sizes = append(sizes, len(b))
		}
		st.mu.Unlock()
		if len(sizes) != 1 || sizes[0] != 3 {
			t.Errorf("batches of %v; want one of 3", sizes)
		}
		cancel()
		<-done
	})
}
