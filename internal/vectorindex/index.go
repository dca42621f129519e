package vectorindex

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// ErrDim is returned by Add when a vector's length differs from the
// vectors already in the index.
var ErrDim = errors.New("vector dimension mismatch")

// Options tunes an Index. The zero Options is valid.
type Options struct {
	// ExactBelow is the size below which Search scans every vector instead
	// of walking the HNSW graph: exact, and as fast as the graph for small
	// sets. The graph is built when the index reaches it. Zero means 1024;
	// negative means as soon as there is a vector.
	ExactBelow int
	// Exact never builds the graph: every Search is a brute-force scan.
	Exact bool
	// M is the HNSW neighbours kept per node. Zero means 16.
	M int
	// EfSearch is the HNSW beam width of a search (at least k is used).
	// Zero means 64.
	EfSearch int
	// EfConstruction is the HNSW beam width when inserting. Zero means 64.
	EfConstruction int
	// Seed makes the graph's random levels repeatable. Zero means 1.
	Seed uint64
}

// Result is one neighbour found by Search.
type Result struct {
	ID string
	// Score is the cosine similarity to the query, in [-1, 1].
	Score float32
}

// Index is a cosine-similarity nearest-neighbour index of string IDs:
// a brute-force scan while small, an HNSW graph once it holds ExactBelow
// vectors. Vectors are copied and normalised on Add.
//
// The graph is this package's own (hnsw.go), not github.com/coder/hnsw:
// v0.6.1 of that library ends a search at the first expansion that does not
// improve the best distance, and finds the true nearest neighbour only about
// three times in five where this graph finds it every time
// (BenchmarkCoderHNSWRecall); its Delete can also corrupt the graph (its
// issues #10 and #13).
//
// Deleted or replaced vectors are tombstoned in the graph and filtered out
// of results. Graphs are built in the background, off the lock: the first
// when the index reaches ExactBelow (searches scan until it is ready), and
// a fresh one from the live vectors whenever tombstones outnumber them, so
// the cost is amortised to about one insertion per deletion and no caller
// waits for it. Close stops a build in progress and waits for it.
//
// The zero Index is not usable; call New. An Index is safe for concurrent
// use: Search takes a read lock and may run in parallel; Add and Delete take
// the write lock.
type Index struct {
	opts Options

	mu       sync.RWMutex // guards everything below
	dim      int
	slots    []slot         // live vectors, in no particular order
	byID     map[string]int // id → index in slots
	graph    *graph         // nil until a build finishes
	bySlot   []int32        // graph node → index in slots, -1 once deleted
	dead     int            // tombstoned nodes still in graph
	building bool           // a build goroutine runs
	closed   bool

	stop atomic.Bool    // asks a build to give up
	wg   sync.WaitGroup // the build goroutine
}

type slot struct {
	id   string
	node uint32 // the vector's node in graph; meaningless while graph is nil
	vec  []float32
}

// New returns an empty index.
func New(opts Options) *Index {
	if opts.ExactBelow == 0 {
		opts.ExactBelow = 1024
	}
	if opts.ExactBelow < 0 {
		opts.ExactBelow = 1
	}
	if opts.M <= 0 {
		opts.M = 16
	}
	if opts.EfSearch <= 0 {
		opts.EfSearch = 64
	}
	if opts.EfConstruction <= 0 {
		opts.EfConstruction = 64
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	return &Index{opts: opts, byID: make(map[string]int)}
}

// Close stops a background graph build and waits for it to end. The index
// still answers afterwards, by scan or with the graph it had.
func (ix *Index) Close() {
	ix.stop.Store(true)
	ix.mu.Lock()
	ix.closed = true
	ix.mu.Unlock()
	ix.wg.Wait()
}

// Wait blocks until the graph build in progress, if any, has ended: for
// benchmarks and tests that measure the graph rather than the scan that
// stands in while it is built. It must not run concurrently with Add or
// Delete.
func (ix *Index) Wait() { ix.wg.Wait() }

// Len returns the number of vectors in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.slots)
}

