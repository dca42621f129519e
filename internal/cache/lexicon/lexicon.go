// Package lexicon answers whether two English words are synonyms,
// antonyms or derivations of one another, from a table drawn from WordNet
// 3.1 and built into the binary (README.md: provenance, licence, format,
// regeneration). The semantic cache's content gate uses it to let a
// paraphrase with other words through ("repair" for "fix") and to refuse
// an opposite ("raise" for "lower").
//
// The table holds the main senses of each word only: a synonym through a
// rare sense ("fix" as "a predicament", so "pickle") is not in it. The
// functions are safe for concurrent use; the table is decoded by Load or
// on first use (about 70 ms on a loaded 2-core machine, 9 MB of heap).
package lexicon

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"slices"
	"strings"
	"sync"
)

//go:embed wordnet.tsv.gz
var wordnetGz []byte

// entry is one word's relations, each list sorted.
type entry struct {
	syn, ant, der []string
}

// heads holds the first words of the table's phrasal verbs.
var heads = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for w := range table() {
		if head, _, ok := strings.Cut(w, "_"); ok {
			m[head] = true
		}
	}
	return m
})

// MayHeadPhrase reports, cheaply and without allocating, whether w may
// begin a phrasal verb of the table: it is the first word of one, or
// that word with a regular ending ("sets", "setting", "stopped").
func MayHeadPhrase(w string) bool {
	h := heads()
	if h[w] {
		return true
	}
	for _, suf := range []string{"s", "es", "d", "ed", "ing"} {
		if base, ok := strings.CutSuffix(w, suf); ok && base != "" {
			if h[base] || (len(base) > 1 && base[len(base)-1] == base[len(base)-2] && h[base[:len(base)-1]]) {
				return true
			}
		}
	}
	return false
}

var table = sync.OnceValue(func() map[string]entry {
	zr, err := gzip.NewReader(bytes.NewReader(wordnetGz))
	if err != nil {
		panic("lexicon: " + err.Error()) // the embedded file is checked by the tests
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		panic("lexicon: " + err.Error())
	}
	m := make(map[string]entry, 46000)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			panic("lexicon: malformed line " + line)
		}
		m[f[0]] = entry{syn: strings.Fields(f[1]), ant: strings.Fields(f[2]), der: strings.Fields(f[3])}
	}
	return m
})

// Load decodes the table now rather than on first use, so that the
// first question does not wait for it. It is safe to call more than once.
func Load() { heads() }

// Known reports whether w (a lower-case base form) is in the table.
func Known(w string) bool {
	_, ok := table()[w]
	return ok
}

// Synonyms reports whether a and b share a main sense: some base form
// of one (see Bases) is listed with some base form of the other.
func Synonyms(a, b string) bool { return related(a, b, func(e entry) []string { return e.syn }) }

// Antonyms reports whether a main sense of a is the opposite of one of b
// ("raise" / "lower", "encrypt" / "decrypt").
func Antonyms(a, b string) bool { return related(a, b, func(e entry) []string { return e.ant }) }

// Derived reports whether a and b are forms of one another across parts
// of speech ("invent" / "invention", "attach" / "attachment").
func Derived(a, b string) bool { return related(a, b, func(e entry) []string { return e.der }) }

func related(a, b string, list func(entry) []string) bool {
	t := table()
	bs := Bases(b)
	for _, x := range Bases(a) {
		l := list(t[x])
		for _, y := range bs {
			if _, ok := slices.BinarySearch(l, y); ok {
				return true
			}
		}
	}
	return false
}

// Bases returns the forms of the lower-case word w that are in the
// table: w itself and what WordNet's detachment rules make of an
// inflected form ("studies" → "study", "largest" → "large", "ran" is not
// undone: irregular forms are the caller's). Nil when none is known.
func Bases(w string) []string {
	t := table()
	var out []string
	var buf [64]byte
	try := func(base, suffix string) {
		k := append(append(buf[:0], base...), suffix...)
		if _, ok := t[string(k)]; ok && len(k) >= 2 && !slices.Contains(out, string(k)) { // no allocation unless found
			out = append(out, string(k))
		}
	}
	try(w, "")
	for _, r := range detach {
		if base, ok := strings.CutSuffix(w, r[0]); ok && base != "" {
			try(base, r[1])
			// a doubled final consonant: "stopped" → "stop", "biggest" → "big"
			if n := len(base); (r[0] == "ed" || r[0] == "ing" || r[0] == "er" || r[0] == "est") && n >= 2 && base[n-1] == base[n-2] {
				try(base[:n-1], "")
			}
		}
	}
	return out
}

// Phrase returns the phrasal verb that words spell ("get rid of" →
// "get_rid_of"), the first word possibly inflected ("came down" →
// "come_down" needs the caller's irregular form), and whether the table
// knows it.
func Phrase(words ...string) (string, bool) {
	if len(words) < 2 {
		return "", false
	}
	t := table()
	var buf [64]byte
	k := buf[:0]
	for _, w := range words[1:] {
		k = append(append(k, '_'), w...)
	}
	rest := string(k) // the particle part: short, and only built once
	if _, ok := t[words[0]+rest]; ok {
		return words[0] + rest, true
	}
	for _, b := range Bases(words[0]) {
		if _, ok := t[b+rest]; ok {
			return b + rest, true
		}
	}
	return "", false
}

// detach are WordNet's morphy rules (suffix, replacement) for nouns,
// verbs and adjectives, tried in turn.
var detach = [][2]string{
	{"s", ""}, {"ses", "s"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"},
	{"es", "e"}, {"es", ""}, {"ed", "e"}, {"ed", ""}, {"ing", "e"}, {"ing", ""},
	{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}, {"ier", "y"}, {"iest", "y"},
}
