package router

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// A query's complexity is a sum of readable signals, clamped to [0, 1]:
// a small base, the query's length, cue families (each counted once,
// however many of its words appear), a task verb up front ("Analyze…",
// "Design…", "Prove…"), the number of parts it asks for, the
// conversation's depth, and discounts for what is plainly simple
// (greetings, short factual questions, quick lookups and rewrites). The
// weights are chosen so that one strong family (a proof, a design, a
// comparison) plus some substance (a task verb, ten words or more) crosses
// the default 0.5 threshold, and a lone "explain" or "why" does not.
const (
	baseScore      = 0.10
	lengthFrom     = 6 // words that add nothing
	lengthPerWord  = 0.025
	maxLengthScore = 0.25 // reached at 16 words
	taskVerbScore  = 0.10
	perExtraPart   = 0.10 // for each part beyond the first
	maxPartsScore  = 0.30
)

// cueSpec is one family of words that says something about the work a
// query asks for. A pattern is matched against whole words of the normalised
// query (lower case, punctuation turned into spaces); a trailing '*'
// matches any word that starts with it ("analy*": analyse, analysis).
type cueSpec struct {
	name     string // used in the reason
	weight   float64
	patterns []string
}

// cues are compiled once; they are never changed after.
var cues = compileCues([]cueSpec{
	{"reasoning", 0.30, []string{
		"analy*", "evaluat*", "assess*", "critiqu*", "critically", "justif*", "implication*", "consequence*",
		"ramification*", "reason about", "argue*", "argument for", "argument against", "hypothes*", "investigat*",
		"what would happen", "what happens if", "how would", "why would", "interpret*", "root cause", "impact of",
		"effects of", "predict*", "forecast*", "infer*", "think through", "causal*", "ethic*", "should we",
		"strateg*", "weigh*", "long term", "in the long run",
	}},
	{"explanation", 0.20, []string{
		"explain*", "walk me through", "elaborat*", "describe how", "describe why", "how does",
		"why does", "why do", "why is it", "help me understand", "teach me", "break down",
	}},
	{"comparison", 0.30, []string{
		"compar*", "contrast*", "vs", "versus", "difference between", "differences between", "differ from",
		"pros and cons", "advantages and disadvantages", "trade off*", "tradeoff*", "better than", "which is better",
		"which should i", "or should i", "similarities",
	}},
	{"design", 0.30, []string{
		"design*", "architect*", "plan for", "plan a", "a plan", "roadmap*", "propose", "proposal*", "migrat*",
		"scale to", "scalab*", "framework for", "business plan", "go to market", "curriculum", "blueprint",
		"restructur*", "reorganiz*", "reorganis*",
	}},
	{"depth", 0.30, []string{
		"in detail", "in depth", "detailed", "comprehensive*", "thorough*", "step by step", "essay", "report on",
		"whitepaper", "white paper", "research paper", "literature review", "thesis", "long form", "at length",
		"nuanc*", "rigorous*", "exhaustive*",
	}},
	// Asks to write, fix or change code; naming a language is not one.
	{"code", 0.25, []string{
		"write a function", "write a program", "write a script", "write code", "write a class", "write a method",
		"write a parser", "write a hook", "write a query", "write an sql", "write a sql", "sql query that",
		"implement*", "refactor*", "debug*", "fix this code", "fix my code", "fix the bug", "this code", "my code",
		"unit test*", "write tests", "code review", "review this code", "stack trace", "segfault", "compile error",
		"compiler error", "write a go", "write a python", "write a rust", "write a java", "write a javascript",
		"write a typescript", "write a react", "write a bash", "write a shell", "write a kubernetes",
		"write a concurrent", "go code", "python code", "java code", "rust code", "c code", "javascript code",
		"typescript code",
	}},
	{"advanced topic", 0.15, []string{
		"concurren*", "thread safe", "distributed", "lock free", "race condition*", "deadlock*", "memory leak*",
		"latency", "throughput", "optimi*", "performance", "asynchronous*", "consensus", "fault toleran*",
		"zero downtime", "vulnerab*", "exploit*", "threat model*", "cryptograph*", "encryption", "quantum",
		"algorithm*", "time complexity", "big o", "data structure*", "machine learning", "neural network*",
		"transformer*", "gradient*", "kubernetes", "microservice*", "monolith*", "sharding", "replication",
		"consistent hashing",
		"monetary policy", "macroeconom*", "geopolit*", "epidemiolog*", "pharmacokinetic*", "jurisprudence",
	}},
	{"math", 0.35, []string{
		"prove", "proof", "derive", "derivation", "integral*", "integrate", "differentiat*", "derivative*",
		"eigen*", "theorem*", "lemma", "induction", "differential equation*", "converge*", "convergence",
		"polynomial*", "matrix", "matrices", "probabilit*", "expected value", "variance", "bayes*", "combinator*",
		"asymptot*", "solve for", "system of equations", "limit of", "linear programming", "optimization problem",
		"closed form", "recurrence",
	}},
})

