package cache

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cato-gateway/cato/internal/cache/lexicon"
	"github.com/cato-gateway/cato/internal/embed"
)

// The content agreement gate runs after the vector search, on a candidate
// whose similarity passed the threshold: cosine similarity alone scores a
// question and its negation, or the same question about another entity,
// above 0.8. Two questions agree when, after reading their frames,
// abbreviations and multi-word synonyms (frames.go: "quick question:",
// "is there a way to", "AWS", "shed pounds") and dropping function words
// and words that do not change what is asked ("explain", "programming"):
//
//   - they have the same numbers and symbols (2+2 is not 2+3, C++ is not C#),
//   - the same count of negations (not, never, without, n't…),
//   - the same who/when/where/why and how-many/how-much/how-long asks
//     ("in what year" asks when), a how-quantity ask possibly stated as
//     its noun in the other ("how deep" / "the depth of": dimensionAsks),
//   - every remaining content word of one is in the other, up to plural,
//     tense, British spelling, a small synonym lexicon (buy/purchase) and
//     WordNet's synonyms and derived forms between main senses, never its
//     antonyms (package lexicon; phrasal verbs such as "get rid of" are
//     read as one word: phrasal), one word for one, but never the agent
//     and patient nouns of one verb ("employer" / "employee"),
//   - a word that follows "to", "from", "into", "than", "vs" or "against"
//     in one does so in the other (Celsius to Fahrenheit is not Fahrenheit
//     to Celsius), and
//   - no two shared words swap sides of a third ("does Microsoft own
//     GitHub" is not "does GitHub own Microsoft": pivotSwap) nor, in two
//     active clauses, change order ("are all squares rhombuses":
//     orderSwap); a passive with its agent against an active clause
//     reverses the order ("was Caesar betrayed by Brutus" is "did Brutus
//     betray Caesar": voiceSwap),
//   - numbers come in the same order (20 divided by 4 is not 4 divided by
//     20),
//   - the wh-word has the same role: the object with do-support ("who did
//     Caesar betray", "what does a snake eat") or in a passive ("who was
//     betrayed by Caesar") is not the subject ("who betrayed Caesar",
//     "what eats a snake"), and
//   - a shared word keeps its article and case where they change what it
//     names: "a kernel" is not "the kernel"; a capitalised name is not a
//     common noun with an article ("What is Ruby?" / "What is a ruby?",
//     "What is a Ruby?", "the Enlightenment" / "enlightenment"), "the"
//     before a capitalised word (not an acronym) makes another name ("the
//     Sun" / "Sun"), and a bare
//     plural after a singular "is" is a name ("what is pandas"). A text
//     without any capital letter says nothing about case.
//
// So "What is Python?" agrees with "What is Python programming?" and not
// with "What is Java?". The gate favours precision: a paraphrase with other
// content words misses.

// gist is what the gate compares of one question.
type gist struct {
	content []string          // canonical content words, in order
	framing []string          // canonical generic words, sorted
	numbers []string          // numbers and symbols, sorted
	asks    []string          // wh- and how-quantity asks, sorted
	form    []uint8           // per content word: formA, formThe, formCapital
	neg     int               // negations
	whRole  uint8             // whSubject, whObject or 0 (unknown)
	cased   bool              // the text has a capital letter
	role    map[string]string // content word → the relation marker before it
	surface []string          // per content word: as written (lower case, spelling variants mapped)
	movable []bool            // per content word: its place says nothing of its role (see orderSwap)
	counted string            // the content word a how-many or how-much ask counts ("legs" of "how many legs")
	clause  bool              // opens with a question word or an auxiliary: "who…", "does…"
	passive bool              // a passive voice: "was written", "by whom"
	polar   bool              // a yes-no question: "can I freeze rice?", not "can you explain X?"
	get     bool              // "get" was dropped as a frame word ("how do I get a visa")
	how     bool              // asks how (the manner, not a quantity): "how do I freeze rice?"
}

// Flags of gist.form.
const (
	formA          = 1 << iota // "a" or "an" right before the word
	formThe                    // "the" right before the word
	formCapital                // capitalised, not as a sentence's first word
	formAcronym                // in capitals throughout
	formPluralName             // a bare plural after a singular "is": a name ("what is pandas")
	formDefined                // the whole of a "what is X?" question, singular
)

// definitional reports whether toks[i] is the whole subject of a
// "what is X?" or "what is a X?" question, in the singular.
func definitional(toks []string, i int) bool {
	n := len(toks)
	if i != n-1 || n < 3 || n > 4 || toks[0] != "what" || (toks[1] != "is" && toks[1] != "'s") {
		return false
	}
	if n == 4 && toks[2] != "a" && toks[2] != "an" {
		return false
	}
	t := toks[i]
	return !strings.HasSuffix(t, "s") || strings.HasSuffix(t, "ss")
}

// Values of gist.whRole.
const (
	whSubject = 1 + iota
	whObject
)

// agree reports whether questions a and b ask the same thing (see above).
func agree(a, b string) bool { return agreeGists(gistOf(a), gistOf(b)) }

