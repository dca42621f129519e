package use

import (
	"context"
	_ "embed"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cato-gateway/cato/internal/embed"
)

// weightsFile is Universal Sentence Encoder lite, mostly int8; see
// weights/README.md for its provenance, licence and format.
//
//go:embed weights/use-lite.bin
var weightsFile []byte

// Dim is the length of every vector the Encoder returns.
const Dim = outDim

// Options tunes an Encoder. The zero Options is valid.
type Options struct {
	// Concurrency is how many forward passes may run at once; callers past
	// it queue, and the next pass takes all of them that fit in a batch.
	// Zero means GOMAXPROCS.
	Concurrency int
	// MaxBatchTexts caps the texts of one forward pass. Zero means 64.
	MaxBatchTexts int
	// MaxBatchTokens caps the tokens of one forward pass, which bounds its
	// working memory (about 13 KB per token). A text always fits: it has at
	// most MaxTokens tokens. Zero, or less than MaxTokens, means 512.
	MaxBatchTokens int
}

// Encoder embeds text with Universal Sentence Encoder lite (512 dims), in
// process and offline: the model is built into the binary. It implements
// embed.Embedder and is safe for concurrent use.
//
// Concurrent calls are batched: a call that finds a free slot (of
// Options.Concurrency) runs a forward pass at once on its own goroutine;
// calls that arrive while every slot is busy queue, and when a pass ends the
// first queued call takes over the slot and runs the next pass for every
// queued text that fits. No call waits on a timer, a lone call is never
// delayed, and there is no background goroutine. Each slot keeps its
// working memory and per-call records are pooled, so EmbedTo does not
// allocate in steady state.
type Encoder struct {
	m    *model
	opts Options

	requests sync.Pool // *request, one per call in flight

	mu      sync.Mutex // guards queue, running and spare
	queue   []*request // calls waiting for a pass, oldest first
	running int        // passes running (≤ opts.Concurrency)
	// spare holds the working memory of passes not running: one per slot
	// at most, kept for the Encoder's life. (A sync.Pool would hand it to
	// the garbage collector, which empties pools every cycle, and a busy
	// gateway would reallocate megabytes per cycle.)
	spare []*batch

	passes atomic.Int64 // forward passes run, for tests and benchmarks
}

var _ embed.Embedder = (*Encoder)(nil)

// request is one EmbedTo call.
type request struct {
	texts []string
	dst   []float32
	one   [1]string // texts for EmbedText
	// wake receives once: when the texts are embedded, or when the call is
	// to lead the next pass (lead is then set, under Encoder.mu).
	wake chan struct{}
	lead bool
	err  error // set when the pass that held the call failed
}

// New loads the built-in model (about 7 MB of weights; tens of
// milliseconds).
func New(opts Options) (*Encoder, error) {
	w, err := parseWeights(weightsFile, false)
	if err != nil {
		return nil, fmt.Errorf("loading built-in sentence encoder: %w", err)
	}
	return newEncoder(newModel(w), opts), nil
}

func newEncoder(m *model, opts Options) *Encoder {
	if opts.Concurrency <= 0 {
		opts.Concurrency = runtime.GOMAXPROCS(0)
	}
	if opts.MaxBatchTexts <= 0 {
		opts.MaxBatchTexts = 64
	}
	if opts.MaxBatchTokens < MaxTokens {
		opts.MaxBatchTokens = 512
	}
	e := &Encoder{m: m, opts: opts}
	e.requests.New = func() any { return &request{wake: make(chan struct{}, 1)} }
	return e
}

// Dim is 512.
func (e *Encoder) Dim() int { return Dim }

// Tokenizer returns the model's tokenizer.
func (e *Encoder) Tokenizer() *Tokenizer { return e.m.tok }

// Embed returns the unit vector of each text. It fails only when ctx ends
// before the call's pass starts.
func (e *Encoder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	flat := make([]float32, len(texts)*Dim)
	if err := e.EmbedTo(ctx, flat, texts); err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = flat[i*Dim : (i+1)*Dim : (i+1)*Dim]
	}
	return out, nil
}

// EmbedTo writes the unit vector of texts[i] to dst[i·Dim : (i+1)·Dim];
// dst must hold len(texts)·Dim values. It returns ctx's error, writing
// nothing, when ctx ends while the call is still queued; once its pass has
// started the call completes.
func (e *Encoder) EmbedTo(ctx context.Context, dst []float32, texts []string) error {
	if len(dst) < len(texts)*Dim {
		return fmt.Errorf("embedding %d texts into %d values, want %d", len(texts), len(dst), len(texts)*Dim)
	}
	if len(texts) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r := e.requests.Get().(*request)
	r.texts, r.dst = texts, dst
	return e.do(ctx, r)
}

