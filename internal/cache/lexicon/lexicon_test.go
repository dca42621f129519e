package lexicon

import "testing"

func TestRelations(t *testing.T) {
	tests := []struct {
		name      string
		rel       func(a, b string) bool
		a, b      string
		want      bool
		symmetric bool
	}{
		{"synonyms", Synonyms, "repair", "mend", true, true},
		{"synonyms, inflected", Synonyms, "repaired", "mending", true, true},
		{"synonyms, adjective degrees", Synonyms, "biggest", "largest", true, true},
		{"synonyms, phrasal verb", Synonyms, "assemble", "put_together", true, true},
		{"a rare sense is left out", Synonyms, "fix", "pickle", false, true},
		{"siblings are not synonyms", Synonyms, "violin", "cello", false, true},
		{"antonyms", Antonyms, "increase", "decrease", true, true},
		{"antonyms, inflected", Antonyms, "raised", "lowering", true, true},
		{"not antonyms", Antonyms, "raise", "lift", false, true},
		{"derived", Derived, "invent", "invention", true, true},
		{"not derived", Derived, "invent", "discover", false, true},
		{"unknown words", Synonyms, "kubernetes", "k8s", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rel(tt.a, tt.b); got != tt.want {
				t.Errorf("(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
			}
			if got := tt.rel(tt.b, tt.a); tt.symmetric && got != tt.want {
				t.Errorf("(%q, %q) = %v; want %v (symmetry)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestBases(t *testing.T) {
	tests := []struct {
		w    string
		want []string
	}{
		{"studies", []string{"study"}},
		{"stopped", []string{"stop"}},
		{"largest", []string{"large"}},
		{"repair", []string{"repair"}},
		{"xyzzy", nil},
	}
	for _, tt := range tests {
		got := Bases(tt.w)
		found := len(tt.want) == 0 && len(got) == 0
		for _, g := range got {
			if len(tt.want) > 0 && g == tt.want[0] {
				found = true
			}
		}
		if !found {
			t.Errorf("Bases(%q) = %q; want it to hold %q", tt.w, got, tt.want)
		}
	}
}

// TestTable checks the embedded table: it decodes, every list is sorted
// (the look-ups search them) and every relation is listed both ways.
func TestTable(t *testing.T) {
	tab := table()
	if len(tab) < 40000 {
		t.Fatalf("%d words; want the whole table (about 47,000)", len(tab))
	}
	for w, e := range tab {
		for _, l := range [][]string{e.syn, e.ant, e.der} {
			for i := 1; i < len(l); i++ {
				if l[i-1] >= l[i] {
					t.Fatalf("%s: list %q is not sorted", w, l)
				}
			}
		}
		for _, s := range e.syn {
			if !Synonyms(s, w) {
				t.Errorf("%s lists synonym %s, not the other way round", w, s)
			}
		}
	}
}

func BenchmarkSynonyms(b *testing.B) {
	table()
	for b.Loop() {
		Synonyms("repaired", "mending")
	}
}