func gistOf(text string) gist {
	text = foldAccents(text)
	toks := embed.Tokens(text)
	for i, t := range toks {
		if v, ok := shorthand[t]; ok {
			toks[i] = v
		}
	}
	toks = plainQuestion(reframe(toks))
	toks, caps := abbreviate(toks, capitalised(text))
	toks = phrasal(handPhrases(toks))
	g := gist{role: map[string]string{}, cased: strings.IndexFunc(text, unicode.IsUpper) >= 0, whRole: whRoleOf(toks)}
	g.clause = len(toks) > 0 && (whWord[toks[0]] || auxiliary[toks[0]])
	g.polar, g.how = polarOrHow(toks)
	for i, t := range toks {
		g.passive = g.passive || t == "by" || (beForm[t] && i+1 < len(toks) && participle(toks[i+1]))
	}
	marker := ""
	behind := false // the word goes on a name behind a marker
	skip := -1
	for i, t := range toks {
		if i <= skip {
			continue // the rest of an ask read with its first word
		}
		switch {
		case negation[t]:
			g.neg++
			continue
		case isNumber(t) || symbol[t] || numberWord[t]:
			g.numbers = append(g.numbers, t)
			continue
		case (t == "what" || t == "which") && i+1 < len(toks) && toks[i+1] == "year":
			// "in what year" asks when.
			g.asks = append(g.asks, "when")
			skip, marker = i+1, ""
			continue
		case t == "what" && causeAsk(toks, i) > 0:
			// "what causes X", "what is the reason for X" ask why.
			g.asks = append(g.asks, "why")
			skip, marker = i+causeAsk(toks, i), ""
			continue
		case t == "one" && i > 0 && (toks[i-1] == "which" || toks[i-1] == "what" || auxiliary[toks[i-1]]):
			continue // "which one", "should one": not a number
		case t == "how" && i+1 < len(toks) && howQuantity[toks[i+1]]:
			g.asks = append(g.asks, "how "+cmp.Or(howSame[toks[i+1]], toks[i+1]))
			continue
		case whAsk[t] != "":
			g.asks = append(g.asks, whAsk[t])
			continue
		case arith[t] != "" && operand(toks, i):
			g.numbers = append(g.numbers, arith[t])
			continue
		case relation[t]:
			// An infinitive "to" ("how to sort", "the way to cook") marks
			// no relation.
			if t == "to" && i > 0 && (infinitiveBefore[toks[i-1]] || whWord[toks[i-1]]) {
				marker = ""
			} else {
				marker = t
			}
			continue
		case (functionWord[t] && !mainVerbDo(toks, i)) || whWord[t] || t == "'s":
			continue
		}
		next := ""
		if i+1 < len(toks) {
			next = toks[i+1]
		}
		if (t == "good" && greeting[next]) || ((t == "full" || t == "long") && (next == "form" || next == "name")) ||
			(t == "walk" && (next == "me" || next == "through")) {
			skip = i + 1 // "good morning": a greeting; "the full form of", "walk me through": a frame
			continue
		}
		c := canonical(t)
		if caps[t]&acronym != 0 {
			c = t // HTTPS is not a plural of HTTP
		}
		if frameStem[c] || (rating[c] && (next == "to" || genericStem[canonical(next)])) {
			// "the best way to", "a good method": a how-to frame; "the
			// best laptop" is another question than "a laptop".
			g.get = g.get || c == getStem
			continue
		}
		if genericStem[c] {
			g.framing = append(g.framing, c)
			continue
		}
		if _, seen := g.role[c]; !seen {
			g.content = append(g.content, c)
			g.role[c] = marker
			g.surface = append(g.surface, cmp.Or(variant[t], t))
			// Coordinated words ("X and Y", "X vs Y") and the noun of a
			// question phrase ("which country", "how many legs") move freely.
			counted := i > 1 && toks[i-2] == "how" && (toks[i-1] == "many" || toks[i-1] == "much")
			if counted && g.counted == "" {
				g.counted = c
			}
			g.movable = append(g.movable, behind || coordinator[next] || (i > 0 && (coordinator[toks[i-1]] || toks[i-1] == "which" || toks[i-1] == "what")) ||
				(i > 1 && toks[i-2] == "how" && howQuantity[toks[i-1]]))
			var f uint8
			// An article counts for the head of its phrase: "a git
			// branch" puts none on "git".
			if i > 0 && (next == "" || functionWord[next] || whWord[next] || relation[next]) {
				switch toks[i-1] {
				case "a", "an":
					f |= formA
				case "the":
					f |= formThe
				}
			}
			if caps[t]&acronym != 0 {
				f |= formAcronym
			}
			if i > 0 && (toks[i-1] == "is" || toks[i-1] == "was") && c != t && strings.HasSuffix(t, "s") && !strings.HasSuffix(t, "ss") {
				f |= formPluralName
			}
			if caps[t]&capital != 0 {
				f |= formCapital
			}
			if definitional(toks, i) {
				f |= formDefined
			}
			g.form = append(g.form, f)
		}
		// A name of several words is behind its marker whole: in "the
		// fall of the Western Roman Empire" "Roman" and "Empire" may move
		// as "Western" may (in a text without capitals, any run of
		// content words is taken for a name).
		nameGoesOn := caps[t]&capital != 0 && caps[next]&capital != 0
		if !g.cased {
			nameGoesOn = next != "" && !functionWord[next] && !relation[next] && !whWord[next] && !negation[next] && !isNumber(next)
		}
		behind = (behind || marker != "") && nameGoesOn
		marker = ""
	}
	slices.Sort(g.framing)
	g.framing = slices.Compact(g.framing)
	slices.Sort(g.asks)
	g.asks = slices.Compact(g.asks)
	return g
}

