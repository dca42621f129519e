package memory_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/memory"
)

// countingQueue counts what reaches the queue, fails the first fails
// Enqueues, and gives consumers nothing, so that what is written stays.
type countingQueue struct {
	memory.Queue
	mu       sync.Mutex
	fails    int
	enqueued int
}

func (q *countingQueue) Enqueue(ctx context.Context, items []memory.Interaction) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fails > 0 {
		q.fails--
		return errors.New("store down")
	}
	q.enqueued += len(items)
	return nil
}

func (q *countingQueue) Claim(ctx context.Context, _ string, _ int, wait time.Duration) ([]memory.Delivery, error) {
	select {
	case <-ctx.Done():
	case <-time.After(wait):
	}
	return nil, nil
}

func (q *countingQueue) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.enqueued
}

func TestRecordNeverBlocks(t *testing.T) {
	st := newMemStore(memory.QueueOptions{})
	q := &countingQueue{Queue: st}
	m, err := memory.New(memory.Options{Store: st, Queue: q, Embedder: localEmbedder(t), Buffer: 3, Tenants: map[string]bool{"off": false}})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		m.Record(memory.Interaction{Tenant: "acme", User: "u", Query: "hi"})
	}
	m.Record(memory.Interaction{Tenant: "off", User: "u", Query: "hi"})
	m.Record(memory.Interaction{Tenant: "", User: "u", Query: "hi"})
	s := m.Status()
	if s.Recorded != 3 || s.Dropped != 2 || s.Skipped != 2 {
		t.Errorf("recorded %d, dropped %d, skipped %d; want 3 taken, 2 dropped with the buffer full, 2 skipped", s.Recorded, s.Dropped, s.Skipped)
	}
}

// TestRecorderDrainsAtShutdown checks that what Record took reaches the
// queue, through a store that fails at first, and that Run writes what it
// still holds when it is stopped.
func TestRecorderDrainsAtShutdown(t *testing.T) {
	st := newMemStore(memory.QueueOptions{})
	q := &countingQueue{Queue: st, fails: 2}
	m, err := memory.New(memory.Options{Store: st, Queue: q, Embedder: localEmbedder(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	for range 100 {
		m.Record(memory.Interaction{Tenant: "acme", User: "u", Query: "My name is Alice."})
	}
	deadline := time.Now().Add(15 * time.Second)
	for q.count() < 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if q.count() != 100 {
		t.Fatalf("%d of 100 reached the queue through a store that failed twice", q.count())
	}
	// Taken just before the stop: written on the way out.
	for range 50 {
		m.Record(memory.Interaction{Tenant: "acme", User: "u", Query: "I live in Oslo."})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if q.count() != 150 || m.Status().Lost != 0 {
		t.Errorf("after the stop %d reached the queue, %d lost; want 150 and none", q.count(), m.Status().Lost)
	}
}