// Discounts for what is plainly simple.
const (
	greetingDiscount = 0.30
	factualDiscount  = 0.10
	lookupDiscount   = 0.10
	factualMaxWords  = 10
	lookupMaxWords   = 15
)

var (
	greetingWords = set("hi", "hello", "hey", "thanks", "thank", "thx", "cheers", "bye", "goodbye", "yo",
		"howdy", "morning", "evening", "ok", "okay", "cool", "great", "nice", "good")
	factualOpeners = set("what", "whats", "who", "whos", "when", "where", "which", "is", "are", "was", "were",
		"does", "do", "did", "can", "could", "will", "has", "have", "how many", "how much", "how old",
		"how far", "how long", "how tall", "how big", "how fast", "how do you say", "how do you spell")
	lookupOpeners = set("define", "translate", "convert", "spell", "list", "name", "give me", "tell me",
		"how do i", "how can i",
		"rephrase", "reword", "paraphrase", "correct", "fix the grammar", "fix grammar", "capitalize",
		"format", "summarize", "summarise", "shorten", "recommend", "suggest", "write a haiku",
		"write a short", "write a tweet", "write a limerick", "write a slogan", "write a tagline")
)

var (
	// codeLine finds a line of pasted code: one that opens with a
	// declaration or statement keyword and has code punctuation, an
	// #include, or a line ending in a brace or semicolon.
	// opens a declaration, ends in a brace or semicolon, or a stack trace.
	codeLine = regexp.MustCompile(`(?m)^\s*((def|func|class|import|package|public|private|fn|let|const|var|return|if|for|while)\b.*[(=:{;]|#include\b|.*[;{}]\s*$)`)
	// enumerated finds list items a query numbers or bullets.
	enumerated = regexp.MustCompile(`(?m)^\s*(\d+[.)]|[-*•])\s+\S`)
	// A further question joined by a comma or a conjunction ("…, how can
	// I…", "… and which…") is one more part.
	joiners       = set(",", "and", "also", "then", "plus")
	questionWords = set("what", "how", "why", "when", "where", "which", "who", "is", "are", "can", "should", "does", "do")
	// taskVerbs open a query that asks for work rather than a fact.
	taskVerbs = set("analyze", "analyse", "evaluate", "assess", "critique", "justify", "investigate", "predict",
		"compare", "contrast", "design", "architect", "propose", "plan", "prove", "derive", "show that", "solve",
		"implement", "refactor", "debug", "optimize", "optimise", "port", "explain", "describe", "discuss", "review")
)

// signal is one contribution to a score, kept for the reason.
type signal struct {
	name   string
	weight float64
}

// score is a query's complexity and how it came about.
type score struct {
	value   float64
	signals []signal // in the order they were found
	simple  string   // the simple-query label that applied, if any
}