func agreeGists(a, b gist) bool {
	a, b = dimensionAsks(a, b)
	a, b = keywordCounts(a, b)
	if a.neg != b.neg || !slices.Equal(a.numbers, b.numbers) || !slices.Equal(a.asks, b.asks) {
		return false
	}
	if a.whRole != 0 && b.whRole != 0 && a.whRole != b.whRole {
		return false
	}
	if (a.polar && b.how) || (b.polar && a.how) {
		return false // "can I freeze rice?" is not "how can I freeze rice?"
	}
	if a.counted != "" && b.counted != "" && a.counted != b.counted && !a.equivalent(a.counted, b, b.counted) {
		return false // "how many euros is 100 dollars" counts euros
	}
	if len(a.content) == 0 || len(b.content) == 0 {
		// Nothing but generic words ("what is programming?"): those words
		// are then the content.
		return len(a.content) == 0 && len(b.content) == 0 && slices.Equal(a.framing, b.framing)
	}
	// Words of one missing from the other must pair up as synonyms. More
	// than maxUnpaired of them is another question (and, with the
	// lexicon's look-ups, a cost that grows with their square).
	onlyA := missing(a.content, b.role)
	onlyB := missing(b.content, a.role)
	onlyA, onlyB = gotFor(onlyA, b, onlyB), gotFor(onlyB, a, onlyA)
	if len(onlyA) > 2*maxUnpaired || len(onlyB) > 2*maxUnpaired {
		return false // too many to pair, even two for one
	}
	var joined map[string]string // a compound of one → the first of its two words in the other
	onlyA, onlyB, joined = compounds(a, b, onlyA, onlyB, joined)
	onlyB, onlyA, joined = compounds(b, a, onlyB, onlyA, joined)
	if len(onlyA) != len(onlyB) || len(onlyA) > maxUnpaired || !sameForms(a, b) {
		return false
	}
	if len(onlyA) > 0 || len(joined) > 0 {
		b.role = maps.Clone(b.role) // gists may be shared: never write to them
	}
	aOwned := false
	for x, y := range joined {
		// Compare the roles of a compound and its first word below.
		if r, ok := b.role[y]; ok {
			b.role[x] = r
			continue
		}
		if !aOwned {
			a.role, aOwned = maps.Clone(a.role), true
		}
		a.role[x] = a.role[y]
	}
	for _, x := range onlyA {
		j := slices.IndexFunc(onlyB, func(y string) bool { return a.equivalent(x, b, y) })
		if j < 0 {
			return false
		}
		b.role[x] = b.role[onlyB[j]] // compare roles of the pair below
		onlyB = slices.Delete(onlyB, j, j+1)
	}
	if !sameRoles(a, b) {
		return false
	}
	// A passive against an active turns the order round: voiceSwap, not
	// pivotSwap or orderSwap, compares them.
	if a.passive == b.passive && pivotSwap(a.content, b.content, append(slices.Clone(onlyA), placeFree(a, b)...)) {
		return false
	}
	return !orderSwap(a, b) && !voiceSwap(a, b)
}

// compounds pairs a word of a missing from b with two words of b,
// next to each other and missing from a, that it joins: "timezone" /
// "time zone", "website" / "web site", "healthcare" / "health care". It
// returns what is left of onlyA and onlyB, and records each pair in
// joined (the compound's form → the first word's).
func compounds(a, b gist, onlyA, onlyB []string, joined map[string]string) ([]string, []string, map[string]string) {
	if len(onlyA) == 0 || len(onlyB) < 2 {
		return onlyA, onlyB, joined
	}
	for i := 0; i < len(onlyA); i++ {
		whole := a.word(onlyA[i])
		if len(whole) < 6 {
			continue
		}
		for k := 0; k+1 < len(b.content) && k+1 < len(b.surface); k++ {
			first, second := b.content[k], b.content[k+1]
			if !slices.Contains(onlyB, first) || !slices.Contains(onlyB, second) {
				continue
			}
			// Next to each other as written, not as content words: not
			// "a fire in a wall", "the foot of a ball".
			if b.role[first] != b.role[second] || k+1 < len(b.form) && b.form[k+1]&(formA|formThe) != 0 {
				continue
			}
			join := b.surface[k] + b.surface[k+1]
			if join != whole && join+"s" != whole && join != whole+"s" {
				continue
			}
			if joined == nil {
				joined = map[string]string{}
			}
			joined[onlyA[i]] = first
			onlyB = slices.DeleteFunc(slices.Clone(onlyB), func(w string) bool { return w == first || w == second })
			onlyA = slices.Delete(slices.Clone(onlyA), i, i+1)
			i--
			break
		}
	}
	return onlyA, onlyB, joined
}

// maxUnpaired is the most content words of a question that may be
// missing from the other and pair up as synonyms.
const maxUnpaired = 6

var (
	coordinator = set("and", "or", "vs", "versus", "&")
	auxiliary   = set("do", "does", "did", "is", "are", "was", "were", "can", "could", "should", "would", "will", "has", "have", "had")
	beForm      = set("is", "are", "was", "were", "be", "been", "being", "get", "gets", "got")
)

// participle reports whether t reads as a past participle: "invented",
// "written", or an irregular form the spelling table knows ("built").
func participle(t string) bool {
	if len(t) > 4 && (strings.HasSuffix(t, "ed") || strings.HasSuffix(t, "en") || strings.HasSuffix(t, "wn")) {
		return true
	}
	_, irregular := variant[t]
	return irregular && !strings.HasSuffix(t, "s")
}

// orderSwap reports whether two words both questions share, neither
// governed by a relation marker nor movable, come in the opposite order
// while both questions are active-voice clauses: "are all squares
// rhombuses" is not "are all rhombuses squares", "why do dogs chase cats"
// is not "why do cats chase dogs". A word behind a marker may move ("in
// Python, how do I sort a list"), and so may the parts of "X and Y" and the
// noun of a question phrase ("how many legs does a spider have" / "a
// spider has how many legs"). A passive ("was written by whom") or a
// keyword query ("npm clear cache") orders its words otherwise, so the rule
// does not apply to them.
func orderSwap(a, b gist) bool {
	if !a.clause || !b.clause || a.passive || b.passive {
		return false
	}
	free := func(g gist, i int) bool { return g.role[g.content[i]] == "" && !g.movable[i] }
	var order []int // positions in b of a's free shared words, in a's order
	for i, x := range a.content {
		j := slices.Index(b.content, x)
		if j >= 0 && free(a, i) && free(b, j) {
			order = append(order, j)
		}
	}
	return !slices.IsSorted(order)
}

// voiceSwap reports whether one question is a passive with its agent
// ("was Caesar betrayed by Brutus") and the other an active clause with
// the shared words in the same order ("did Caesar betray Brutus"): the
// passive turns the roles round, so the same order means swapped roles.
// "Who wrote the Odyssey" / "the Odyssey was written by whom" reverse the
// order and agree.
func voiceSwap(a, b gist) bool {
	if a.passive == b.passive {
		return false
	}
	if b.passive {
		a, b = b, a
	}
	if !b.clause || !slices.ContainsFunc(a.content, func(c string) bool { return a.role[c] == "by" }) {
		return false
	}
	var order []int
	for i, x := range a.content {
		if j := slices.Index(b.content, x); j >= 0 && !a.movable[i] && !b.movable[j] {
			order = append(order, j)
		}
	}
	return len(order) >= 2 && slices.IsSorted(order)
}

