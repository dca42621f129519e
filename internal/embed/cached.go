package embed

import (
	"container/list"
	"context"
	"sync"
)

// Cached wraps an Embedder with an LRU of recent texts and their vectors,
// so that a repeated query (or the same text embedded by the cache and the
// router) is embedded once. Only the texts not in the LRU reach the inner
// embedder, in one batch. Returned vectors are shared: callers must not
// modify them. It is safe for concurrent use.
type Cached struct {
	inner Embedder
	size  int

	mu    sync.Mutex // guards order and items
	order *list.List // of *cachedVec, most recent first
	items map[string]*list.Element
}

type cachedVec struct {
	text string
	vec  []float32
}

var _ Embedder = (*Cached)(nil)

// NewCached wraps inner with an LRU of size texts; size <= 0 means 4096.
func NewCached(inner Embedder, size int) *Cached {
	if size <= 0 {
		size = 4096
	}
	return &Cached{inner: inner, size: size, order: list.New(), items: make(map[string]*list.Element)}
}

// Dim returns the inner embedder's Dim.
func (c *Cached) Dim() int { return c.inner.Dim() }

// Embed returns the vectors of texts, embedding only those not seen lately.
func (c *Cached) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var missing []string
	var missingAt []int
	c.mu.Lock()
	for i, t := range texts {
		if e, ok := c.items[t]; ok {
			c.order.MoveToFront(e)
			out[i] = e.Value.(*cachedVec).vec
			continue
		}
		missing = append(missing, t)
		missingAt = append(missingAt, i)
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	vecs, err := c.inner.Embed(ctx, missing)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for j, v := range vecs {
		out[missingAt[j]] = v
		c.addLocked(missing[j], v)
	}
	return out, nil
}

// Len returns how many texts the LRU holds.
func (c *Cached) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// addLocked records text's vector, evicting the least recent. c.mu must be held.
func (c *Cached) addLocked(text string, v []float32) {
	if e, ok := c.items[text]; ok {
		c.order.MoveToFront(e)
		e.Value.(*cachedVec).vec = v
		return
	}
	c.items[text] = c.order.PushFront(&cachedVec{text: text, vec: v})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cachedVec).text)
	}
}