// Dim returns the vectors' length, or 0 while the index has never held one.
func (ix *Index) Dim() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.dim
}

// Add inserts vec under id, replacing any vector id had. It returns ErrDim
// when vec's length differs from the index's, and an error for an empty or
// zero vector.
func (ix *Index) Add(id string, vec []float32) error {
	v, err := normalized(vec)
	if err != nil {
		return err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.dim != 0 && len(v) != ix.dim {
		return fmt.Errorf("adding %q: %w: %d, index has %d", id, ErrDim, len(v), ix.dim)
	}
	ix.dim = len(v)
	if i, ok := ix.byID[id]; ok {
		ix.removeLocked(i)
	}
	s := slot{id: id, vec: v}
	if ix.graph != nil {
		s.node = ix.graph.add(v)
		ix.bySlot = append(ix.bySlot, int32(len(ix.slots)))
	}
	ix.byID[id] = len(ix.slots)
	ix.slots = append(ix.slots, s)
	ix.maybeBuildLocked()
	return nil
}

// Delete removes id and reports whether it was there.
func (ix *Index) Delete(id string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	i, ok := ix.byID[id]
	if !ok {
		return false
	}
	ix.removeLocked(i)
	ix.maybeBuildLocked()
	return true
}

// removeLocked drops slot i, tombstoning its graph node. ix.mu must be held.
func (ix *Index) removeLocked(i int) {
	s := ix.slots[i]
	delete(ix.byID, s.id)
	if ix.graph != nil {
		ix.bySlot[s.node] = -1
		ix.dead++
	}
	last := len(ix.slots) - 1
	if i != last {
		ix.slots[i] = ix.slots[last]
		ix.byID[ix.slots[i].id] = i
		if ix.graph != nil {
			ix.bySlot[ix.slots[i].node] = int32(i)
		}
	}
	ix.slots[last] = slot{}
	ix.slots = ix.slots[:last]
}

// maybeBuildLocked drops the graph when the index shrank to half of
// ExactBelow, and starts a build when the index needs a first graph or
// tombstones outnumber live nodes. ix.mu must be held.
func (ix *Index) maybeBuildLocked() {
	if ix.opts.Exact || ix.closed {
		return
	}
	n := len(ix.slots)
	if ix.graph != nil && n < ix.opts.ExactBelow/2 {
		ix.graph, ix.bySlot, ix.dead = nil, nil, 0
	}
	need := (ix.graph == nil && n >= ix.opts.ExactBelow) ||
		(ix.graph != nil && ix.dead > n && ix.dead >= 64)
	if !need || ix.building {
		return
	}
	ix.building = true
	snap := slices.Clone(ix.slots)
	ix.wg.Add(1)
	go ix.build(snap)
}

// build makes a graph of snap without holding the lock, then adopts it:
// vectors added since the snapshot are inserted, those deleted since are
// tombstoned. When many were added meanwhile, it inserts them too, still
// off the lock, and looks again, rather than insert them all under the
// lock: each round is shorter than the last as long as the graph grows
// faster than callers add, so under a steady stream of additions it
// converges where starting over from a fresh snapshot would not (each
// rebuild took longer than the last, and the index stayed on scans).
// While additions outpace the graph's insertions it keeps going, and
// searches scan, until the stream slows: the work is that of one build.
func (ix *Index) build(snap []slot) {
	defer ix.wg.Done()
	g := newGraph(ix.opts.M, ix.opts.EfConstruction, ix.opts.Seed)
	// A slot is the same vector iff it holds the same backing array.
	nodeOf := make(map[*float32]uint32, len(snap))
	for pending := snap; ; {
		for _, sl := range pending {
			if ix.stop.Load() {
				ix.mu.Lock()
				ix.building = false
				ix.mu.Unlock()
				return
			}
			nodeOf[&sl.vec[0]] = g.add(sl.vec)
		}
		ix.mu.Lock()
		if ix.stop.Load() {
			ix.building = false
			ix.mu.Unlock()
			return
		}
		pending = pending[:0:0]
		for _, sl := range ix.slots {
			if _, ok := nodeOf[&sl.vec[0]]; !ok {
				pending = append(pending, sl)
			}
		}
		// Measured against the live vectors already in g, not against g:
		// under replacements g also holds the vectors deleted since.
		if inGraph := len(ix.slots) - len(pending); len(pending) > 64+inGraph/4 {
			ix.mu.Unlock()
			continue
		}
		ix.adoptLocked(g, nodeOf)
		ix.mu.Unlock()
		return
	}
}

// adoptLocked makes g the graph. ix.mu must be held.
func (ix *Index) adoptLocked(g *graph, nodeOf map[*float32]uint32) {
	ix.building = false
	bySlot := make([]int32, g.len(), g.len()+g.len()/4)
	for i := range bySlot {
		bySlot[i] = -1
	}
	for i := range ix.slots {
		node, ok := nodeOf[&ix.slots[i].vec[0]]
		if !ok {
			node = g.add(ix.slots[i].vec)
			bySlot = append(bySlot, -1)
		}
		ix.slots[i].node = node
		bySlot[node] = int32(i)
	}
	ix.graph, ix.bySlot, ix.dead = g, bySlot, g.len()-len(ix.slots)
	ix.maybeBuildLocked()
}

// Search returns up to k vectors most similar to vec, best first. An
// empty index, k <= 0 or a vector of the wrong length give no results.
func (ix *Index) Search(vec []float32, k int) []Result {
	q, err := normalized(vec)
	if err != nil || k <= 0 {
		return nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if len(ix.slots) == 0 || len(q) != ix.dim {
		return nil
	}
	if ix.graph == nil {
		return ix.exactLocked(q, k)
	}
	// Widen the beam so that tombstones do not crowd out live nodes, and
	// fall back to a scan if the graph still comes up short.
	ef := max(ix.opts.EfSearch, k+min(ix.dead, 2*k+8))
	var out []Result
	for _, n := range ix.graph.search(q, ef) {
		if i := ix.bySlot[n.id]; i >= 0 {
			out = append(out, Result{ID: ix.slots[i].id, Score: 1 - n.dist})
		}
		if len(out) == k {
			break
		}
	}
	if len(out) < min(k, len(ix.slots)) {
		return ix.exactLocked(q, k)
	}
	return out
}

// SearchExact is Search by brute force whatever the index's size: the
// reference that approximate results are measured against.
func (ix *Index) SearchExact(vec []float32, k int) []Result {
	q, err := normalized(vec)
	if err != nil || k <= 0 {
		return nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if len(q) != ix.dim {
		return nil
	}
	return ix.exactLocked(q, k)
}

// exactLocked scans every live vector, keeping the k best in a small
// sorted buffer. ix.mu must be held (read).
func (ix *Index) exactLocked(q []float32, k int) []Result {
	best := make([]Result, 0, k+1)
	for i := range ix.slots {
		s := Dot(q, ix.slots[i].vec)
		if len(best) == k && s <= best[k-1].Score {
			continue
		}
		j, _ := slices.BinarySearchFunc(best, s, func(r Result, s float32) int { return cmp.Compare(s, r.Score) })
		best = slices.Insert(best, j, Result{ID: ix.slots[i].id, Score: s})
		if len(best) > k {
			best = best[:k]
		}
	}
	return best
}

// Cosine returns the cosine similarity of a and b (0 if either is zero or
// their lengths differ).
func Cosine(a, b []float32) float32 {
	if len(a) != len(b) {
		return 0
	}
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return float32(ab / math.Sqrt(aa*bb))
}

// Dot returns the dot product of a and b, over a's length (b must be at
// least as long): the cosine similarity of unit vectors. Four
// accumulators let the loop run without waiting on each addition.
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// normalized returns a unit-length copy of v.
func normalized(v []float32) ([]float32, error) {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return nil, errors.New("vector is empty, zero or not finite")
	}
	out := make([]float32, len(v))
	inv := 1 / math.Sqrt(n)
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out, nil
}