// dimensions maps a how-quantity ask to the nouns that ask for the same
// measure: "how deep is X" asks "what is the depth of X".
var dimensions = map[string][]string{
	"how long": {"length", "duration", "lifespan"}, "how old": {"age"}, "how far": {"distance"}, "how deep": {"depth"},
	"how tall": {"height"}, "how high": {"height", "altitude"}, "how heavy": {"weight", "mass"},
	"how big": {"size"}, "how large": {"size"}, "how fast": {"speed", "velocity"}, "how often": {"frequency"},
	"how hot": {"temperature"}, "how cold": {"temperature"}, "how many": {"number", "population"},
	"how much": {"price", "cost"},
}

// dimensionVerbs are the verbs a how-quantity question asks its noun's
// measure with: "how much does X cost" is "the price of X", "how many
// people live in X" "the population of X", "how long do cats live" "the
// lifespan of a cat". The verb is dropped with the ask; a required one
// must be there ("how long is a cat" asks its length, not its lifespan;
// "how many cities are in X" is not its population).
var dimensionVerbs = map[string]struct {
	verb     string
	required bool
}{
	"how much price": {"cost", false}, "how much cost": {"cost", false},
	"how many population": {"live", true}, "how long lifespan": {"live", true},
}

// dimensionAsks rewrites a how-quantity ask of one gist that the other
// states as a noun ("how deep" / "the depth of"): the ask is dropped from
// the one and the noun from the other, so that the rest compares as
// usual. It returns a and b unchanged otherwise; it never writes to them.
func dimensionAsks(a, b gist) (gist, gist) {
	for _, swap := range []bool{false, true} {
		if swap {
			a, b = b, a
		}
		for i, ask := range a.asks {
			if slices.Contains(b.asks, ask) {
				continue
			}
			for _, noun := range dimensions[ask] {
				c := canonical(noun)
				j := slices.Index(b.content, c)
				if j < 0 || !slices.Contains(b.surface, noun) {
					continue
				}
				dv, withVerb := dimensionVerbs[ask+" "+noun]
				if withVerb && dv.required && !slices.Contains(a.content, canonical(dv.verb)) {
					continue
				}
				a.asks = slices.Delete(slices.Clone(a.asks), i, i+1)
				a = dropContent(a, canonical(strings.TrimPrefix(ask, "how ")))
				if withVerb {
					a = dropContent(a, canonical(dv.verb))
				}
				b = dropContent(b, c, "of")
				break
			}
			if len(a.asks) < i+1 || a.asks[i] != ask {
				break // one rewrite per side
			}
		}
		if swap {
			a, b = b, a
		}
	}
	return a, b
}

// dropContent returns g without content word c, sharing nothing it
// changes with g. With a marker, the words right after c that it governs
// lose it: "the depth of Lake Baikal" without "depth" is "Lake Baikal".
func dropContent(g gist, c string, marker ...string) gist {
	j := slices.Index(g.content, c)
	if j < 0 {
		return g
	}
	role := maps.Clone(g.role)
	for k := j + 1; k < len(g.content) && len(marker) > 0 && role[g.content[k]] == marker[0]; k++ {
		role[g.content[k]] = ""
	}
	g.content = slices.Delete(slices.Clone(g.content), j, j+1)
	g.surface = slices.Delete(slices.Clone(g.surface), j, j+1)
	g.form = slices.Delete(slices.Clone(g.form), j, j+1)
	g.movable = slices.Delete(slices.Clone(g.movable), j, j+1)
	delete(role, c)
	g.role = role
	return g
}

// phrasal joins the words of a phrasal verb that WordNet knows into one
// token, "get_rid_of", "set_up", so that it can pair with a one-word
// synonym ("eliminate", "assemble"). It may reuse toks.
func phrasal(toks []string) []string {
	out := toks[:0]
	for i := 0; i < len(toks); i++ {
		joined := false
		head := cmp.Or(variant[toks[i]], toks[i])
		// "have", "be" and "do" head phrasal verbs only in rare senses
		// ("have on" for wear): "does a team have on the field" has none.
		for n := 3; n >= 2 && !joined && !haveBeDo[head]; n-- {
			if i+n > len(toks) || !particles[toks[i+n-1]] || !lexicon.MayHeadPhrase(head) {
				continue
			}
			if i+n < len(toks) && whWord[toks[i+n]] {
				continue // "held in what year": a preposition before its object
			}
			words := append([]string{head}, toks[i+1:i+n]...)
			if p, ok := lexicon.Phrase(words...); ok {
				out = append(out, p)
				i += n - 1
				joined = true
			}
		}
		if !joined {
			out = append(out, toks[i])
		}
	}
	return out
}

var haveBeDo = set("have", "has", "had", "having", "be", "is", "are", "was", "were", "been", "being", "do", "does", "did", "doing")

// particles end the phrasal verbs phrasal joins.
var particles = set("up", "down", "off", "out", "on", "in", "over", "away", "back", "together", "through", "around", "of")

// word returns the written form of content word c.
func (g gist) word(c string) string {
	if i := slices.Index(g.content, c); i >= 0 && i < len(g.surface) {
		return g.surface[i]
	}
	return c
}

// equivalent reports whether content word x of g and y of h say the
// same: synonyms of the hand lexicon, WordNet synonyms or derived forms
// of one another ("scored" / "scoring", "invent" / "invention"), or a
// typo.
func (g gist) equivalent(x string, h gist, y string) bool {
	if agentPatient(g.word(x), h.word(y)) {
		return false // "employer" / "employee": the two sides of one relation
	}
	if synonyms(x, y) || typo(x, y) {
		return true
	}
	wx, wy := g.word(x), h.word(y)
	if typo(wx, wy) {
		return true // "wrte" / "write": a slip the stems hide
	}
	if strings.ReplaceAll(wx, "_", "") == strings.ReplaceAll(wy, "_", "") {
		return true // "set up" / "setup"
	}
	if keyTypo(wx, wy) {
		return true
	}
	if lexicon.Antonyms(wx, wy) {
		return false // one sense alike, a main sense opposite
	}
	return lexicon.Synonyms(wx, wy) || lexicon.Derived(wx, wy)
}

