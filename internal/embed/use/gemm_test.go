package use

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMulKernelsAgree checks every kernel this CPU runs against a
// float64 product, over shapes that exercise partial row tiles, depths that
// are not a multiple of the unrolling, several depth blocks (accumulation),
// several row blocks and row strides wider than the data.
func TestMatMulKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := []struct{ m, k, n, padA, padC int }{
		{1, 1, 32, 0, 0},
		{1, 7, 32, 3, 0},
		{5, 64, 64, 0, 16},
		{6, 256, 32, 0, 0},
		{7, 257, 96, 1, 0},
		{8, 100, 64, 0, 0},
		{9, 513, 64, 5, 7},
		{16, 512, 512, 0, 0},
		{97, 300, 64, 0, 0},
		{200, 1536, 32, 0, 0},
	}
	for _, kind := range availableKernels() {
		for _, s := range shapes {
			for _, quant := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/int8=%v/%dx%dx%d", kind, quant, s.m, s.k, s.n), func(t *testing.T) {
					w := randVec(rng, s.n*s.k)
					packed := packMatrix(w, s.n, s.k)
					if quant {
						q := make([]byte, len(w))
						scales := make([]float32, s.n)
						for j := range s.n {
							scales[j] = rng.Float32() + 0.5
							for k := range s.k {
								v := int8(rng.IntN(255) - 127)
								q[j*s.k+k] = byte(v)
								w[j*s.k+k] = float32(v) * scales[j]
							}
						}
						packed = packQuantized(q, scales, s.n, s.k)
					}
					lda, ldc := s.k+s.padA, s.n+s.padC
					a := randVec(rng, s.m*lda)
					c := randVec(rng, s.m*ldc) // garbage the product must overwrite
					keep := append([]float32(nil), c...)
					matMulWith(kind, c, ldc, a, lda, s.m, packed)
					tol := 1e-6*scale(w)*math.Sqrt(float64(s.k)) + 1e-6
					for i := range s.m {
						for j := range s.n {
							var want float64
							for k := range s.k {
								want += float64(a[i*lda+k]) * float64(w[j*s.k+k])
							}
							got := c[i*ldc+j]
							if math.Abs(float64(got)-want) > tol {
								t.Fatalf("c[%d][%d] = %g; want %g", i, j, got, want)
							}
						}
						for j := s.n; j < ldc; j++ {
							if c[i*ldc+j] != keep[i*ldc+j] {
								t.Fatalf("c[%d][%d], past the product, changed", i, j)
							}
						}
					}
				})
			}
		}
	}
}

// scale is the largest magnitude in v.
func scale(v []float32) float64 {
	var m float64
	for _, x := range v {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

func TestDotAndAxpyAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 8, 9, 16, 24, 64, 127, 128} {
		a, b := randVec(rng, n), randVec(rng, n)
		var want float64
		for i := range a {
			want += float64(a[i]) * float64(b[i])
		}
		for name, got := range map[string]float32{"dot": dot(bestKernel, a, b), "dotGo": dotGo(a, b)} {
			if math.Abs(float64(got)-want) > 1e-5 {
				t.Errorf("%s over %d values = %g; want %g", name, n, got, want)
			}
		}
		y1, y2 := append([]float32(nil), b...), append([]float32(nil), b...)
		axpy(bestKernel, 0.375, a, y1)
		axpyGo(0.375, a, y2)
		for i := range y1 {
			if want := float64(b[i]) + 0.375*float64(a[i]); math.Abs(float64(y1[i])-want) > 1e-6 || math.Abs(float64(y2[i])-want) > 1e-6 {
				t.Fatalf("axpy over %d values: y[%d] = %g (asm), %g (Go); want %g", n, i, y1[i], y2[i], want)
			}
		}
	}
}

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return v
}

func BenchmarkMatMul(b *testing.B) {
	for _, kind := range availableKernels() {
		for _, s := range [][3]int{{16, 512, 1536}, {512, 512, 1536}} {
			m, k, n := s[0], s[1], s[2]
			b.Run(fmt.Sprintf("%s/%dx%dx%d", kind, m, k, n), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(5, 6))
				w := packMatrix(randVec(rng, n*k), n, k)
				a, c := randVec(rng, m*k), make([]float32, m*n)
				b.ResetTimer()
				for range b.N {
					matMulWith(kind, c, n, a, k, m, w)
				}
				b.ReportMetric(float64(m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}

// BenchmarkForward runs the forward pass with each kernel this CPU has, over
// one 16-token question and over 32 of them in one batch.
func BenchmarkForward(b *testing.B) {
	base := builtIn(b).m
	for _, kind := range availableKernels() {
		for _, n := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/%dx16tokens", kind, n), func(b *testing.B) {
				m := *base
				m.kernel = kind
				var bt batch
				for range n {
					bt.add(m.tok, question16)
				}
				out := make([]float32, n*Dim)
				m.forward(&bt, out)
				b.ReportAllocs()
				cpu0 := processCPU()
				b.ResetTimer()
				for range b.N {
					m.forward(&bt, out)
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "texts/s")
				if cpu0 > 0 {
					b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*n), "cpu-ns/text")
				}
			})
		}
	}
}
