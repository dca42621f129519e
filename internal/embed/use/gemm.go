package use

import "fmt"

// The matrix multiply behind every dense layer: C = A·W, where A holds one
// row per token and W is a weight matrix packed once, at load time, into
// column panels of nr values. A kernel computes a tile of C (a few rows by
// one or two panels) over a block of at most kc of the shared dimension, so
// the panel slice it reads stays in the L1 cache while it serves every row
// block, and a block of A (mc × kc) stays in L2.
const (
	nr = 16  // panel width
	kc = 256 // depth of one block of the shared dimension
	mc = 96  // rows of A per block
)

// kernelKind names an implementation of the tile kernel.
type kernelKind int

const (
	kernelGo     kernelKind = iota // portable Go: 4 rows × 16 columns
	kernelAVX2                     // AVX2 and FMA: 6 rows × 16 columns
	kernelAVX512                   // AVX-512: 8 rows × 32 columns (two panels)
)

func (k kernelKind) String() string {
	return [...]string{"go", "avx2", "avx512"}[k]
}

// tile returns the rows and panels of one kernel call.
func (k kernelKind) tile() (rows, panels int) {
	switch k {
	case kernelAVX2:
		return 6, 1
	case kernelAVX512:
		return 8, 2
	}
	return 4, 1
}

// bestKernel is the fastest kernel this CPU runs; see gemm_amd64.go.
var bestKernel = detectKernel()

// matrix is a k × n weight matrix (k inputs, n outputs) packed into n/nr
// column panels, each k rows of nr consecutive values: float32 values, or
// int8 values (q) with one scale per column, in which case a product is
// Σ a·q times the column's scale. n is a multiple of 2·nr, so every
// kernel's tile divides it. It is immutable.
//
// Quantised weights stay int8 in memory (7 MB rather than 28): a short
// sentence reads every weight once or twice, so the forward pass is bound
// by how fast the weights stream in, and a quarter of the bytes helps more
// than the kernel's int8-to-float conversion costs.
type matrix struct {
	k, n   int
	panels []float32 // float32 panels, or nil
	q      []int8    // int8 panels, or nil
	scales []float32 // with q: the scale of each column
}

// packMatrix packs w, given output-major (n rows of k values, as Weights
// stores it), into panels.
func packMatrix(w []float32, n, k int) *matrix {
	if n%(2*nr) != 0 || len(w) != n*k {
		panic(fmt.Sprintf("use: packing a %d×%d matrix from %d values", n, k, len(w)))
	}
	m := &matrix{k: k, n: n, panels: make([]float32, n*k)}
	for p := range n / nr {
		panel := m.panels[p*k*nr : (p+1)*k*nr]
		for j := range nr {
			row := w[(p*nr+j)*k : (p*nr+j+1)*k]
			for kk, x := range row {
				panel[kk*nr+j] = x
			}
		}
	}
	return m
}

// packQuantized packs the int8 matrix q (output-major, n rows of k values,
// row r scaled by scales[r]) into int8 panels.
func packQuantized(q []byte, scales []float32, n, k int) *matrix {
	if n%(2*nr) != 0 || len(q) != n*k || len(scales) != n {
		panic(fmt.Sprintf("use: packing a %d×%d int8 matrix from %d values and %d scales", n, k, len(q), len(scales)))
	}
	m := &matrix{k: k, n: n, q: make([]int8, n*k), scales: scales}
	for p := range n / nr {
		panel := m.q[p*k*nr : (p+1)*k*nr]
		for j := range nr {
			row := q[(p*nr+j)*k : (p*nr+j+1)*k]
			for kk, x := range row {
				panel[kk*nr+j] = int8(x)
			}
		}
	}
	return m
}

// matMulWith sets the m × w.n matrix c (row stride ldc) to a·w, where a is
// m × w.k with row stride lda, with the given kernel.
func matMulWith(kind kernelKind, c []float32, ldc int, a []float32, lda, m int, w *matrix) {
	if m == 0 {
		return
	}
	// The assembly kernels trust these bounds.
	if lda < w.k || ldc < w.n || len(a) < (m-1)*lda+w.k || len(c) < (m-1)*ldc+w.n {
		panic(fmt.Sprintf("use: matMul of %d rows: a %d (stride %d), c %d (stride %d), w %d×%d", m, len(a), lda, len(c), ldc, w.k, w.n))
	}
	tileRows, tilePanels := kind.tile()
	for i0 := 0; i0 < m; i0 += mc {
		i1 := min(m, i0+mc)
		for k0 := 0; k0 < w.k; k0 += kc {
			depth := min(kc, w.k-k0)
			acc := 0
			if k0 > 0 {
				acc = 1
			}
			for p := 0; p < w.n/nr; p += tilePanels {
				off := p*w.k*nr + k0*nr // of the panel slice
				for i := i0; i < i1; i += tileRows {
					rows := min(tileRows, i1-i)
					ai, ci := a[i*lda+k0:], c[i*ldc+p*nr:]
					switch {
					case w.q != nil && kind == kernelAVX512:
						kernelAVX512x8I8(&ai[0], lda, &w.q[off], w.k*nr, &w.scales[p*nr], &ci[0], ldc, depth, rows, acc)
					case w.q != nil && kind == kernelAVX2:
						kernelAVX2x6I8(&ai[0], lda, &w.q[off], &w.scales[p*nr], &ci[0], ldc, depth, rows, acc)
					case w.q != nil:
						kernelGo4I8(ai, lda, w.q[off:], w.scales[p*nr:], ci, ldc, depth, rows, acc == 1)
					case kind == kernelAVX512:
						kernelAVX512x8(&ai[0], lda, &w.panels[off], w.k*nr, &ci[0], ldc, depth, rows, acc)
					case kind == kernelAVX2:
						kernelAVX2x6(&ai[0], lda, &w.panels[off], &ci[0], ldc, depth, rows, acc)
					default:
						kernelGo4(ai, lda, w.panels[off:], ci, ldc, depth, rows, acc == 1)
					}
				}
			}
		}
	}
}

