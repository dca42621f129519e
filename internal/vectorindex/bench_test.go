package vectorindex

import (
	"fmt"
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
	queries := clustered(1000, dim, 12) // other points of the same distribution
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	ix := New(Options{Exact: exact})
	defer ix.Close()
	// Vectors are made in chunks so that the index's copies are all that
	// stays on the heap.
	for c := 0; c < n; c += 10_000 {
		for i, v := range clustered(min(10_000, n-c), dim, uint64(11+c)) {
			if err := ix.Add("entry-"+strconv.Itoa(c+i), v); err != nil { // an ID the length of a cache entry's
				b.Fatal(err)
			}
		}
	}
	ix.wg.Wait()
	build := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)

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