// agentPatient reports whether written words a and b are the agent and
// the patient noun of one verb: "employer" / "employee", "trainer" /
// "trainee", "lessor" / "lessee". They are one letter apart and WordNet
// derives both from the verb, yet they name the two sides of a relation.
func agentPatient(a, b string) bool {
	a, b = strings.TrimSuffix(a, "s"), strings.TrimSuffix(b, "s")
	if strings.HasSuffix(a, "ee") {
		a, b = b, a
	}
	stem, ok := strings.CutSuffix(b, "ee")
	if !ok || len(stem) < 3 {
		return false
	}
	return a == stem+"er" || a == stem+"or"
}

// sameForms reports whether the words both questions share keep their
// article and case where these change what the word names (see above).
func sameForms(a, b gist) bool {
	find := func(x string) int { return slices.Index(b.content, x) }
	if len(a.content)*len(b.content) > 1024 {
		// Long questions: an index, not a scan per word.
		pos := make(map[string]int, len(b.content))
		for j, y := range b.content {
			pos[y] = j
		}
		find = func(x string) int {
			if j, ok := pos[x]; ok {
				return j
			}
			return -1
		}
	}
	for i, x := range a.content {
		j := find(x)
		if j < 0 {
			continue
		}
		fa, fb := a.form[i], b.form[j]
		if (fa&formA != 0 && fb&formThe != 0) || (fa&formThe != 0 && fb&formA != 0) {
			return false
		}
		// "a panda" against "is pandas" (the library): the singular verb
		// makes the bare plural one thing, a name.
		if (fa&formA != 0 && fb&formPluralName != 0) || (fb&formA != 0 && fa&formPluralName != 0) {
			return false
		}
		if !a.cased || !b.cased {
			continue
		}
		// "What is a polo?" (a shirt) against "What is polo?" (the
		// sport), in two carefully written questions: a count noun
		// against a mass noun ("a glass" / "glass", "a paper" / "paper").
		if fa&fb&formDefined != 0 && (fa|fb)&(formThe|formAcronym|formCapital) == 0 && fa&formA != fb&formA {
			return false
		}
		// "a Ruby" (a gem) against "Ruby" (a name, bare): an acronym
		// is written in capitals whatever it names.
		if (fa&formA != 0 && fb&(formA|formThe|formAcronym) == 0 && fb&formCapital != 0) ||
			(fb&formA != 0 && fa&(formA|formThe|formAcronym) == 0 && fa&formCapital != 0) {
			return false
		}
		// "the Sun" (the star) against "Sun" (a company), bare: "the"
		// before a capitalised word makes it another name; not so for an
		// acronym ("the WTO" / "WTO").
		if fa&fb&formCapital != 0 && (fa|fb)&formAcronym == 0 &&
			((fa&formThe != 0 && fb&(formA|formThe) == 0) || (fb&formThe != 0 && fa&(formA|formThe) == 0)) {
			return false
		}
		if (fa^fb)&formCapital == 0 {
			continue
		}
		capForm, lowForm := fa, fb
		if fb&formCapital != 0 {
			capForm, lowForm = fb, fa
		}
		if lowForm&(formA|formThe) != 0 || capForm&formThe != 0 {
			return false
		}
	}
	return true
}

// Flags of capitalised.
const (
	capital = 1 << iota // a capital first letter, not a sentence's first word
	acronym             // two letters or more, all capitals
)

// capitalised returns the lower-case forms of the words of text written
// with a capital first letter (other than a sentence's first word) or in
// capitals throughout.
func capitalised(text string) map[string]uint8 {
	var m map[string]uint8
	start := true // at a sentence's start
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			if r == '.' || r == '!' || r == '?' || r == ':' || r == '"' || r == '“' {
				start = true
			}
			i += size
			continue
		}
		j, upper, letters := i, 0, 0
		for j < len(text) {
			r2, s2 := utf8.DecodeRuneInString(text[j:])
			if !unicode.IsLetter(r2) && !unicode.IsDigit(r2) {
				break
			}
			if unicode.IsLetter(r2) {
				letters++
				if unicode.IsUpper(r2) {
					upper++
				}
			}
			j += s2
		}
		var f uint8
		if !start && unicode.IsUpper(r) {
			f |= capital
		}
		if letters >= 2 && upper == letters {
			f |= acronym
		}
		if f != 0 {
			if m == nil {
				m = map[string]uint8{}
			}
			w := strings.ToLower(text[i:j])
			m[w] |= f
		}
		start = false
		i = j
	}
	return m
}

// whRoleOf tells whether a question's wh-word (who, whom, what, which,
// possibly with one noun: "what languages") is the object of its verb,
// with do-support ("who did Caesar betray"), or its subject, followed at
// once by a verb ("who betrayed Caesar"); 0 when neither shows.
func whRoleOf(toks []string) uint8 {
	for i, t := range toks {
		if t != "who" && t != "whom" && t != "what" && t != "which" {
			continue
		}
		j := i + 1
		if j >= len(toks) {
			return 0
		}
		if (t == "what" || t == "which") && j+1 < len(toks) && !functionWord[toks[j]] && !whWord[toks[j]] && doAux[toks[j+1]] {
			j++ // "what languages does Google use"
		}
		switch next := toks[j]; {
		case t == "who" && beForm[next] && agentNoun(toks[j+1:]):
			// "who was the teacher of Plato", "who was Beethoven's
			// teacher" ask who taught him (before the participle test:
			// "Beethoven" ends like "written").
			return whSubject
		case doAux[next]:
			return whObject
		case beForm[next] && j+1 < len(toks) && participle(toks[j+1]):
			return whObject // "who was betrayed (by Caesar)"
		case beForm[next] && toks[len(toks)-1] == "by":
			return whSubject // "who was Caesar betrayed by"
		case !functionWord[next] && !whWord[next] && !negation[next] && !relation[next] && !isNumber(next) && t != "whom":
			if t == "what" || t == "which" {
				// "what eats", not "what time", "which country": a noun
				// after the wh-word names what is asked about.
				if !strings.HasSuffix(next, "s") && !strings.HasSuffix(next, "ed") {
					return 0
				}
			}
			return whSubject
		}
		return 0
	}
	return 0
}