// complexity scores query, asked after history earlier turns.
func complexity(query string, history int) score {
	tokens := strings.Fields(normalise(query)) // words and commas
	words := slices.DeleteFunc(slices.Clone(tokens), func(w string) bool { return w == "," })
	n := len(words)
	var s score
	if n == 0 {
		return s
	}
	add := func(name string, w float64) {
		s.signals = append(s.signals, signal{name, w})
		s.value += w
	}
	s.value = baseScore
	if l := min(maxLengthScore, lengthPerWord*float64(max(n-lengthFrom, 0))); l > 0 {
		add("long query", l)
	}
	first := firstWords(words)
	if n >= 4 && first(taskVerbs) { // a bare "compare" has nothing to work on
		add("task verb", taskVerbScore)
	}
	padded := " " + strings.Join(tokens, " ") + " "
	strong := 0
	for _, c := range cues {
		if c.matches(words, padded) {
			add(c.name, c.weight)
			strong++
		}
	}
	if hasCode(query) {
		add("code in the query", 0.20)
		strong++
	}
	if p := parts(query, tokens); p > 1 {
		add(fmt.Sprintf("%d-part ask", p), min(maxPartsScore, perExtraPart*float64(p-1)))
	}
	switch {
	case history >= 16:
		add("long conversation", 0.15)
	case history >= 8:
		add("long conversation", 0.10)
	case history >= 4:
		add("ongoing conversation", 0.05)
	}

	switch {
	case n <= 6 && greetingWords[words[0]] && strong == 0:
		s.simple = "greeting or small talk"
		s.value -= greetingDiscount
	case n <= factualMaxWords && first(factualOpeners):
		s.simple = "short factual question"
		s.value -= factualDiscount
	case n <= lookupMaxWords && first(lookupOpeners) && strong == 0:
		s.simple = "short lookup or rewrite"
		s.value -= lookupDiscount
	case strong == 0 && n <= factualMaxWords:
		s.simple = "short query with no complexity cues"
	}
	s.value = min(max(s.value, 0), 1)
	return s
}

// cue is one family of cue patterns, sorted for matching.
type cue struct {
	name     string
	weight   float64
	words    map[string]bool // one-word patterns
	prefixes []string        // one-word patterns ending in '*'
	phrases  []string        // several words, padded with spaces; a '*' end is left open
}

func compileCues(specs []cueSpec) []cue {
	out := make([]cue, 0, len(specs))
	for _, sp := range specs {
		c := cue{name: sp.name, weight: sp.weight, words: map[string]bool{}}
		for _, p := range sp.patterns {
			stem, open := strings.CutSuffix(p, "*")
			switch {
			case strings.Contains(stem, " ") && open:
				c.phrases = append(c.phrases, " "+stem)
			case strings.Contains(stem, " "):
				c.phrases = append(c.phrases, " "+stem+" ")
			case open:
				c.prefixes = append(c.prefixes, stem)
			default:
				c.words[stem] = true
			}
		}
		out = append(out, c)
	}
	return out
}

// matches reports whether a pattern of c is in the query, given as its
// words and as its tokens joined and padded with spaces.
func (c cue) matches(words []string, padded string) bool {
	for _, w := range words {
		if c.words[w] {
			return true
		}
		for _, p := range c.prefixes {
			if strings.HasPrefix(w, p) {
				return true
			}
		}
	}
	for _, p := range c.phrases {
		if strings.Contains(padded, p) {
			return true
		}
	}
	return false
}

// hasCode reports whether q contains pasted code or a stack trace.
func hasCode(q string) bool {
	for _, marker := range []string{"```", "Traceback (most recent call last)", "Exception in thread", "panic: ", "goroutine 1 ["} {
		if strings.Contains(q, marker) {
			return true
		}
	}
	// Pasted code spans lines; a one-line query that starts "let me…"
	// is prose.
	return strings.Contains(q, "\n") && codeLine.MatchString(q)
}

// parts counts the questions or items a query asks for: question marks,
// numbered or bulleted lines, and questions joined by a conjunction.
func parts(raw string, tokens []string) int {
	q := strings.Count(raw, "?")
	items := 0
	if strings.Contains(raw, "\n") {
		items = len(enumerated.FindAllStringIndex(raw, -1))
	}
	joined := 0
	for i := 0; i+1 < len(tokens); i++ {
		if joiners[tokens[i]] && questionWords[tokens[i+1]] {
			joined++
		}
	}
	return max(q, items, 1) + joined
}

// normalise lower-cases s and turns everything but letters, digits and
// commas into single spaces; apostrophes are dropped ("what's" → "whats")
// and commas become words of their own (" , "), so that phrases do not
// match across them and joined questions can be counted.
func normalise(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true
	for _, r := range s {
		switch {
		case r == '\'' || r == '’':
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
			space = false
		case r == ',':
			if !space {
				b.WriteByte(' ')
			}
			b.WriteString(", ")
			space = true
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	return strings.TrimSpace(b.String())
}

// firstWords returns a test of whether words start with one of a set's
// entries, which may be several words long.
func firstWords(words []string) func(map[string]bool) bool {
	return func(opener map[string]bool) bool {
		for k := 1; k <= min(5, len(words)); k++ {
			if opener[strings.Join(words[:k], " ")] {
				return true
			}
		}
		return false
	}
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