// EmbedText writes the unit vector of text to dst[:Dim]: EmbedTo for one
// text, without a slice to hold it (which would escape to the heap).
func (e *Encoder) EmbedText(ctx context.Context, dst []float32, text string) error {
	if len(dst) < Dim {
		return fmt.Errorf("embedding a text into %d values, want %d", len(dst), Dim)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r := e.requests.Get().(*request)
	r.one[0] = text
	r.texts, r.dst = r.one[:], dst
	return e.do(ctx, r)
}

// do runs r, a request from e.requests, and returns it to the pool.
func (e *Encoder) do(ctx context.Context, r *request) error {
	r.lead, r.err = false, nil
	defer func() {
		r.texts, r.dst, r.one[0] = nil, nil, ""
		e.requests.Put(r)
	}()

	e.mu.Lock()
	if e.running < e.opts.Concurrency {
		e.running++
		e.mu.Unlock()
		e.lead(r)
		return r.err
	}
	e.queue = append(e.queue, r)
	e.mu.Unlock()

	select {
	case <-r.wake:
	case <-ctx.Done():
		e.mu.Lock()
		if i := slices.Index(e.queue, r); i >= 0 {
			e.queue = slices.Delete(e.queue, i, i+1)
			e.mu.Unlock()
			return ctx.Err()
		}
		e.mu.Unlock()
		<-r.wake // a pass took the call, or it was made leader
	}
	if r.lead {
		e.lead(r)
	}
	return r.err
}

// lead runs passes for first and for the queued calls that fit with it,
// then hands its slot to the oldest call still queued, or frees it.
func (e *Encoder) lead(first *request) {
	e.mu.Lock()
	var b *batch
	if n := len(e.spare); n > 0 {
		b, e.spare = e.spare[n-1], e.spare[:n-1]
	} else {
		b = new(batch)
	}
	group := append(b.group[:0], first)
	texts := len(first.texts)
	n := 0
	for n < len(e.queue) && texts+len(e.queue[n].texts) <= e.opts.MaxBatchTexts {
		texts += len(e.queue[n].texts)
		n++
	}
	group = append(group, e.queue[:n]...)
	e.queue = slices.Delete(e.queue, 0, n)
	e.mu.Unlock()
	b.group = group

	defer func() {
		p := recover()
		if p != nil {
			for _, r := range group {
				r.err = fmt.Errorf("sentence encoder: %v", p)
			}
		}
		for _, r := range group[1:] {
			r.wake <- struct{}{}
		}
		clear(b.group)
		e.handOff(b)
		if p != nil {
			panic(p)
		}
	}()
	e.run(b, group)
}

// handOff keeps a finished pass's working memory b (nil if none) for the
// next pass and gives the pass's slot to the oldest queued call, which leads
// the next pass, or frees the slot when none is queued.
func (e *Encoder) handOff(b *batch) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if b != nil {
		e.spare = append(e.spare, b)
	}
	if len(e.queue) == 0 {
		e.running--
		return
	}
	next := e.queue[0]
	e.queue = slices.Delete(e.queue, 0, 1)
	next.lead = true
	next.wake <- struct{}{}
}

// run embeds the texts of group, in as many passes as the batch limits ask.
func (e *Encoder) run(b *batch, group []*request) {
	b.reset()
	for _, r := range group {
		for i, text := range r.texts {
			if len(b.spans) == e.opts.MaxBatchTexts || len(b.ids)+MaxTokens > e.opts.MaxBatchTokens {
				e.flush(b)
			}
			b.add(e.m.tok, text)
			b.dsts = append(b.dsts, r.dst[i*Dim:(i+1)*Dim])
		}
	}
	e.flush(b)
}

// flush runs the forward pass over b and copies each vector to its
// destination.
func (e *Encoder) flush(b *batch) {
	if len(b.spans) == 0 {
		return
	}
	b.out = grow(b.out, len(b.spans)*Dim)
	e.m.forward(b, b.out)
	e.passes.Add(1)
	for i, d := range b.dsts {
		copy(d, b.out[i*Dim:(i+1)*Dim])
	}
	b.reset()
}