var doAux = set("do", "does", "did")

// rating words frame a how-to question before "way", "method" or "to"
// and narrow the question before any other noun.
var rating = stems("best", "good", "better", "right", "ideal", "recommended")

var greeting = set("morning", "afternoon", "evening", "day")

// sameRoles reports whether, for each relation marker both questions use,
// the shared words it governs are the same: "convert C to F" and "convert
// from C to F" agree (only one uses "from"), "C to F" and "F to C" do not.
func sameRoles(a, b gist) bool {
	governed := func(g, other gist) map[string][]string {
		m := map[string][]string{}
		for _, x := range g.content {
			if _, shared := other.role[x]; shared && g.role[x] != "" {
				m[g.role[x]] = append(m[g.role[x]], x)
			}
		}
		return m
	}
	ga, gb := governed(a, b), governed(b, a)
	for m, xs := range ga {
		ys, ok := gb[m]
		if !ok {
			continue
		}
		slices.Sort(xs)
		slices.Sort(ys)
		if !slices.Equal(xs, ys) {
			return false
		}
	}
	return true
}

// missing returns the words of content not in other.
func missing(content []string, other map[string]string) []string {
	var out []string
	for _, c := range content {
		if _, ok := other[c]; !ok {
			out = append(out, c)
		}
	}
	return out
}

// placeFree returns the content words of a whose place says nothing of
// their role in a or in b: behind a relation marker ("in Fahrenheit")
// or movable (see gist.movable).
func placeFree(a, b gist) []string {
	var out []string
	for i, x := range a.content {
		j := slices.Index(b.content, x)
		if a.role[x] != "" || a.movable[i] || (j >= 0 && (b.role[x] != "" || b.movable[j])) {
			out = append(out, x)
		}
	}
	return out
}

// pivotSwap reports whether two words shared by a and b change order
// around a third shared word that stays between them: the shape of
// "X verb Y" against "Y verb X".
func pivotSwap(a, b, skip []string) bool {
	pos := make(map[string]int, len(b))
	for i, w := range b {
		pos[w] = i
	}
	var shared []string
	for _, w := range a {
		if _, ok := pos[w]; ok && !slices.Contains(skip, w) {
			shared = append(shared, w)
		}
	}
	for i := range shared {
		for k := i + 2; k < len(shared); k++ {
			x, y := shared[i], shared[k]
			if pos[x] < pos[y] {
				continue // same order
			}
			for j := i + 1; j < k; j++ {
				if z := pos[shared[j]]; z < pos[x] && z > pos[y] {
					return true
				}
			}
		}
	}
	return false
}

// canonical reduces a word to a crude stem, so that plural, tense and a
// final e do not matter (sorted → sort, lives → liv, classes → class), after
// mapping British spellings and irregular forms.
func canonical(w string) string {
	if v, ok := variant[w]; ok {
		w = v
	}
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") &&
		!(len(w) > 4 && strings.HasSuffix(w, "is")):
		w = w[:len(w)-1]
	}
	for _, suf := range []string{"ing", "ed"} {
		if base, ok := strings.CutSuffix(w, suf); ok && len(base) >= 3 {
			w = base
			if n := len(w); n >= 2 && w[n-1] == w[n-2] && !strings.ContainsRune("aeiouls", rune(w[n-1])) {
				w = w[:n-1] // running → run, but not fall → fal
			}
			break
		}
	}
	if len(w) > 3 {
		w = strings.TrimSuffix(w, "e")
	}
	if len(w) > 3 && strings.HasSuffix(w, "y") {
		w = w[:len(w)-1] + "i" // calory/calorie, study/studies/studied
	}
	return w
}

// typo reports whether canonical words a and b are one misspelling of the
// other: the same first letter, at least four letters, and one slip apart:
// a letter added or dropped, two neighbours swapped, or a vowel written for
// another. The first letter and the vowel rule keep apart real words such
// as affect/effect, sprain/strain; numbers never get here.
func typo(a, b string) bool {
	if len(a) < 4 || len(b) < 4 || a[0] != b[0] || a == b {
		return false
	}
	if len(a) < len(b) {
		a, b = b, a
	}
	i := 0 // the first difference
	for i < len(b) && a[i] == b[i] {
		i++
	}
	switch {
	case len(a) == len(b)+1:
		return a[i+1:] == b[i:]
	case len(a) != len(b):
		return false
	case i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]:
		return true
	}
	return vowel(a[i]) && vowel(b[i]) && a[i+1:] == b[i+1:]
}

func vowel(c byte) bool { return strings.IndexByte("aeiouy", c) >= 0 }

// keyTypo reports whether written words a and b, of six letters or
// more, differ in one letter for a key next to it ("symptons" /
// "symptoms") and one of them is not a word: "strain" and "sprain" are
// both words, so neither is the other misspelt. Not in the first letter,
// where names the lexicon lacks differ: "Kubuntu" and "Lubuntu".
func keyTypo(a, b string) bool {
	if len(a) != len(b) || len(a) < 6 || a == b {
		return false
	}
	i := 0
	for a[i] == b[i] {
		i++
	}
	if i == 0 || a[i+1:] != b[i+1:] || !strings.Contains(keyNeighbours[a[i]], string(b[i])) {
		return false
	}
	return lexicon.Bases(a) == nil || lexicon.Bases(b) == nil
}

