package vectorindex

import (
	"math"
	"math/rand/v2"
)

// graph is a Hierarchical Navigable Small World graph (Malkov and Yashunin,
// 2018: arXiv:1603.09320) over unit vectors, with the paper's heuristic
// neighbour selection (algorithm 4) and ef-bounded beam search (algorithm 2).
// Nodes are dense uint32 ids in insertion order and are never removed:
// callers filter deleted ones out of results and rebuild when they pile up.
// It is not safe for concurrent use; Index guards it.
type graph struct {
	m, m0   int // neighbours kept per node above level 0, and at level 0
	efBuild int
	ml      float64 // level multiplier 1/ln(m)
	rnd     *rand.Rand

	vecs  [][]float32
	links [][][]uint32 // links[node][level]: its neighbours
	entry uint32
	top   int // level of entry; -1 while empty
}

func newGraph(m, efBuild int, seed uint64) *graph {
	return &graph{
		m: m, m0: 2 * m, efBuild: efBuild,
		ml:  1 / math.Log(float64(m)),
		rnd: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		top: -1,
	}
}

func (g *graph) len() int { return len(g.vecs) }

// add inserts v (unit length, owned by the caller and never modified) and
// returns its node id.
func (g *graph) add(v []float32) uint32 {
	id := uint32(len(g.vecs))
	level := int(-math.Log(1-g.rnd.Float64()) * g.ml)
	g.vecs = append(g.vecs, v)
	g.links = append(g.links, make([][]uint32, level+1))
	if g.top < 0 {
		g.entry, g.top = id, level
		return id
	}
	ep := g.entry
	epDist := g.dist(v, ep)
	for l := g.top; l > level; l-- {
		ep, epDist = g.greedy(v, ep, epDist, l)
	}
	for l := min(level, g.top); l >= 0; l-- {
		cands := g.searchLayer(v, scored{epDist, ep}, g.efBuild, l)
		maxN := g.m
		if l == 0 {
			maxN = g.m0
		}
		nbrs := g.selectNeighbours(cands, g.m)
		g.links[id][l] = ids(nbrs)
		for _, n := range nbrs {
			nl := append(g.links[n.id][l], id)
			if len(nl) > maxN {
				nl = g.shrink(n.id, nl, maxN)
			}
			g.links[n.id][l] = nl
		}
		ep, epDist = cands[0].id, cands[0].dist
	}
	if level > g.top {
		g.entry, g.top = id, level
	}
	return id
}

// search returns up to ef nodes nearest to q, nearest first.
func (g *graph) search(q []float32, ef int) []scored {
	if g.top < 0 {
		return nil
	}
	ep := g.entry
	epDist := g.dist(q, ep)
	for l := g.top; l > 0; l-- {
		ep, epDist = g.greedy(q, ep, epDist, l)
	}
	return g.searchLayer(q, scored{epDist, ep}, ef, 0)
}

// greedy walks level l towards q while a neighbour is nearer.
func (g *graph) greedy(q []float32, ep uint32, d float32, l int) (uint32, float32) {
	for changed := true; changed; {
		changed = false
		for _, n := range g.links[ep][l] {
			if nd := g.dist(q, n); nd < d {
				ep, d, changed = n, nd, true
			}
		}
	}
	return ep, d
}

// searchLayer is a beam search of width ef on level l from ep; it returns
// the ef nearest nodes found, nearest first.
func (g *graph) searchLayer(q []float32, ep scored, ef, l int) []scored {
	visited := make([]uint64, (len(g.vecs)+63)/64)
	cand := scoredHeap{s: []scored{ep}}           // to expand, nearest first
	res := scoredHeap{s: []scored{ep}, far: true} // found so far, farthest on top
	visited[ep.id/64] |= 1 << (ep.id % 64)
	for cand.len() > 0 {
		c := cand.pop()
		if res.len() >= ef && c.dist > res.top().dist {
			break
		}
		for _, n := range g.links[c.id][l] {
			if visited[n/64]&(1<<(n%64)) != 0 {
				continue
			}
			visited[n/64] |= 1 << (n % 64)
			d := g.dist(q, n)
			if res.len() < ef || d < res.top().dist {
				cand.push(scored{d, n})
				res.push(scored{d, n})
				if res.len() > ef {
					res.pop()
				}
			}
		}
	}
	out := make([]scored, res.len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = res.pop()
	}
	return out
}

// selectNeighbours keeps up to m of cands (nearest first), skipping one
// that is nearer to an already kept neighbour than to the new node, so that
// links reach out in several directions rather than into one cluster.
func (g *graph) selectNeighbours(cands []scored, m int) []scored {
	out := make([]scored, 0, m)
	for _, c := range cands {
		if len(out) == m {
			break
		}
		ok := true
		for _, o := range out {
			if 1-Dot(g.vecs[c.id], g.vecs[o.id]) < c.dist {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, c)
		}
	}
	// Fill up with the nearest rejected ones: a sparse node is worse than
	// a redundant link.
	for _, c := range cands {
		if len(out) == m {
			break
		}
		if !containsID(out, c.id) {
			out = append(out, c)
		}
	}
	return out
}

// shrink reduces node's links to maxN by the same heuristic.
func (g *graph) shrink(node uint32, links []uint32, maxN int) []uint32 {
	cands := make([]scored, len(links))
	for i, n := range links {
		cands[i] = scored{1 - Dot(g.vecs[node], g.vecs[n]), n}
	}
	sortScored(cands)
	return ids(g.selectNeighbours(cands, maxN))
}

func (g *graph) dist(q []float32, n uint32) float32 { return 1 - Dot(q, g.vecs[n]) }

type scored struct {
	dist float32
	id   uint32
}

func ids(s []scored) []uint32 {
	out := make([]uint32, len(s))
	for i, x := range s {
		out[i] = x.id
	}
	return out
}

func containsID(s []scored, id uint32) bool {
	for _, x := range s {
		if x.id == id {
			return true
		}
	}
	return false
}

func sortScored(s []scored) {
	// Insertion sort: link lists are at most 2m+1 long.
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].dist < s[j-1].dist; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// scoredHeap is a binary heap of scored by dist: nearest on top, or
// farthest on top when far is set.
type scoredHeap struct {
	s   []scored
	far bool
}

// above reports whether a belongs above b.
func (h *scoredHeap) above(a, b scored) bool {
	if h.far {
		return a.dist > b.dist
	}
	return a.dist < b.dist
}

func (h *scoredHeap) len() int    { return len(h.s) }
func (h *scoredHeap) top() scored { return h.s[0] }

func (h *scoredHeap) push(x scored) {
	h.s = append(h.s, x)
	s := h.s
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.above(s[i], s[p]) {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *scoredHeap) pop() scored {
	s := h.s
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		c := 2*i + 1
		if c >= len(s) {
			break
		}
		if c+1 < len(s) && h.above(s[c+1], s[c]) {
			c++
		}
		if !h.above(s[c], s[i]) {
			break
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
	h.s = s
	return top
}