// kernelGo4 computes rows (at most 4) rows × nr columns of C over depth
// values of the shared dimension: c[r][j] (+)= Σ_k a[r][k]·b[k][j], where b
// is a panel (row stride nr) and += applies when accumulate is set.
// It keeps a 4 × 4 block of accumulators in registers at a time.
func kernelGo4(a []float32, lda int, b, c []float32, ldc, depth, rows int, accumulate bool) {
	var pad [4][]float32
	for r := range 4 {
		pad[r] = a[min(r, rows-1)*lda:][:depth] // rows past rows repeat the last one
	}
	a0, a1, a2, a3 := pad[0], pad[1], pad[2], pad[3]
	b = b[:depth*nr]
	for j := 0; j < nr; j += 4 {
		var c00, c01, c02, c03, c10, c11, c12, c13 float32
		var c20, c21, c22, c23, c30, c31, c32, c33 float32
		for k := range depth {
			bk := (*[4]float32)(b[k*nr+j:])
			b0, b1, b2, b3 := bk[0], bk[1], bk[2], bk[3]
			x := a0[k]
			c00, c01, c02, c03 = c00+x*b0, c01+x*b1, c02+x*b2, c03+x*b3
			x = a1[k]
			c10, c11, c12, c13 = c10+x*b0, c11+x*b1, c12+x*b2, c13+x*b3
			x = a2[k]
			c20, c21, c22, c23 = c20+x*b0, c21+x*b1, c22+x*b2, c23+x*b3
			x = a3[k]
			c30, c31, c32, c33 = c30+x*b0, c31+x*b1, c32+x*b2, c33+x*b3
		}
		out := [4][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
		for r := range rows {
			cr := (*[4]float32)(c[r*ldc+j:])
			if accumulate {
				for i := range cr {
					cr[i] += out[r][i]
				}
			} else {
				*cr = out[r]
			}
		}
	}
}

// kernelGo4I8 is kernelGo4 for an int8 panel with per-column scales.
func kernelGo4I8(a []float32, lda int, b []int8, scales, c []float32, ldc, depth, rows int, accumulate bool) {
	var pad [4][]float32
	for r := range 4 {
		pad[r] = a[min(r, rows-1)*lda:][:depth]
	}
	a0, a1, a2, a3 := pad[0], pad[1], pad[2], pad[3]
	b = b[:depth*nr]
	for j := 0; j < nr; j += 4 {
		var c00, c01, c02, c03, c10, c11, c12, c13 float32
		var c20, c21, c22, c23, c30, c31, c32, c33 float32
		for k := range depth {
			bk := (*[4]int8)(b[k*nr+j:])
			b0, b1, b2, b3 := float32(bk[0]), float32(bk[1]), float32(bk[2]), float32(bk[3])
			x := a0[k]
			c00, c01, c02, c03 = c00+x*b0, c01+x*b1, c02+x*b2, c03+x*b3
			x = a1[k]
			c10, c11, c12, c13 = c10+x*b0, c11+x*b1, c12+x*b2, c13+x*b3
			x = a2[k]
			c20, c21, c22, c23 = c20+x*b0, c21+x*b1, c22+x*b2, c23+x*b3
			x = a3[k]
			c30, c31, c32, c33 = c30+x*b0, c31+x*b1, c32+x*b2, c33+x*b3
		}
		s := (*[4]float32)(scales[j:])
		out := [4][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
		for r := range rows {
			cr := (*[4]float32)(c[r*ldc+j:])
			for i := range cr {
				v := out[r][i] * s[i]
				if accumulate {
					v += cr[i]
				}
				cr[i] = v
			}
		}
	}
}

// dot returns Σ a[i]·b[i] over len(a) values, in assembly unless kind is
// the portable kernel.
func dot(kind kernelKind, a, b []float32) float32 {
	b = b[:len(a)]
	if kind != kernelGo && len(a) >= 8 {
		n := len(a) &^ 7
		s := dotAVX2(&a[0], &b[0], n)
		for i := n; i < len(a); i++ {
			s += a[i] * b[i]
		}
		return s
	}
	return dotGo(a, b)
}

func dotGo(a, b []float32) float32 {
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
	return (s0 + s1) + (s2 + s3)
}

// axpy adds alpha·x to y, over len(y) values, in assembly unless kind is
// the portable kernel.
func axpy(kind kernelKind, alpha float32, x, y []float32) {
	x = x[:len(y)]
	if kind != kernelGo && len(y) >= 8 {
		n := len(y) &^ 7
		axpyAVX2(alpha, &x[0], &y[0], n)
		for i := n; i < len(y); i++ {
			y[i] += alpha * x[i]
		}
		return
	}
	axpyGo(alpha, x, y)
}

func axpyGo(alpha float32, x, y []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += alpha * x[i]
	}
}
