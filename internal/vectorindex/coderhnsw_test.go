package vectorindex

import (
	"fmt"
	mrand "math/rand"
	"math/rand/v2"
	"testing"

	"github.com/coder/hnsw"
)

// BenchmarkCoderHNSWRecall records why Index has its own graph rather than
// wrapping github.com/coder/hnsw. On the data of TestIndexRecall (3,000
// clustered 64-dimension vectors, 300 queries that each jitter one of
// them, fixed seeds, and a fixed seed for coder/hnsw's level generator,
// which otherwise reads the clock), it reports how often each graph finds
// the query's original as the nearest neighbour: coder/hnsw with its
// default beam (EfSearch 20) and with Index's (64), and Index. coder/hnsw
// keeps neighbours in Go maps, whose iteration order changes from run to
// run, so its figure varies a little (0.57–0.62 over 8 runs of v0.6.1);
// that is why this is a benchmark that asserts nothing rather than a test.
// bench/RESULTS.md has the figures; a new version of the library is judged
// by running it again:
//
//	go test -run '^$' -bench CoderHNSWRecall -benchtime 1x ./internal/vectorindex/
func BenchmarkCoderHNSWRecall(b *testing.B) {
	const n, dim, queries = 3000, 64, 300
	vecs := clustered(n, dim, 7)
	g := hnsw.NewGraph[int]()
	g.Rng = mrand.New(mrand.NewSource(1))
	ix := New(Options{})
	defer ix.Close()
	for i, v := range vecs {
		w, _ := normalized(v)
		g.Add(hnsw.MakeNode(i, w))
		if err := ix.Add(fmt.Sprint(i), v); err != nil {
			b.Fatal(err)
		}
	}
	ix.wg.Wait() // the graph is built in the background
	r := rand.New(rand.NewPCG(9, 9))
	type query struct {
		want int
		vec  []float32
	}
	qs := make([]query, queries)
	for k := range qs {
		i := r.IntN(n)
		q, _ := normalized(jitter(vecs[i], r))
		qs[k] = query{i, q}
	}
	recall := func(found func(query) bool) float64 {
		hits := 0
		for _, q := range qs {
			if found(q) {
				hits++
			}
		}
		return float64(hits) / queries
	}
	coder := func(ef int) func(query) bool {
		return func(q query) bool {
			g.EfSearch = ef
			res := g.Search(q.vec, 1)
			return len(res) == 1 && res[0].Key == q.want
		}
	}
	index := func(q query) bool {
		res := ix.Search(q.vec, 1)
		return len(res) == 1 && res[0].ID == fmt.Sprint(q.want)
	}
	b.ResetTimer()
	var theirs20, theirs64, ours float64
	for range b.N {
		theirs20, theirs64, ours = recall(coder(20)), recall(coder(64)), recall(index)
	}
	b.ReportMetric(theirs20, "coder-ef20-recall@1")
	b.ReportMetric(theirs64, "coder-ef64-recall@1")
	b.ReportMetric(ours, "index-recall@1")
}