// keyNeighbours holds, for each letter, the letters next to it on a
// QWERTY keyboard.
var keyNeighbours = map[byte]string{
	'q': "wa", 'w': "qeas", 'e': "wrsd", 'r': "etdf", 't': "ryfg", 'y': "tugh", 'u': "yihj", 'i': "uojk", 'o': "ipkl", 'p': "ol",
	'a': "qwsz", 's': "awedxz", 'd': "serfcx", 'f': "drtgvc", 'g': "ftyhbv", 'h': "gyujnb", 'j': "huikmn", 'k': "jiolm", 'l': "kop",
	'z': "asx", 'x': "zsdc", 'c': "xdfv", 'v': "cfgb", 'b': "vghn", 'n': "bhjm", 'm': "njk",
}

// shorthand maps chat spellings of function words onto them.
var shorthand = map[string]string{"u": "you", "ur": "your", "r": "are", "whats": "what", "wht": "what", "waht": "what", "wat": "what", "whta": "what", "hw": "how", "hwo": "how",
	"wehn": "when", "whn": "when", "wher": "where", "whre": "where",
	"teh": "the", "shud": "should", "wud": "would", "cud": "could", "incl": "including", "excl": "excluding", "approx": "approximately"}

// synonyms reports whether two canonical words share a synonym group.
func synonyms(a, b string) bool {
	ga, gb := synonymGroup[a], synonymGroup[b]
	for _, x := range ga {
		if slices.Contains(gb, x) {
			return true
		}
	}
	return false
}

