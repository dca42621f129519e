package use

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// TestSimilarities checks the figures the original model gives for a few
// pairs (cosine, float32 TF.js: 0.9057 and 0.7112).
func TestSimilarities(t *testing.T) {
	e := builtIn(t)
	tests := []struct {
		a, b string
		want float64
	}{
		{"What is Python?", "What is Python programming?", 0.906},
		{"What is Python?", "What is Java?", 0.711},
	}
	// The int8 weights move a pair's cosine by a few thousandths (0.904
	// and 0.710 here).
	for _, tt := range tests {
		v, err := e.Embed(t.Context(), []string{tt.a, tt.b})
		if err != nil {
			t.Fatal(err)
		}
		if got := cosine(v[0], v[1]); math.Abs(got-tt.want) > 0.005 {
			t.Errorf("cosine(%q, %q) = %.4f; want %.3f ± 0.005", tt.a, tt.b, got, tt.want)
		}
	}
	v, err := e.Embed(t.Context(), []string{"What is Kafka?", "Can you tell me what Kafka is?", "What is RabbitMQ?"})
	if err != nil {
		t.Fatal(err)
	}
	para, other := cosine(v[0], v[1]), cosine(v[0], v[2])
	t.Logf("cosine: paraphrase %.4f, other topic %.4f", para, other)
	if para < other+0.2 {
		t.Errorf("paraphrase cosine %.4f is not clearly above the other topic's %.4f", para, other)
	}
}

// TestBatchMatchesSingle checks that a sentence gets the same vector, bit
// for bit, alone and in a batch: sentences never see each other.
func TestBatchMatchesSingle(t *testing.T) {
	ref, err := loadReference()
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, s := range ref.Sentences {
		texts = append(texts, s.Text)
	}
	e := builtIn(t)
	all, err := e.Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		one, err := e.Embed(t.Context(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(one[0], all[i]) {
			t.Fatalf("Embed(%q) alone differs from the same text in a batch of %d", text, len(texts))
		}
	}
}

// TestEmbedVectors checks the Embedder contract: one unit vector of Dim
// values per text, in order, and an empty result for no texts.
func TestEmbedVectors(t *testing.T) {
	e := builtIn(t)
	if e.Dim() != 512 {
		t.Errorf("Dim() = %d; want 512", e.Dim())
	}
	got, err := e.Embed(t.Context(), nil)
	if err != nil || len(got) != 0 {
		t.Errorf("Embed(nil) = %d vectors, %v; want none, nil", len(got), err)
	}
	texts := []string{"", "a", "What is Kafka?", "What is Kafka?"}
	got, err = e.Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		if len(v) != Dim || math.Abs(n-1) > 1e-5 {
			t.Errorf("vector %d: %d values of norm² %g; want %d of norm 1", i, len(v), n, Dim)
		}
	}
	if !slices.Equal(got[2], got[3]) || slices.Equal(got[1], got[2]) {
		t.Error("vectors are not in the order of their texts")
	}
}

func TestEmbedToErrors(t *testing.T) {
	e := builtIn(t)
	if err := e.EmbedTo(t.Context(), make([]float32, Dim), []string{"a", "b"}); err == nil {
		t.Error("EmbedTo with room for 1 of 2 vectors succeeded")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := e.EmbedTo(ctx, make([]float32, Dim), []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("EmbedTo with a cancelled context = %v; want context.Canceled", err)
	}
}

// busy marks every slot of e as taken, as if passes were running, so that
// calls queue; e.handOff(nil) then ends one such pass.
func busy(e *Encoder) {
	e.mu.Lock()
	e.running = e.opts.Concurrency
	e.mu.Unlock()
}

func waitQueued(t *testing.T, e *Encoder, n int) {
	t.Helper()
	for {
		e.mu.Lock()
		q := len(e.queue)
		e.mu.Unlock()
		if q == n {
			return
		}
		runtime.Gosched()
	}
}

// TestQueuedCallsShareAPass checks the micro-batcher: calls that queue while
// the slot is busy are all served by the next pass, each with its own
// vectors.
func TestQueuedCallsShareAPass(t *testing.T) {
	shared := builtIn(t)
	e := newEncoder(shared.m, Options{Concurrency: 1})
	busy(e)
	const n = 12
	texts := make([]string, n)
	dsts := make([][]float32, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		texts[i] = fmt.Sprintf("Question number %d about message brokers?", i)
		dsts[i] = make([]float32, Dim)
		wg.Go(func() { errs[i] = e.EmbedTo(t.Context(), dsts[i], texts[i:i+1]) })
	}
	waitQueued(t, e, n)
	e.handOff(nil) // the pass that held the slot ends
	wg.Wait()
	if got := e.passes.Load(); got != 1 {
		t.Errorf("%d queued calls took %d passes; want 1", n, got)
	}
	want, err := shared.Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil || !slices.Equal(dsts[i], want[i]) {
			t.Errorf("call %d: err %v, vector equal to its own: %v", i, errs[i], slices.Equal(dsts[i], want[i]))
		}
	}
	if e.running != 0 || len(e.queue) != 0 {
		t.Errorf("after the calls: %d passes running, %d calls queued; want 0, 0", e.running, len(e.queue))
	}
}

