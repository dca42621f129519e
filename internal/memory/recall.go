package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/cato-gateway/cato/internal/vectorindex"
)

// Recalled is what recall found for one prompt.
type Recalled struct {
	Facts    []Fact
	Episodes []EpisodeHit
	// Text is the note to add to the prompt (a system message), within
	// the token budget; "" when nothing is relevant.
	Text string
	// Tokens counts Text's tokens.
	Tokens int
}

// Relevance of a fact to a query: the cosine similarity of the query and
// the fact's statement, raised when the query is about the user and the
// fact is too (selfBoost), when the query names what the fact is about
// (cueBoost: "live" for residence, the subject of "X is Y"), and when it
// names the fact's object (objectBoost). A fact is recalled at
// factThreshold; an episode at episodeThreshold of similarity. Tuned on
// the dev scenarios (testdata/README.md); docs/memory.md gives the
// figures.
const (
	selfBoost        = 0.1
	cueBoost         = 0.35
	objectBoost      = 0.2
	factThreshold    = 0.5
	episodeThreshold = 0.6
	// episodeChars caps each side of an episode in the note.
	episodeChars = 240
)

// Headings of the note.
const (
	factsHeading    = "What you remember about this user from earlier conversations (long-term memory; newer statements replace older ones):"
	episodesHeading = "Earlier exchanges with this user that may be relevant:"
)

// cues are the words of a query that ask about a predicate; a word
// ending in "*" is a prefix.
var cues = map[string][]string{
	PredName:      {"name", "called", "call"},
	PredResidence: {"live", "living", "lives", "city", "town", "country", "home", "based", "moved", "address", "local", "nearby", "weather", "neighbourhood", "neighborhood"},
	PredEmployer:  {"work", "working", "job", "company", "employer", "office", "colleague*", "career", "boss"},
	PredAge:       {"old", "age", "born", "birthday"},
	PredAllergy:   {"allerg*", "eat", "food", "meal*", "breakfast", "lunch", "dinner", "recipe*", "cook*", "snack*", "diet", "restaurant*"},
}

// favouriteCues ask about favourites.
var favouriteCues = []string{"favourite", "favorite", "fave", "best", "prefer", "love"}

// Recall returns k's current facts and episodes relevant to query, and the
// note that says them within the token budget. Episodes of sessionID
// (the working memory's own) are left out, and so are episodes whose
// facts have all been superseded, which would bring back what was
// replaced. A user without memory costs one read of the store.
func (m *Memory) Recall(ctx context.Context, k Key, query, sessionID string) (r Recalled, err error) {
	start := time.Now()
	defer func() {
		outcome := "none"
		switch {
		case err != nil:
			outcome = "error"
		case r.Text != "":
			outcome = "added"
		}
		m.stats.recalls.add(outcome, 1)
		if m.opt.ObserveRecall != nil {
			m.opt.ObserveRecall(RecallEvent{Duration: time.Since(start), Outcome: outcome, Facts: len(r.Facts), Episodes: len(r.Episodes)})
		}
	}()
	if !m.On(k.Tenant) || strings.TrimSpace(query) == "" {
		return Recalled{}, nil
	}
	st, err := m.opt.Store.Load(ctx, k, CurrentFacts)
	if err != nil {
		return Recalled{}, fmt.Errorf("loading memory: %w", err)
	}
	if st.Version == 0 {
		return Recalled{}, nil // never remembered anything
	}
	vs, err := m.opt.Embedder.Embed(ctx, []string{query})
	if err != nil {
		return Recalled{}, fmt.Errorf("embedding the query: %w", err)
	}
	qv := vs[0]
	q := readQuery(query)

	type scored struct {
		f     *Fact
		score float32
	}
	var facts []scored
	current := make(map[string]bool, len(st.Facts))
	for i := range st.Facts {
		f := &st.Facts[i]
		current[f.ID] = true
		if sc := q.factScore(qv, f); sc >= factThreshold {
			facts = append(facts, scored{f, sc})
		}
	}
	slices.SortStableFunc(facts, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
	if len(facts) > m.opt.RecallK {
		facts = facts[:m.opt.RecallK]
	}

	hits, err := m.opt.Store.SearchEpisodes(ctx, k, qv, 3*m.opt.RecallK)
	if err != nil {
		return Recalled{}, err
	}
	var eps []EpisodeHit
	for _, h := range hits {
		if h.Score < episodeThreshold || (sessionID != "" && h.SessionID == sessionID) || superseded(h.FactIDs, current) {
			continue
		}
		eps = append(eps, h)
		if len(eps) == m.opt.RecallK {
			break
		}
	}

	// The note, within budget: facts first, best first, then episodes.
	budget := m.opt.ContextTokens
	var b strings.Builder
	used := 0
	addLine := func(heading, line string) bool {
		text := line + "\n"
		if b.Len() == 0 || !strings.Contains(b.String(), heading) {
			text = heading + "\n" + text
		}
		n := m.opt.Count(text)
		if used+n > budget {
			return false
		}
		b.WriteString(text)
		used += n
		return true
	}
	for _, s := range facts {
		if !addLine(factsHeading, "- "+s.f.Statement()) {
			break
		}
		r.Facts = append(r.Facts, *s.f)
	}
	for _, h := range eps {
		line := fmt.Sprintf("- [%s] User: %s", h.At.UTC().Format(time.DateOnly), clip(h.Query, episodeChars))
		if h.Response != "" {
			line += " | Assistant: " + clip(h.Response, episodeChars)
		}
		if !addLine(episodesHeading, line) {
			break
		}
		r.Episodes = append(r.Episodes, h)
	}
	r.Text = strings.TrimSuffix(b.String(), "\n")
	r.Tokens = used
	return r, nil
}

// clip shortens s to about n bytes, at a space, on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n], ' ')
	if cut < n/2 {
		cut = n
		for cut > 0 && s[cut]&0xc0 == 0x80 {
			cut--
		}
	}
	return s[:cut] + "…"
}