func isNumber(t string) bool {
	for _, r := range t {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return t != ""
}

var negation = set("not", "n't", "no", "never", "none", "nothing", "nobody", "nowhere", "neither", "nor", "without", "cannot", "except", "unless", "lack", "lacks")

var symbol = set("+", "-", "*", "/", "=", "%", "^", "<", ">", "$", "#")

var numberWord = set("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "twenty", "thirty", "forty", "fifty", "hundred", "thousand", "million", "billion",
	"first", "second", "third", "fourth", "fifth", "half", "double", "twice", "once")

// whAsk maps the question words that change what is asked to the ask they
// stand for; what, which and how (manner) are left out, as paraphrases
// swap them freely ("how do I sort" / "what is the way to sort").
var whAsk = map[string]string{"who": "who", "whom": "who", "whose": "whose", "when": "when", "where": "where", "why": "why"}

// howSame maps how-quantity words onto one that asks the same.
var howSame = map[string]string{"large": "big", "huge": "big", "quick": "fast", "quickly": "fast"}

var howQuantity = set("huge", "quick", "quickly", "many", "much", "long", "old", "far", "big", "tall", "often", "fast", "large", "heavy", "deep", "high", "hot", "cold")

var whWord = set("what", "which", "how", "who", "whom", "whose", "when", "where", "why", "whether")

// relation markers: the word after them has a role that must not change.
var relation = set("to", "from", "into", "than", "vs", "versus", "against", "in", "of", "for", "on", "with", "by", "at", "over", "under")

// operand reports whether the arithmetic word at toks[i] has a number
// beside it ("7 times 8", "twenty divided by 4"); elsewhere it is an
// ordinary word ("the Times", "how many times").
func operand(toks []string, i int) bool {
	num := func(t string) bool { return isNumber(t) || numberWord[t] }
	return (i > 0 && num(toks[i-1])) || (i+1 < len(toks) && num(toks[i+1]))
}

// arith maps words for arithmetic onto their symbols.
var arith = map[string]string{"plus": "+", "minus": "-", "times": "*", "multiplied": "*", "divided": "/", "percent": "%"}

var infinitiveBefore = set("how", "way", "ways", "want", "wants", "need", "needs", "like", "try", "trying", "able",
	"learn", "best", "better", "easiest", "easy", "hard", "good", "going", "have", "has", "had", "ought", "order",
	"used", "possible", "safe", "necessary", "important", "steps", "time", "fastest", "simplest", "quickest", "difficult")

// functionWord: words that carry no content of their own. Words that
// reverse or bound a meaning (more/less, before/after, up/down, all/some,
// first/last) are deliberately absent: they are content.
var functionWord = set("a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am", "'m", "'re", "'s", "'ve", "'d", "'ll",
	"do", "does", "did", "doing", "done", "have", "has", "had", "having",
	"of", "in", "on", "at", "for", "with", "about", "as", "by", "to", "and", "or", "but", "if", "then", "so", "also",
	"i", "you", "your", "yours", "we", "me", "us", "one's", "someone", "somebody", "anyone", "anybody", "people", "person",
	"can", "could", "would", "should", "will", "shall", "may", "might", "must",
	"there", "here", "it", "its", "this", "that", "these", "those", "there's",
	"very", "just", "really", "actually", "basically", "exactly", "precisely", "generally", "typically", "usually",
	"please", "kindly", "hi", "hello", "hey", "thanks", "thank", "ok", "okay", "pls", "plz", "thx", "lol", "sorry", "much",
	"some", "any", "such", "like", "kind", "type", "lot", "lots", "bit", "using", "via", "per", "between", "from", "called", "named", "known")

// frameStem holds the canonical forms of words that frame a question
// without saying what it is about ("explain", "briefly", "tell me").
var frameStem = stems("explain", "explanation", "describe", "description", "tell", "define", "definition", "meaning", "mean", "means", "meant",
	"brief", "briefly", "simple", "simply", "short", "summary", "summarize", "summarise", "overview",
	"know", "understand", "want", "wondering", "wonder", "curious", "question", "help", "give", "show", "learn",
	"refer", "refers", "exist", "exists", "actual", "possible", "able", "get", "need", "needed", "needs", "properly", "proper",
	"easy", "easiest", "simplest", "happen", "happened", "occur", "occurred",
	// asking for an expansion: "what does DNS stand for", "DNS is short for what", "the acronym NATO"
	"stand", "stands", "abbreviation", "abbreviate", "acronym", "expand", "expansion", "initialism",
	// requests and thanks around a question
	"ask", "clarify", "advice", "advise", "tip", "idea", "grateful", "appreciate", "appreciated", "wondered", "through", "intuitively",
	"bother", "guidance", "rundown", "advance")

// genericStem holds the canonical forms of words that name the kind of
// thing asked about without changing which ("Python programming", "the
// capital city of France"); a question made only of them is about them.
var genericStem = stems("concept", "idea", "notion", "programming", "language", "term", "word", "thing", "things", "way", "ways",
	"steps", "step", "method", "process", "procedure", "basic", "basics", "general", "located", "situated", "theory",
	"city", "country", "nation", "planet", "company", "corporation", "animal", "species", "element", "chemical")

// variant maps British spellings and irregular forms onto one form.
var variant = map[string]string{
	"colour": "color", "colours": "color", "centre": "center", "favourite": "favorite", "grey": "gray", "tyre": "tire", "tyres": "tire",
	"organise": "organize", "organisation": "organization", "optimise": "optimize", "analyse": "analyze", "travelling": "traveling",
	"kilometre": "kilometer", "kilometres": "kilometer", "metre": "meter", "metres": "meter", "litre": "liter", "litres": "liter",
	"aeroplanes": "airplane", "spoken": "speak", "spoke": "speak", "maths": "math", "mathematics": "math", "aeroplane": "airplane", "programme": "program", "licence": "license", "defence": "defense",
	"children": "child", "kids": "child", "kid": "child", "men": "man", "women": "woman", "people's": "person", "mice": "mouse", "feet": "foot", "teeth": "tooth",
	"made": "make", "makes": "make", "making": "make", "built": "build", "wrote": "write", "written": "write", "ran": "run",
	"bought": "buy", "thought": "think", "taught": "teach", "caught": "catch", "found": "find", "began": "begin", "begun": "begin",
	"came": "come", "ate": "eat", "eaten": "eat", "went": "go", "gone": "go", "took": "take", "taken": "take", "gave": "give", "given": "give",
	"knew": "know", "known": "know", "grew": "grow", "grown": "grow", "drew": "draw", "drawn": "draw", "chose": "choose", "chosen": "choose",
	"flew": "fly", "flown": "fly", "sold": "sell", "sent": "send", "spent": "spend", "lost": "lose", "won": "win", "held": "hold",
	"invented": "invent", "discovered": "discover", "founded": "found", "died": "die", "dies": "die", "dying": "die",
	"america": "usa", "uk": "britain", "tv": "television", "pc": "computer",
	"phone": "telephone", "cellphone": "telephone", "smartphone": "telephone", "mobile": "telephone",
}

// synonymGroup maps canonical words to the synonym groups they belong
// to. Groups are hand-written and small on purpose: a wrong pair is a false
// hit, a missing one only a miss.
var synonymGroup = groups(
	"buy purchase",
	"big large huge",
	"bigger larger",
	"biggest largest",
	"small little tiny",
	"smallest tiniest",
	"fast quick quickly rapid rapidly speedy",
	"faster quicker more_quickly",
	"fastest quickest",
	"fix repair mend",
	"store keep",
	"make create build construct produce",
	"make cook prepare",
	"make recipe",
	"car automobile vehicle",
	"film movie",
	"start begin commence",
	"stop halt cease quit",
	"end finish",
	"use utilize employ",
	"help assist aid",
	"get obtain acquire",
	"choose pick select",
	"wrong incorrect",
	"difference differ distinguish compare comparison contrast",
	"photo picture image",
	"shop store",
	"doctor physician",
	"lawyer attorney",
	"cheap inexpensive affordable budget",
	"expensive costly pricey",
	"happy glad",
	"sad unhappy",
	"reduce lower decrease",
	"increase raise boost",
	"improve enhance",
	"remove delete erase",
	"install setup set_up",
	"garbage trash rubbish",
	"vacation holiday",
	"apartment flat",
	"truck lorry",
	"function work operate",
	"cause reason",
	"benefit advantage pro",
	"drawback disadvantage con downside",
	"dangerous danger risk risky unsafe",
	"safe harmless",
	"healthy nutritious",
	"ill sick",
	"illness disease sickness",
	"write author",
	"invent create",
	"found establish start",
	"symptom sign",
	"calculate compute",
	"convert change transform",
	"mistake error",
	"answer solution",
	"famous renowned",
	"rich wealthy",
	"house home",
	"job occupation profession career",
	"kill murder assassinate",
	"purpose goal aim",
	"origin source",
	"location place situated located",
	"invent discover",
	"teach educate",
	"eat consume",
	"speak talk",
	"thaw defrost",
	"end terminate",
	"kill terminate",
	"fridge refrigerator",
	"indoors inside",
	"flu influenza",
	"stock share",
	"rid get_rid_of remove eliminate",
	// "do" as a main verb (mainVerbDo) pairs with each of these, which do
	// not pair with one another ("a function" is not "a job").
	"do function",
	"do purpose",
	"do role",
	"do job",
	"undo revert roll_back",
	"cost price",
	"reply respond",
	"edit modify",
	"grow cultivate",
	"configure set_up",
	"calculate compute figure_out",
	"remove take_off",
	"reduce lessen cut_back_on cut_down_on",
	"improve get_better",
	"care_for look_after take_care_of",
	"contact get_in_touch reach_out",
	"extinguish put_out",
	"disable deactivate turn_off switch_off shut_off",
	"enable activate turn_on switch_on",
	"shut_down power_off turn_off",
	"lose_weight shed_pounds slim_down drop_pounds shed_weight",
	"gain_weight put_on_weight",
	"register sign_up enroll",
	"log_in sign_in",
	"log_out sign_out",
	"cancel call_off",
	"postpone put_off",
	"discard throw_away",
	"accelerate speed_up",
	"decelerate slow_down",
	"perform carry_out",
	"find discover",
	"clean wash",
	"rename change_the_name_of",
	"merge combine",
)

func stems(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[canonical(w)] = true
	}
	return m
}

// groups indexes space-separated word groups by the canonical form of
// each word.
func groups(gs ...string) map[string][]int {
	m := make(map[string][]int)
	for i, g := range gs {
		for _, w := range strings.Fields(g) {
			c := canonical(w)
			m[c] = append(m[c], i)
		}
	}
	return m
}
