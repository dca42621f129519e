package embed

import (
	"context"
	"math"
	"testing"
)

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func newLocal(t testing.TB, opts LocalOptions) *Local {
	t.Helper()
	l, err := NewLocal(opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func similarity(t testing.TB, e Embedder, a, b string) float64 {
	t.Helper()
	v, err := e.Embed(context.Background(), []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	return dot(v[0], v[1])
}

func TestLocalVectors(t *testing.T) {
	l := newLocal(t, LocalOptions{})
	if got := l.Dim(); got != 128 {
		t.Fatalf("Dim() = %d; want 128", got)
	}
	v, err := l.Embed(context.Background(), []string{"What is Python?", "", "zxqv blorptang"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{1, 0, 1} {
		if len(v[i]) != 128 {
			t.Errorf("vector %d has %d dims; want 128", i, len(v[i]))
		}
		if n := dot(v[i], v[i]); math.Abs(n-want) > 1e-4 {
			t.Errorf("vector %d has squared norm %v; want %v", i, n, want)
		}
	}
}

// TestLocalSimilarityOrder checks that paraphrases score above questions
// about something else, for the default options and with the common
// component kept.
func TestLocalSimilarityOrder(t *testing.T) {
	tests := []struct {
		name             string
		query, near, far string
	}{
		{"programming language", "What is Python?", "What is Python programming?", "How do I bake bread?"},
		{"capital", "What is the capital of France?", "Which city is the capital of France?", "Who wrote Hamlet?"},
		{"synonym", "How do I fix a flat tire?", "How can I repair a flat tyre?", "How do I fix a leaking tap?"},
		{"unknown entities differ", "What does error XJ4821 mean?", "What does error XJ4821 mean exactly?", "What does error QZ7730 mean?"},
	}
	for _, opts := range []LocalOptions{{}, {KeepCommonComponent: true}} {
		l := newLocal(t, opts)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				near, far := similarity(t, l, tt.query, tt.near), similarity(t, l, tt.query, tt.far)
				if near <= far {
					t.Errorf("opts %+v: sim(%q, %q) = %.3f is not above sim(%q) = %.3f", opts, tt.query, tt.near, near, tt.far, far)
				}
			})
		}
	}
}

func TestParseWordTableRejects(t *testing.T) {
	good := gloveFile
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"bad magic", []byte("NOTAFILE\x01\x00\x00\x00\x01\x00\x00\x00")},
		{"truncated header", good[:20]},
		{"truncated words", good[:len(wordFileMagic)+8+400+100]},
		{"truncated vectors", good[:len(good)-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseWordTable(tt.b); err == nil {
				t.Errorf("parseWordTable accepted %d bytes", len(tt.b))
			}
		})
	}
	if _, err := parseWordTable(good); err != nil {
		t.Fatalf("parseWordTable(built-in) = %v", err)
	}
}

func FuzzParseWordTable(f *testing.F) {
	f.Add(gloveFile[:64])
	f.Add([]byte("CATOWV1\n\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x00\x01a\x00\x00\x80\x3f\x01\xff"))
	f.Add([]byte("CATOWV1\n\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		wt, err := parseWordTable(b)
		if err != nil {
			return
		}
		dst := make([]float32, wt.dim)
		for _, r := range wt.index {
			wt.addTo(dst, r, 1)
		}
	})
}

// BenchmarkLocalEmbed measures embedding one typical question.
func BenchmarkLocalEmbed(b *testing.B) {
	l := newLocal(b, LocalOptions{})
	ctx := context.Background()
	q := []string{"How do I sort a list of dictionaries by a key in Python?"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Embed(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewLocal measures parsing the built-in word vectors.
func BenchmarkNewLocal(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		newLocal(b, LocalOptions{})
	}
}