// queryInfo is what relevance needs of a query.
type queryInfo struct {
	text  string          // lower case, words separated by single spaces
	words map[string]bool // lower-case words
	self  bool            // it speaks of the user (I, me, my)
}

func readQuery(q string) queryInfo {
	low := strings.ToLower(q)
	ws := strings.FieldsFunc(low, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '-' })
	qi := queryInfo{text: " " + strings.Join(ws, " ") + " ", words: map[string]bool{}}
	for _, w := range ws {
		qi.words[w] = true
		switch w {
		case "i", "me", "my", "mine", "myself", "i'm", "i've", "i'd":
			qi.self = true
		}
	}
	return qi
}

// has reports whether the query holds cue: a word, a prefix ending in
// "*", or several words.
func (q queryInfo) has(cue string) bool {
	if p, ok := strings.CutSuffix(cue, "*"); ok {
		for w := range q.words {
			if strings.HasPrefix(w, p) {
				return true
			}
		}
		return false
	}
	if strings.Contains(cue, " ") {
		return strings.Contains(q.text, " "+cue+" ")
	}
	return q.words[cue]
}

// mentions reports whether the query holds phrase, a run of words.
func (q queryInfo) mentions(phrase string) bool {
	p := strings.Join(strings.Fields(strings.ToLower(phrase)), " ")
	return p != "" && strings.Contains(q.text, " "+p+" ")
}

func (q queryInfo) factScore(qv []float32, f *Fact) float32 {
	s := vectorindex.Cosine(qv, f.Vector)
	if f.Subject == UserSubject {
		if q.self {
			s += selfBoost
		}
		if q.asksAbout(f.Predicate) {
			s += cueBoost
		}
	} else if q.mentions(f.Subject) {
		s += cueBoost
	}
	if q.mentions(normalObject(f.Object)) {
		s += objectBoost
	}
	return s
}

// asksAbout reports whether the query asks about predicate.
func (q queryInfo) asksAbout(p string) bool {
	if cs, ok := cues[p]; ok {
		return slices.ContainsFunc(cs, q.has)
	}
	if noun, ok := strings.CutPrefix(p, favouritePrefix); ok {
		return q.mentions(predicateWords(noun)) || (slices.ContainsFunc(favouriteCues, q.has) && q.self)
	}
	return q.mentions(predicateWords(p))
}

// superseded reports whether an episode stated facts and none of them is
// current any more.
func superseded(factIDs []string, current map[string]bool) bool {
	for _, id := range factIDs {
		if current[id] {
			return false
		}
	}
	return len(factIDs) > 0
}
