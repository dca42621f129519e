package embed

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// countingEmbedder records the batches it is asked to embed.
type countingEmbedder struct {
	mu      sync.Mutex
	batches [][]string
	err     error
}

func (c *countingEmbedder) Dim() int { return 2 }

func (c *countingEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	c.mu.Lock()
	c.batches = append(c.batches, append([]string(nil), texts...))
	c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = []float32{float32(len(t)), 1}
	}
	return out, nil
}

func TestCached(t *testing.T) {
	inner := &countingEmbedder{}
	c := NewCached(inner, 2)
	ctx := context.Background()
	steps := []struct {
		texts     []string
		wantBatch []string // nil: no call reaches inner
	}{
		{[]string{"a", "bb"}, []string{"a", "bb"}},
		{[]string{"bb", "a"}, nil},
		{[]string{"ccc", "a"}, []string{"ccc"}}, // evicts bb, the least recent
		{[]string{"bb"}, []string{"bb"}},
	}
	for i, s := range steps {
		before := len(inner.batches)
		got, err := c.Embed(ctx, s.texts)
		if err != nil {
			t.Fatal(err)
		}
		for j, text := range s.texts {
			if want := []float32{float32(len(text)), 1}; !cmp.Equal(got[j], want) {
				t.Errorf("step %d: vector of %q = %v; want %v", i, text, got[j], want)
			}
		}
		var batch []string
		if len(inner.batches) > before {
			batch = inner.batches[len(inner.batches)-1]
		}
		if diff := cmp.Diff(s.wantBatch, batch); diff != "" {
			t.Errorf("step %d: inner batch (-want +got):\n%s", i, diff)
		}
	}
	if c.Len() != 2 {
		t.Errorf("Len() = %d; want 2", c.Len())
	}
}

func TestCachedError(t *testing.T) {
	boom := errors.New("boom")
	c := NewCached(&countingEmbedder{err: boom}, 0)
	if _, err := c.Embed(context.Background(), []string{"x"}); !errors.Is(err, boom) {
		t.Fatalf("Embed error = %v; want %v", err, boom)
	}
	if c.Len() != 0 {
		t.Errorf("a failed embedding was cached")
	}
}

func TestCachedConcurrent(t *testing.T) {
	c := NewCached(&countingEmbedder{}, 16)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if _, err := c.Embed(context.Background(), []string{fmt.Sprint(i % 32), fmt.Sprint(g)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if c.Len() > 16 {
		t.Errorf("Len() = %d exceeds the size 16", c.Len())
	}
}
