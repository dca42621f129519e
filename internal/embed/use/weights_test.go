package use

import (
	"bytes"
	"math"
	"slices"
	"testing"
)

// TestWeightsRoundTrip writes the built-in weights back out, every tensor as
// float32 and then as float16, and checks what parses back.
func TestWeightsRoundTrip(t *testing.T) {
	w, err := ParseWeights(weightsFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []Encoding{Float32, Float16} {
		var buf bytes.Buffer
		if err := WriteWeights(&buf, w, func(Tensor) Encoding { return enc }); err != nil {
			t.Fatal(err)
		}
		got, err := ParseWeights(buf.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", enc, err)
		}
		if !slices.Equal(got.Vocab, w.Vocab) {
			t.Errorf("%s: vocabulary changed", enc)
		}
		want := w.Tensors()
		for i, tn := range got.Tensors() {
			a, b := *tn.Data, *want[i].Data
			for j := range a {
				// float16 keeps 11 significant bits, and steps of 2⁻²⁴ near 0.
				if d := math.Abs(float64(a[j] - b[j])); d > 0 && (enc == Float32 || d > max(math.Abs(float64(b[j]))/2048, 0x1p-25)) {
					t.Fatalf("%s: %s[%d] = %g; want %g", enc, tn.Name, j, a[j], b[j])
				}
			}
		}
	}
}

func TestParseWeightsRejectsDamage(t *testing.T) {
	bad := map[string][]byte{
		"empty":          nil,
		"wrong magic":    append([]byte("CATOUSE9"), weightsFile[8:]...),
		"trailing bytes": append(slices.Clip(weightsFile), 0),
	}
	for _, n := range []int{8, 12, 20, 1000, len(weightsFile) / 2, len(weightsFile) - 9, len(weightsFile) - 1} {
		bad["truncated"+string(rune('a'+len(bad)))] = weightsFile[:n]
	}
	for name, b := range bad {
		if _, err := ParseWeights(b); err == nil {
			t.Errorf("ParseWeights(%s, %d bytes) succeeded", name, len(b))
		}
	}
}

func TestQuantizeRow(t *testing.T) {
	row := []float32{0.5, -0.25, 0.125, 0.01, -0.0001, 0, 0.49}
	q := make([]byte, len(row))
	scale := quantizeRow(q, row)
	for i, x := range row {
		v := int8(q[i])
		if v < -127 {
			t.Errorf("q[%d] = %d; want within ±127", i, v)
		}
		if d := math.Abs(float64(x - float32(v)*scale)); d > float64(scale) {
			t.Errorf("%g quantised to %d × %g, off by %g", x, v, scale, d)
		}
	}
	zero := make([]byte, 3)
	if s := quantizeRow(zero, []float32{0, 0, 0}); s != 1 || !slices.Equal(zero, []byte{0, 0, 0}) {
		t.Errorf("quantizeRow of zeros = %v, scale %g; want zeros, 1", zero, s)
	}
}

// TestHalf checks the float16 conversions: every half survives a round
// trip, and rounding is to nearest, ties to even.
func TestHalf(t *testing.T) {
	for h := range 1 << 16 {
		f := halfToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if back := float32ToHalf(f); back != uint16(h) {
			t.Fatalf("half %#04x → %g → %#04x", h, f, back)
		}
	}
	tests := []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00},
		{1 + 1.0/2048, 0x3c00},        // tie: to even
		{1 + 3.0/2048, 0x3c02},        // tie: to even
		{1 + 1.0/2048 + 1e-7, 0x3c01}, // above the tie
		{65520, 0x7c00},               // rounds to infinity
		{-2, 0xc000},
		{5.96e-8, 0x0001}, // smallest subnormal
		{1e-9, 0},
	}
	for _, tt := range tests {
		if got := float32ToHalf(tt.f); got != tt.want {
			t.Errorf("float32ToHalf(%g) = %#04x; want %#04x", tt.f, got, tt.want)
		}
	}
}
