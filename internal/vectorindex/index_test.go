package vectorindex

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// clustered returns n unit-ish vectors of dim dims around n/50 centres, the
// shape real sentence embeddings have (topics), seeded for repeatability.
func clustered(n, dim int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	centres := make([][]float32, max(1, n/50))
	for i := range centres {
		centres[i] = make([]float32, dim)
		for j := range centres[i] {
			centres[i][j] = float32(r.NormFloat64())
		}
	}
	out := make([][]float32, n)
	for i := range out {
		c := centres[r.IntN(len(centres))]
		v := make([]float32, dim)
		for j := range v {
			v[j] = c[j] + 0.6*float32(r.NormFloat64())
		}
		out[i] = v
	}
	return out
}

// jitter returns a copy of v moved a little, as a paraphrase moves.
func jitter(v []float32, r *rand.Rand) []float32 {
	out := make([]float32, len(v))
	for i := range v {
		out[i] = v[i] + 0.15*float32(r.NormFloat64())
	}
	return out
}

func TestIndexBasics(t *testing.T) {
	for name, opts := range map[string]Options{"exact": {Exact: true}, "graph": {ExactBelow: -1}} {
		t.Run(name, func(t *testing.T) {
			ix := New(opts)
			defer ix.Close()
			if got := ix.Search([]float32{1, 0}, 3); got != nil {
				t.Errorf("Search on an empty index = %v; want nil", got)
			}
			for id, v := range map[string][]float32{"x": {1, 0, 0}, "y": {0, 1, 0}, "xy": {1, 1, 0}, "z": {0, 0, 2}} {
				if err := ix.Add(id, v); err != nil {
					t.Fatal(err)
				}
			}
			if err := ix.Add("bad", []float32{1, 0}); !errors.Is(err, ErrDim) {
				t.Errorf("Add of a 2-dim vector = %v; want ErrDim", err)
			}
			if err := ix.Add("zero", []float32{0, 0, 0}); err == nil {
				t.Error("Add of a zero vector succeeded")
			}
			got := ix.Search([]float32{2, 0.1, 0}, 2)
			want := []Result{{"x", 0.9988}, {"xy", 0.7417}}
			if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-3)); diff != "" {
				t.Errorf("Search (-want +got):\n%s", diff)
			}
			// Replacing moves x away; deleting xy leaves y second.
			if err := ix.Add("x", []float32{0, 0, -1}); err != nil {
				t.Fatal(err)
			}
			if !ix.Delete("xy") || ix.Delete("xy") {
				t.Error("Delete(xy) twice did not report true then false")
			}
			got = ix.Search([]float32{1, 0.1, 0}, 2)
			if len(got) != 2 || got[0].ID != "y" || ix.Len() != 3 {
				t.Errorf("after replace and delete: Search = %v, Len = %d; want y first of 2, Len 3", got, ix.Len())
			}
			if got := ix.Search([]float32{1, 0}, 1); got != nil {
				t.Errorf("Search with a 2-dim query = %v; want nil", got)
			}
		})
	}
}

// TestIndexRecall checks the graph against the exact scan: a jittered copy
// of an indexed vector must find that vector first, before and after half
// the index is deleted (which rebuilds the graph) and re-added.
func TestIndexRecall(t *testing.T) {
	const n, dim, queries = 3000, 64, 300
	vecs := clustered(n, dim, 7)
	ix := New(Options{})
	for i, v := range vecs {
		if err := ix.Add(fmt.Sprint(i), v); err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(9, 9))
	check := func(stage string, live func(int) bool) {
		t.Helper()
		ix.wg.Wait() // let background builds finish, so the graph answers
		ix.mu.RLock()
		graphed := ix.graph != nil && ix.dead <= len(ix.slots)
		ix.mu.RUnlock()
		if !graphed {
			t.Fatalf("%s: no graph, or more tombstones than live nodes", stage)
		}
		var hits, agree, asked int
		for range queries {
			i := r.IntN(n)
			if !live(i) {
				continue
			}
			asked++
			q := jitter(vecs[i], r)
			got, exact := ix.Search(q, 5), ix.SearchExact(q, 1)
			if len(got) > 0 && got[0].ID == fmt.Sprint(i) {
				hits++
			}
			if len(got) > 0 && got[0].ID == exact[0].ID {
				agree++
			}
		}
		if float64(hits) < 0.97*float64(asked) || float64(agree) < 0.97*float64(asked) {
			t.Errorf("%s: found the planted vector %d/%d times, agreed with the exact scan %d/%d; want ≥ 97%%", stage, hits, asked, agree, asked)
		}
	}
	check("built", func(int) bool { return true })
	for i := 0; i < n; i += 2 {
		ix.Delete(fmt.Sprint(i))
	}
	check("half deleted", func(i int) bool { return i%2 == 1 })
	for i := 0; i < n; i += 2 {
		ix.Add(fmt.Sprint(i), vecs[i])
	}
	check("re-added", func(int) bool { return true })
	if ix.Len() != n {
		t.Errorf("Len() = %d; want %d", ix.Len(), n)
	}
}

// TestIndexShrinksToExact checks that an index emptied below half of
// ExactBelow drops its graph and still answers.
func TestIndexShrinksToExact(t *testing.T) {
	ix := New(Options{ExactBelow: 100})
	vecs := clustered(300, 16, 3)
	for i, v := range vecs {
		ix.Add(fmt.Sprint(i), v)
	}
	ix.wg.Wait()
	for i := range 280 {
		ix.Delete(fmt.Sprint(i))
	}
	ix.wg.Wait()
	ix.mu.RLock()
	hasGraph := ix.graph != nil
	ix.mu.RUnlock()
	if hasGraph {
		t.Error("graph kept for 20 vectors")
	}
	if got := ix.Search(vecs[290], 1); len(got) != 1 || got[0].ID != "290" {
		t.Errorf("Search = %v; want 290", got)
	}
}

func TestIndexConcurrent(t *testing.T) {
	ix := New(Options{ExactBelow: 200})
	vecs := clustered(2000, 32, 5)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(vecs); i += 4 {
				if err := ix.Add(fmt.Sprint(i), vecs[i]); err != nil {
					t.Error(err)
					return
				}
				if i%3 == 0 {
					ix.Delete(fmt.Sprint(i - 1))
				}
			}
		})
		wg.Go(func() {
			for i := range 500 {
				ix.Search(vecs[(i*7+w)%len(vecs)], 3)
			}
		})
	}
	wg.Wait()
	ix.Close()
	for i := len(vecs) - 1; i >= 0; i-- {
		if _, ok := ix.byID[fmt.Sprint(i)]; ok {
			if got := ix.Search(vecs[i], 1); len(got) != 1 || got[0].ID != fmt.Sprint(i) {
				t.Errorf("Search(vector %d) = %v; want itself", i, got)
			}
			break
		}
	}
}

func TestCosine(t *testing.T) {
	tests := []struct {
		a, b []float32
		want float32
	}{
		{[]float32{1, 0}, []float32{2, 0}, 1},
		{[]float32{1, 0}, []float32{0, 3}, 0},
		{[]float32{1, 1}, []float32{-1, -1}, -1},
		{[]float32{0, 0}, []float32{1, 0}, 0},
		{[]float32{1}, []float32{1, 0}, 0},
	}
	for _, tt := range tests {
		if got := Cosine(tt.a, tt.b); !cmp.Equal(got, tt.want, cmpopts.EquateApprox(0, 1e-6)) {
			t.Errorf("Cosine(%v, %v) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
