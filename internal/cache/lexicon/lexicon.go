// Package lexicon answers whether two English words are synonyms,
// antonyms or derivations of one another, from a table drawn from WordNet
// 3.1 and built into the binary (README.md: provenance, licence, format,
// regeneration). The semantic cache's content gate uses it to let a
// paraphrase with other words through ("repair" for "fix") and to refuse
// an opposite ("raise" for "lower").
//
// The table holds the main senses of each word only: a synonym through a
// rare sense ("fix" as "a predicament", so "pickle") is not in it. The
// functions are safe for concurrent use; the table is decoded on first use
// (about 40 ms, 6 MB of heap).
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
	try := func(c string) {
		if _, ok := t[c]; ok && len(c) >= 2 && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	try(w)
	for _, r := range detach {
		if base, ok := strings.CutSuffix(w, r[0]); ok && base != "" {
			try(base + r[1])
			// a doubled final consonant: "stopped" → "stop", "biggest" → "big"
			if n := len(base); (r[0] == "ed" || r[0] == "ing" || r[0] == "er" || r[0] == "est") && n >= 2 && base[n-1] == base[n-2] {
				try(base[:n-1])
			}
		}
	}
	return out
}

// detach are WordNet's morphy rules (suffix, replacement) for nouns,
// verbs and adjectives, tried in turn.
var detach = [][2]string{
	{"s", ""}, {"ses", "s"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"},
	{"es", "e"}, {"es", ""}, {"ed", "e"}, {"ed", ""}, {"ing", "e"}, {"ing", ""},
	{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}, {"ier", "y"}, {"iest", "y"},
}
