package embedded

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cato-gateway/cato/internal/memory"
)

// BenchmarkSearchEpisodes reports the p50 and p99 latency of searching one
// user's episodes (k=5) through the store, index and file reads included,
// with n episodes of 128-dim vectors (embed.Local's size), and how long
// reopening the file takes to rebuild the index. 1M runs only with
// CATO_BENCH_1M=1 (the graph takes many minutes to build):
//
//	go test -run '^$' -bench SearchEpisodes -benchtime 2000x ./internal/store/embedded/
func BenchmarkSearchEpisodes(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("CATO_BENCH_1M") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchSearchEpisodes(b, n) })
	}
}

// clusteredVec returns a unit vector near one of 64 random centres, as
// embeddings of a user's varied conversations are.
func clusteredVec(rnd *rand.Rand, centres [][]float32) []float32 {
	c := centres[rnd.IntN(len(centres))]
	v := make([]float32, len(c))
	var s float64
	for i := range v {
		v[i] = c[i] + float32(rnd.NormFloat64()*0.35)
		s += float64(v[i]) * float64(v[i])
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(s))
	}
	return v
}

func benchSearchEpisodes(b *testing.B, n int) {
	const dim = 128
	dir := b.TempDir()
	rnd := rand.New(rand.NewPCG(1, 2))
	centres := make([][]float32, 64)
	for i := range centres {
		centres[i] = make([]float32, dim)
		for j := range centres[i] {
			centres[i][j] = float32(rnd.NormFloat64())
		}
	}
	k := memory.Key{Tenant: "bench", User: "u"}
	db, err := Open(Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := NewMemoryStore(db, memory.QueueOptions{}); err != nil {
		b.Fatal(err)
	}
	// Written in large transactions: the benchmark measures search, not
	// the fsync of n single writes.
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for c := 0; c < n; c += 10_000 {
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			for i := c; i < min(c+10_000, n); i++ {
				e := memory.Episode{ID: fmt.Sprintf("%032x", i), Tenant: k.Tenant, User: k.User, SessionID: fmt.Sprintf("s%d", i/20),
					Query: "A question the user asked, of a typical length for a chat turn?", Response: "An answer of a few sentences that the model gave to it, kept whole in the episode.",
					At: t0.Add(time.Duration(i) * time.Second), Vector: clusteredVec(rnd, centres)}
				if err := putEpisode(tx, k, &e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	db.Close()

	start := time.Now()
	db, err = Open(Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := NewMemoryStore(db, memory.QueueOptions{})
	if err != nil {
		b.Fatal(err)
	}
	load := time.Since(start)
	db.memory.lookup(k).Wait()
	rebuild := time.Since(start)

	queries := make([][]float32, 1000)
	for i := range queries {
		queries[i] = clusteredVec(rnd, centres)
	}
	lat := make([]time.Duration, 0, b.N)
	ctx := context.Background()
	i := 0
	b.ResetTimer()
	for b.Loop() {
		t := time.Now()
		hits, err := s.SearchEpisodes(ctx, k, queries[i%len(queries)], 5)
		lat = append(lat, time.Since(t))
		if err != nil || len(hits) != 5 {
			b.Fatalf("SearchEpisodes = %d hits, %v", len(hits), err)
		}
		i++
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(load.Seconds(), "load-s")
	b.ReportMetric(rebuild.Seconds(), "graph-s")
}