// TestQueuedCallsRespectBatchLimit checks that a pass takes no more queued
// texts than MaxBatchTexts and hands the rest to the next pass.
func TestQueuedCallsRespectBatchLimit(t *testing.T) {
	e := newEncoder(builtIn(t).m, Options{Concurrency: 1, MaxBatchTexts: 4})
	busy(e)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if err := e.EmbedTo(t.Context(), make([]float32, Dim), []string{fmt.Sprint("text ", i)}); err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(t, e, 10)
	e.handOff(nil)
	wg.Wait()
	if got := e.passes.Load(); got != 3 {
		t.Errorf("10 queued texts in batches of 4 took %d passes; want 3", got)
	}
}

// TestCancelWhileQueued checks that a queued call whose context ends leaves
// the queue, returns the context's error and writes nothing.
func TestCancelWhileQueued(t *testing.T) {
	e := newEncoder(builtIn(t).m, Options{Concurrency: 1})
	busy(e)
	ctx, cancel := context.WithCancel(t.Context())
	dst := make([]float32, Dim)
	done := make(chan error)
	go func() { done <- e.EmbedTo(ctx, dst, []string{"never embedded"}) }()
	waitQueued(t, e, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("EmbedTo = %v; want context.Canceled", err)
	}
	if len(e.queue) != 0 || slices.ContainsFunc(dst, func(x float32) bool { return x != 0 }) {
		t.Errorf("after cancelling: %d calls queued, vector written: want 0 and none", len(e.queue))
	}
	e.handOff(nil)
	if e.running != 0 {
		t.Errorf("%d passes running after the last one ended; want 0", e.running)
	}
}

// TestConcurrentEmbed hammers one encoder from many goroutines (run it with
// -race) and checks every result.
func TestConcurrentEmbed(t *testing.T) {
	e := newEncoder(builtIn(t).m, Options{Concurrency: 2, MaxBatchTexts: 8})
	texts := []string{"What is Kafka?", "What is RabbitMQ?", "How do I undo a commit?", "Why is the sky blue?", "", "hello"}
	want, err := builtIn(t).Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			dst := make([]float32, 2*Dim)
			for i := range 20 {
				a, b := (g+i)%len(texts), (g*7+i)%len(texts)
				if err := e.EmbedTo(t.Context(), dst, []string{texts[a], texts[b]}); err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(dst[:Dim], want[a]) || !slices.Equal(dst[Dim:], want[b]) {
					t.Errorf("goroutine %d call %d: wrong vectors", g, i)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestEmbedToDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	e := builtIn(t)
	ctx := context.Background()
	texts := []string{"How do I undo the last git commit but keep all my changes?", "What is Kafka?", "café “quoted” 😀"}
	dst := make([]float32, len(texts)*Dim)
	for _, n := range []int{1, 3} {
		e.EmbedTo(ctx, dst, texts[:n]) // warm the pools
		if got := testing.AllocsPerRun(20, func() { e.EmbedTo(ctx, dst, texts[:n]) }); got != 0 {
			t.Errorf("EmbedTo of %d texts: %v allocations; want 0", n, got)
		}
	}
	if got := testing.AllocsPerRun(20, func() { e.EmbedText(ctx, dst, texts[0]) }); got != 0 {
		t.Errorf("EmbedText: %v allocations; want 0", got)
	}
}

func TestEmbedText(t *testing.T) {
	e := builtIn(t)
	want, err := e.Embed(t.Context(), []string{"What is Kafka?"})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, Dim)
	if err := e.EmbedText(t.Context(), got, "What is Kafka?"); err != nil || !slices.Equal(got, want[0]) {
		t.Errorf("EmbedText = %v, equal to Embed's vector: %v; want nil, true", err, slices.Equal(got, want[0]))
	}
	if err := e.EmbedText(t.Context(), got[:Dim-1], "x"); err == nil {
		t.Error("EmbedText into 511 values succeeded")
	}
}
