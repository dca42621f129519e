//go:build !amd64 || purego

package use

func detectKernel() kernelKind { return kernelGo }

func availableKernels() []kernelKind { return []kernelKind{kernelGo} }

// The assembly kernels exist only on amd64, and not with the purego build
// tag; detectKernel never selects them then.

func kernelAVX2x6(a *float32, lda int, b, c *float32, ldc, depth, rows, accumulate int) {
	panic("use: no AVX2 kernel in this build")
}

func kernelAVX512x8(a *float32, lda int, b *float32, bstride int, c *float32, ldc, depth, rows, accumulate int) {
	panic("use: no AVX-512 kernel in this build")
}

func kernelAVX2x6I8(a *float32, lda int, b *int8, scales, c *float32, ldc, depth, rows, accumulate int) {
	panic("use: no AVX2 kernel in this build")
}

func kernelAVX512x8I8(a *float32, lda int, b *int8, bstride int, scales, c *float32, ldc, depth, rows, accumulate int) {
	panic("use: no AVX-512 kernel in this build")
}

func dotAVX2(a, b *float32, n int) float32 { panic("use: no AVX2 kernel in this build") }

func axpyAVX2(alpha float32, x, y *float32, n int) {
	panic("use: no AVX2 kernel in this build")
}
