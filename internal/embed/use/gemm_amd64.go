//go:build !purego

package use

import "golang.org/x/sys/cpu"

// detectKernel picks AVX-512 where the CPU (and the OS) support it, else
// AVX2 with FMA, else the portable kernel. cpu.X86 checks that the OS saves
// the wider registers.
func detectKernel() kernelKind {
	ks := availableKernels()
	return ks[len(ks)-1]
}

// availableKernels lists the kernels this CPU runs, slowest first. dot and
// axpy use AVX2 whenever the best kernel is not the portable one, so
// AVX-512 is only chosen alongside AVX2 and FMA.
func availableKernels() []kernelKind {
	ks := []kernelKind{kernelGo}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, kernelAVX2)
		if cpu.X86.HasAVX512F {
			ks = append(ks, kernelAVX512)
		}
	}
	return ks
}

// kernelAVX2x6 computes rows (1-6) rows × 16 columns of C from one panel
// (AVX2, FMA); accumulate is 0 or 1. Rows past rows read row 0 of A and are
// not stored.
//
//go:noescape
func kernelAVX2x6(a *float32, lda int, b, c *float32, ldc, depth, rows, accumulate int)

// kernelAVX512x8 computes rows (1-8) rows × 32 columns of C from two
// adjacent panels, bstride values apart (AVX-512F); otherwise as
// kernelAVX2x6.
//
//go:noescape
func kernelAVX512x8(a *float32, lda int, b *float32, bstride int, c *float32, ldc, depth, rows, accumulate int)

// kernelAVX2x6I8 is kernelAVX2x6 for an int8 panel whose columns are
// scaled by scales[0:16].
//
//go:noescape
func kernelAVX2x6I8(a *float32, lda int, b *int8, scales, c *float32, ldc, depth, rows, accumulate int)

// kernelAVX512x8I8 is kernelAVX512x8 for int8 panels whose columns are
// scaled by scales[0:32].
//
//go:noescape
func kernelAVX512x8I8(a *float32, lda int, b *int8, bstride int, scales, c *float32, ldc, depth, rows, accumulate int)

// dotAVX2 is dot over n values, n a positive multiple of 8.
//
//go:noescape
func dotAVX2(a, b *float32, n int) float32

// axpyAVX2 is axpy over n values, n a positive multiple of 8.
//
//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)
