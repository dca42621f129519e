package vectorindex

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkSearch reports, for indexes of 128-dim vectors (embed.Local's
// size), the p50 and p99 latency of Search(k=5), the memory each entry
// takes (vector, ID, graph links), and the time to build the index.
// 1M entries run only when CATO_BENCH_1M=1 (about 4 GiB and many minutes):
//
//	go test -run '^$' -bench Search -benchtime 2000x ./internal/vectorindex/
func BenchmarkSearch(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("CATO_BENCH_1M") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		for _, mode := range []string{"hnsw", "exact"} {
			b.Run(fmt.Sprintf("n=%d/%s", n, mode), func(b *testing.B) {
				benchSearch(b, n, mode == "exact")
			})
		}
	}
}

func benchSearch(b *testing.B, n int, exact bool) {
	const dim = 128
	vecs := clustered(n, dim, 11)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "entry-" + strconv.Itoa(i) // a cache entry ID's length
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	ix := New(Options{Exact: exact})
	for i, v := range vecs {
		if err := ix.Add(ids[i], v); err != nil {
			b.Fatal(err)
		}
	}
	build := time.Since(start)
	vecs = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)

	r := rand.New(rand.NewPCG(3, 4))
	queries := clustered(1000, dim, 12) // other points of the same distribution
	_ = r
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		t0 := time.Now()
		ix.Search(queries[i%len(queries)], 5)
		lat = append(lat, time.Since(t0))
		i++
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(perEntry, "B/entry")
	b.ReportMetric(build.Seconds(), "build-s")
	runtime.KeepAlive(ix)
}
