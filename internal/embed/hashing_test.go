package embed

import (
	"context"
	"math"
	"testing"
)

func TestHashing(t *testing.T) {
	h := NewHashing(0)
	if h.Dim() != 256 {
		t.Fatalf("Dim() = %d; want 256", h.Dim())
	}
	v, err := h.Embed(context.Background(), []string{"What is Python?", "what is python", "What is Java?", ""})
	if err != nil {
		t.Fatal(err)
	}
	if s := dot(v[0], v[1]); math.Abs(s-1) > 1e-6 {
		t.Errorf("case and punctuation changed the vector: similarity %v; want 1", s)
	}
	if s := dot(v[0], v[2]); s > 0.8 || s < 0.2 {
		t.Errorf("sim(Python, Java) = %v; want between 0.2 and 0.8 (shared words, different entity)", s)
	}
	if s := dot(v[3], v[3]); s != 0 {
		t.Errorf("empty text has norm² %v; want 0", s)
	}
}
