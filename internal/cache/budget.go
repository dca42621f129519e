package cache

import (
	"context"
	"errors"
	"log/slog"
)

// The cache bounds what one replica holds by count (Options.MaxEntries)
// and by bytes (Options.MaxBytes), with one mechanism: after each put,
// putLocked evicts the oldest entries (by CreatedAt) while either limit is
// passed, and the caller deletes them from the store (deleteEvicted). So
// the store holds what the indexes hold, a restarted replica loads no
// more than fits, and replicas sharing a store should share the limits: a
// replica with smaller ones deletes what the others would keep.
//
// The bytes are an estimate of the heap an entry keeps alive, from its
// parts: TestEntryBytesBoundHeap checks that it is above what the heap
// grows by, and not more than twice that, for short questions, long
// ones, prose and worst-case word lists.

// entryOverhead is what an entry holds besides its strings, vectors and
// gist: the item with its Entry, its slots in the entries map, the exact
// question map, the age heap, the index's slot list, ID map and HNSW node (32 neighbours on the
// ground layer), and the allocator's rounding of each of them up to its
// size class.
const entryOverhead = 1216

// entryBytes returns what it accounts for against Options.MaxBytes: its
// strings, its scope twice (the entry's fields and the key the index is
// found by), its vector twice (the entry's and the index's normalised
// copy) and its gist.
func entryBytes(it *item) int64 {
	e := &it.e
	n := entryOverhead + len(e.ID) + len(e.Query) + len(e.Answer) + len(e.Model) + len(e.SessionID) +
		2*len(e.Scope.Key()) + 2*4*len(e.Vector)
	return int64(n) + it.gist.bytes()
}

// gistMapEntry is what one entry of a gist's role map costs: a key and a
// value string header, its control byte and the table's spare room.
const gistMapEntry = 80

// bytes estimates the heap g holds: it is kept per entry for the life of
// the entry, and a question's gist weighs several times the question (a
// string header per word, a map entry per distinct content word). Word
// strings are counted whole even where they share the question's memory,
// and at least 16 bytes each, the allocator's smallest block for them.
func (g *gist) bytes() int64 {
	n := 160 // the struct and the map's header
	for _, words := range [][]string{g.content, g.framing, g.numbers, g.asks, g.surface} {
		n += 16 * cap(words)
		for _, w := range words {
			n += max(len(w), 16)
		}
	}
	n += max(cap(g.form), 16) + max(cap(g.movable), 16)
	n += gistMapEntry * len(g.role)
	return int64(n)
}

// deleteBatch is how many evicted entries one Store.Delete call removes.
const deleteBatch = 500

// deleteEvicted deletes from the store the entries this replica evicted,
// so that the store stays within the limits too. Every replica that sees
// an entry evicts it and deletes it; the deletions after the first find
// nothing. A failure is logged: those entries stay in the store until
// they expire, or until a replica loads them again and evicts them.
func (c *Cache) deleteEvicted(ctx context.Context, ids []string) {
	for len(ids) > 0 {
		n := min(len(ids), deleteBatch)
		if err := c.store.Delete(ctx, ids[:n]...); err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return // shutting down, or the client went away
			}
			c.log.Warn("cache: deleting evicted entries from the store", slog.Int("entries", len(ids)), slog.Any("err", err))
			return
		}
		ids = ids[n:]
	}
}
