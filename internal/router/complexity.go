package router

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// A query's complexity is a sum of readable signals, clamped to [0, 1]:
// a small base, the query's length, cue families (each counted once,
// however many of its words appear), an ask to write code, a task verb up
// front with something to work on ("Analyze…", "Design Uber", "Refute
// determinism"), a short question that needs depth (openQuestion), the
// number of parts it asks for, the conversation's depth, and discounts
// for what is plainly simple (greetings, short factual questions, quick
// lookups and rewrites). The weights are chosen so that one strong family
// (a proof, a design, a comparison) plus some substance (a task verb, ten
// words or more) crosses the default 0.5 threshold, and a lone "explain"
// or "why" does not. They were tuned on testdata/dev.jsonl only.
const (
	baseScore      = 0.10
	lengthFrom     = 6 // words that add nothing
	lengthPerWord  = 0.025
	maxLengthScore = 0.25 // reached at 16 words
	taskVerbScore  = 0.10
	perExtraPart   = 0.10 // for each part beyond the first
	maxPartsScore  = 0.30
	codeAskScore   = 0.25 // as much as the code cue family
	// openQuestionScore is the weight of a short question that needs
	// depth (openQuestion): with the base score it reaches the default
	// threshold on its own.
	openQuestionScore = 0.40
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
		"analy*", "evaluat*", "assess*", "critiqu*", "critici*", "critically", "justif*", "implication*", "consequence*",
		"ramification*", "reason about", "argue*", "argument for", "argument against", "hypothes*", "investigat*",
		"what would happen", "what happens if", "how would", "why would", "interpret*", "root cause", "impact of", "impact on",
		"effects of", "predict*", "forecast*", "infer*", "think through", "causal*", "ethic*", "should we",
		"strateg*", "weigh", "weighs", "weighing", "weighed", "long term", "in the long run",
		"refut*", "rebut*", "disprov*", "debunk*", "defend", "steelman*", "make the case", "case for", "case against",
		"counterargument*", "objection*", "how might", "how will", "what will happen", "how should", "how could we", "how can we",
		"how we could", "what went wrong", "second order", "schools of thought", "and why",
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
		"restructur*", "reorganiz*", "reorganis*", "redesign*", "system design",
		"schedule for", "training schedule", "itinerar*", "study plan", "lesson plan", "training plan",
	}},
	{"depth", 0.30, []string{
		"in detail", "in depth", "detailed", "comprehensive*", "thorough*", "step by step", "essay", "report on",
		"whitepaper", "white paper", "research paper", "literature review", "thesis", "long form", "at length",
		"nuanc*", "rigorous*", "exhaustive*", "go deeper", "deeper into", "expand on",
		"write a story", "write me a story", "write a short story", "write me a short story", "write a novel",
		"write a chapter", "write a screenplay", "write a short film",
	}},
	// Asks to fix or change code; asks to write code are found by
	// asksForCode, and naming a language is not one.
	{"code", 0.25, []string{
		"implement*", "refactor*", "debug*", "fix this code", "fix my code", "fix the bug", "this code", "my code",
		"unit test*", "write tests", "code review", "review this code", "stack trace", "segfault", "compile error",
		"compiler error", "troubleshoot*", "track down",
	}},
	{"advanced topic", 0.15, []string{
		"concurren*", "thread safe", "distributed", "lock free", "race condition*", "deadlock*", "memory leak*",
		"latency", "throughput", "optimi*", "performance", "asynchronous*", "consensus", "fault toleran*",
		"zero downtime", "vulnerab*", "exploit*", "threat model*", "cryptograph*", "encryption", "quantum",
		"algorithm*", "time complexity", "big o", "data structure*", "machine learning", "neural network*",
		"transformer*", "gradient*", "kubernetes", "microservice*", "monolith*", "sharding", "replication",
		"consistent hashing", "goroutine*", "parser*", "lexer*", "compiler*", "interpreter*", "b tree", "btree",
		"leader election", "raft", "paxos", "connection pool*", "rate limit*", "scheduler*", "allocator*",
		"garbage collect*", "lru",
		"monetary policy", "macroeconom*", "geopolit*", "epidemiolog*", "pharmacokinetic*", "jurisprudence",
	}},
	{"math", 0.35, []string{
		"prove", "proof", "derive", "derivation", "integral*", "integrate", "differentiat*", "derivative*",
		"eigen*", "theorem*", "lemma", "induction", "differential equation*", "converge*", "convergence",
		"polynomial*", "matrix", "matrices", "probabilit*", "expected value", "variance", "bayes*", "combinator*",
		"asymptot*", "solve for", "system of equations", "limit of", "linear programming", "optimization problem",
		"closed form", "recurrence", "show that", "how many ways", "in how many", "uncountab*", "undecidab*",
		"irrational*", "infinitely many", "mathematical*",
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
		"format", "summarize", "summarise", "shorten", "recommend", "suggest")
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
		"implement", "refactor", "debug", "optimize", "optimise", "port", "explain", "describe", "discuss", "review",
		"refute", "rebut", "disprove", "debunk", "defend", "argue", "steelman", "make the case", "integrate",
		"differentiate", "criticise", "criticize", "challenge", "system design")
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
	tokens := spellOut(strings.Fields(normalise(query))) // words and commas
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
	// A follow-up's opening filler ("and", "okay, now") hides neither a
	// task verb nor the shape of a question.
	opening := words[0]
	if rest := dropFillers(words); len(rest) > 0 {
		words = rest
	}
	first := firstWords(words)
	if first(taskVerbs) && hasObject(words) { // a bare "compare" has nothing to work on
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
	if asksForCode(words) {
		add("code", codeAskScore)
		strong++
	}
	open := openQuestion(words) || (slices.Contains(words, "vs") || slices.Contains(words, "versus")) && namedChoice(query)
	if open {
		add("open question", openQuestionScore)
		strong++
	}
	if lengthAsk(words) {
		add("long form", longFormScore)
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
	case n <= 6 && greetingWords[opening] && strong == 0:
		s.simple = smallTalk
		s.value -= greetingDiscount
	case n <= factualMaxWords && first(factualOpeners) && !open:
		s.simple = "short factual question"
		s.value -= factualDiscount
	case n <= lookupMaxWords && (first(lookupOpeners) || shortWriting(words)) && strong == 0:
		s.simple = "short lookup or rewrite"
		s.value -= lookupDiscount
	case strong == 0 && n <= factualMaxWords:
		s.simple = "short query with no complexity cues"
	}
	s.value = min(max(s.value, 0), 1)
	return s
}

// smallTalk labels a greeting or an acknowledgement ("Thanks, that
// makes sense."): simple, and never sent down the depth route.
const smallTalk = "greeting or small talk"

// longFormScore is what an explicit long length adds: "about 2000
// words", "a 5-page report".
const longFormScore = 0.35

// lengthAsk reports whether words ask for a long text by its length: a
// number of at least 500 before "words", or of at least 3 before
// "pages".
func lengthAsk(words []string) bool {
	if len(words) > 1 && words[0] == "how" {
		return false // "how many words are in 1000 pages?" asks a number
	}
	for i := 1; i < len(words); i++ {
		unit := strings.TrimSuffix(words[i], "s")
		if unit != "word" && unit != "page" {
			continue
		}
		// "2,000 words" reads as "2", "000" (the comma is taken out).
		digits := words[i-1]
		for j := i - 1; j > 0 && len(words[j]) == 3 && isDigits(words[j]) && isDigits(words[j-1]); j-- {
			digits = words[j-1] + digits
		}
		n, err := strconv.Atoi(digits)
		if err != nil {
			continue
		}
		if (unit == "word" && n >= 500) || (unit == "page" && n >= 3) {
			return true
		}
	}
	return false
}

func isDigits(w string) bool {
	return w != "" && strings.Trim(w, "0123456789") == ""
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

// hasObject reports whether a query that opens with a task verb names
// something to work on: a word after the first that is neither a task
// verb nor a conjunction ("Design Uber", not "Compare and contrast").
func hasObject(words []string) bool {
	for _, w := range words[1:] {
		if !taskVerbs[w] && !joiners[w] && w != "or" {
			return true
		}
	}
	return false
}

// Words that make a query an ask to write code (asksForCode).
var (
	codeMakers = set("write", "implement", "build", "create", "code", "generate", "make")
	codeNouns  = set("function", "functions", "program", "script", "class", "method", "parser", "hook", "query", "queries",
		"operator", "module", "library", "server", "client", "cli", "crawler", "scraper", "regex", "component", "endpoint",
		"bot", "daemon", "plugin", "snippet", "handler", "middleware", "decorator", "struct", "interface", "code")
	languages = set("go", "golang", "python", "rust", "java", "javascript", "js", "typescript", "ts", "c", "cpp", "csharp",
		"kotlin", "swift", "ruby", "php", "scala", "haskell", "elixir", "erlang", "clojure", "lua", "perl", "sql", "bash",
		"shell", "powershell", "react", "vue", "angular", "svelte", "django", "flask", "rails", "node", "nodejs",
		"kubernetes", "terraform", "ansible", "docker", "dockerfile", "makefile")
	codeOwners = set("this", "my", "our", "your", "the")
)

// asksForCode reports whether words ask for code to be written (a verb
// of making followed within five words by a kind of code or a
// programming language, or later by "in" or "using" a language: "write a
// Go program", "create a React hook", "write a thread-safe connection
// pool in Java") or point at code ("this Java code", "our code", "my
// React component").
func asksForCode(words []string) bool {
	for i, w := range words {
		if codeMakers[w] {
			for j, x := range words[i+1:] {
				if j < 5 && (codeNouns[x] || languages[x]) {
					return true
				}
				if (x == "in" || x == "using") && i+j+2 < len(words) && languages[words[i+j+2]] {
					return true
				}
			}
		}
		if (w == "my" || w == "our" || w == "this") && i+1 < len(words) && (codeNouns[words[i+1]] || languages[words[i+1]]) {
			return true
		}
		if w == "code" && i > 0 && (codeOwners[words[i-1]] || (languages[words[i-1]] && i > 1 && codeOwners[words[i-2]])) {
			return true
		}
	}
	return false
}

// Short pieces of writing (shortWriting).
var (
	writeOpeners = set("write", "compose", "give me", "write me", "come up with")
	shortForms   = set("haiku", "limerick", "slogan", "slogans", "tagline", "taglines", "tweet", "caption", "headline",
		"headlines", "joke", "riddle", "toast", "motto", "pun", "rhyme", "couplet", "greeting", "message", "note",
		"bio", "title", "titles", "name", "names", "short", "quick", "one line", "oneliner")
)

// shortWriting reports whether words open with an ask for a short piece
// of writing: "write a haiku about…", "give me a catchy slogan",
// "write a short thank-you note".
func shortWriting(words []string) bool {
	if !firstWords(words)(writeOpeners) {
		return false
	}
	for _, w := range words[1:min(len(words), 5)] {
		if shortForms[w] {
			return true
		}
	}
	return false
}

// fillers open a follow-up without changing what it asks: "and why did
// it collapse", "okay, now critique it".
var fillers = set(",", "and", "so", "but", "ok", "okay", "alright", "now", "then", "also", "well", "hmm", "right",
	"please", "pls")

// dropFillers returns words without their leading fillers.
func dropFillers(words []string) []string {
	for len(words) > 0 && fillers[words[0]] {
		words = words[1:]
	}
	return words
}

// Words of short questions that need depth (openQuestion).
var (
	// eventVerbs, after "why did" or "why was", ask for the causes of an
	// event: "why did the Han dynasty collapse".
	eventVerbs = set("collapse", "fall", "fail", "decline", "rise", "win", "lose", "happen", "start", "begin", "end",
		"emerge", "survive", "succeed", "spread", "crash", "dissolve", "split", "break",
		// a state's or a people's turn of course
		"stop", "abandon", "invade", "withdraw", "adopt", "reject", "stagnate", "slow")
	// eventChanges, after "why has" or "why have", ask for the causes of
	// a change in a society or an economy: "why has trust in
	// institutions declined".
	eventChanges = set("collapsed", "fallen", "failed", "declined", "risen", "grown", "stagnated", "slowed", "spread",
		"shrunk", "surged", "soared", "eroded", "weakened", "increased", "decreased", "widened", "changed")
	// causalOpeners ask for the causes of a past event.
	causalOpeners = set("what caused", "what led to", "what were the causes of", "what triggered", "what brought about",
		"what explains", "what drove")
	// causeNouns, after "what were the", ask for the causes of a past
	// event: "what were the main causes of the cold war".
	causeNouns = set("causes", "reasons", "factors", "origins", "roots")
	// evaluative words in a yes/no question make it a question of
	// judgement: "is beauty objective", "was the treaty fair".
	evaluative = set("illusion", "objective", "subjective", "justified", "justifiable", "moral", "immoral", "amoral",
		"ethical", "unethical", "fair", "unfair", "sustainable", "inevitable", "conscious", "sentient", "meaningful",
		"meaningless", "deterministic", "virtue", "virtuous", "unjust", "overrated", "evil", "worthwhile", "overhyped",
		"desirable", "justify", "justifies")
	// personal words make a question about one's own things, not a
	// society's: "why has my laptop slowed down".
	personal = set("i", "my", "me", "mine", "im", "ive")
	// judgements, in a yes/no question, ask for a verdict: "is
	// capitalism good or bad".
	judgements = []string{" free will ", " good or bad ", " bad or good ", " right or wrong ", " a good thing ", " a bad thing ",
		" worth it ", " worth the ", " worth doing ", " worth getting ", " worth learning "}
	yesNoOpeners = set("is", "are", "was", "were", "can", "could", "does", "do", "will", "would", "isnt", "arent")
	// normative words after "should" ask whether something ought to be
	// allowed: "should recreational drugs be legal".
	normative = set("legal", "illegal", "legalized", "legalised", "banned", "ban", "allowed", "permitted", "abolished",
		"abolish", "regulated", "mandatory", "compulsory", "censored", "free", "taxed", "privatised", "privatized",
		"nationalised", "nationalized", "subsidised", "subsidized", "restricted", "criminalised", "criminalized",
		"decriminalised", "decriminalized", "lowered", "raised", "exist", "paused", "halted", "stopped", "prohibited",
		"outlawed", "limited", "capped", "required", "expanded", "scrapped", "reformed", "defunded", "replaced")
	// choiceOpeners ask which of the alternatives that follow is better.
	choiceOpeners = set("which is better", "whats better", "what is better", "which is best", "whats best",
		"which should i", "which one", "which would you")
	// notChoiceOpeners may not open a bare choice between alternatives
	// (openQuestion): the alternatives themselves do, not a question
	// word, a verb of asking or a greeting.
	notChoiceOpeners = set("what", "whats", "who", "whos", "when", "where", "which", "why", "how", "is", "are", "was",
		"were", "do", "does", "did", "can", "could", "will", "would", "should", "shall", "has", "have", "may", "might",
		"tell", "give", "translate", "convert", "define", "list", "name", "spell", "write", "summarize", "summarise",
		"rephrase", "i", "im", "my", "hi", "hello", "hey", "thanks", "ok", "okay", "yes", "no")
)

// openQuestion reports whether words are a question whose good answer
// weighs several causes or positions, however short: the causes of a
// historical or social event, a yes/no question of judgement, whether
// something should be allowed, a bare choice between alternatives
// ("Kafka or RabbitMQ?", "Rent or buy a house?").
func openQuestion(words []string) bool {
	if len(words) < 2 {
		return false
	}
	in := func(m map[string]bool, ws []string) bool {
		return slices.ContainsFunc(ws, func(w string) bool { return m[w] })
	}
	switch {
	case words[0] == "why" && (words[1] == "did" || words[1] == "was" || words[1] == "were"):
		return in(eventVerbs, words[2:]) && !in(personal, words[2:])
	case words[0] == "why" && (words[1] == "has" || words[1] == "have"):
		return in(eventChanges, words[2:]) && !in(personal, words[2:])
	case firstWords(words)(causalOpeners):
		return true
	case words[0] == "what" && words[1] == "were" && in(causeNouns, words[2:min(len(words), 5)]):
		return true
	case yesNoOpeners[words[0]]:
		padded := " " + strings.Join(words, " ") + " "
		return in(evaluative, words[1:]) || slices.ContainsFunc(judgements, func(p string) bool { return strings.Contains(padded, p) })
	case words[0] == "should":
		return in(normative, words[1:])
	case words[0] == "what" && (words[1] == "is" || words[1] == "are") && concept(words[2:]),
		words[0] == "whats" && concept(words[1:]):
		return true
	}
	return bareChoice(words)
}

// choicePurposes introduce what a choice is for: "Rust vs Go for a
// backend", "stocks vs bonds at my age".
var choicePurposes = set("for", "at", "in", "with", "on", "when", "given")

// concepts are the ideas philosophy has argued over without settling:
// "what is justice" asks for the arguments, where "what is
// utilitarianism" asks for a definition.
var concepts = set("justice", "truth", "beauty", "knowledge", "consciousness", "self", "reality", "virtue", "morality",
	"existence", "mind", "goodness", "art", "time", "free will", "personal identity", "a person", "the good life",
	"a good life", "a just society", "the mind", "the self", "the good", "a self")

// concept reports whether words, after "what is", are only one of
// concepts.
func concept(words []string) bool {
	return len(words) > 0 && len(words) <= 3 && concepts[strings.Join(words, " ")]
}

// maxChoiceWords bounds a bare choice: a longer query that names
// alternatives is scored by its other words.
const maxChoiceWords = 8

// bareChoice reports whether words are only alternatives to choose
// between, joined by "or", "vs" or "versus", and what they are for:
// "Monolith or microservices?", "Rust vs Go for a backend?".
func bareChoice(words []string) bool {
	for k := 3; k >= 2; k-- { // "which is better, X or Y", "whats better X or Y"
		if len(words) > k && choiceOpeners[strings.Join(words[:k], " ")] {
			words = words[k:]
			break
		}
	}
	if len(words) < 3 || len(words) > maxChoiceWords || notChoiceOpeners[words[0]] || slices.Contains(words, "difference") {
		return false
	}
	inner := words[1 : len(words)-1]
	if slices.Contains(inner, "or") {
		return true
	}
	// "X vs Y" alone is as often a definition ("weather vs climate") as
	// a choice; with what the choice is for it is a choice ("Rust vs Go
	// for a backend"). Without, the depth route decides.
	return slices.ContainsFunc(inner, func(w string) bool { return w == "vs" || w == "versus" }) &&
		slices.ContainsFunc(inner, func(w string) bool { return choicePurposes[w] })
}

// namedChoice reports whether query is a bare "X vs Y" between names,
// written with capitals ("Terraform vs Pulumi?", "Django versus
// Rails"): products, schools and people are chosen between, where
// "weather vs climate" asks for a definition.
func namedChoice(query string) bool {
	f := strings.Fields(strings.TrimRight(strings.TrimSpace(query), "?.!"))
	if len(f) < 3 || len(f) > 5 {
		return false
	}
	for i := 1; i < len(f)-1; i++ {
		if v := strings.ToLower(strings.TrimSuffix(f[i], ".")); v == "vs" || v == "versus" {
			return name(f[i-1]) && name(f[i+1])
		}
	}
	return false
}

// name reports whether w is written as a name: a capital, then at least
// one lower-case letter ("Pulumi", "GitHub", not "RAM" or "climate").
func name(w string) bool {
	r := []rune(w)
	return len(r) > 1 && unicode.IsUpper(r[0]) && slices.ContainsFunc(r[1:], unicode.IsLower)
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

// casualSpellings are chat spellings of words the rules look for.
var casualSpellings = map[string]string{
	"u": "you", "ur": "your", "shud": "should", "shld": "should", "wud": "would", "cud": "could",
	"wat": "what", "wut": "what", "hw": "how", "wen": "when", "wher": "where", "wy": "why", "pls": "please",
	"plz": "please", "thx": "thanks",
}

// spellOut replaces chat spellings in normalised words with the words
// they stand for ("shud abortion be legal"), and misspellings of the
// words the rules look for with those words ("critque", "desgin",
// "wrth": respell); a leading "y" is "why".
func spellOut(words []string) []string {
	for i, w := range words {
		if full, ok := casualSpellings[w]; ok {
			words[i] = full
		} else if full, ok := respell(w); ok {
			words[i] = full
		}
	}
	if len(words) > 1 && words[0] == "y" {
		words[0] = "why"
	}
	return words
}

// spelledOut returns query's words after spellOut, joined by spaces,
// and whether spellOut changed any: the depth route embeds the words as
// they were meant when they were misspelled.
func spelledOut(query string) (string, bool) {
	words := strings.Fields(normalise(query))
	orig := slices.Clone(words)
	words = spellOut(words)
	if slices.Equal(words, orig) {
		return query, false
	}
	return strings.Join(slices.DeleteFunc(words, func(w string) bool { return w == "," }), " "), true
}

// ruleWords are the words the rules look for, which respell restores
// from a misspelling: the task verbs, the words of open questions, and
// the commonest words of the cue families, by first letter.
var ruleWords = func() map[byte][]string {
	m := map[byte][]string{}
	add := func(w string) {
		if len(w) >= 5 && !strings.Contains(w, " ") && !slices.Contains(m[w[0]], w) {
			m[w[0]] = append(m[w[0]], w)
		}
	}
	for _, ws := range []map[string]bool{taskVerbs, eventVerbs, evaluative, normative} {
		for w := range ws {
			add(w)
		}
	}
	for _, w := range []string{"should", "design", "system", "worth", "critique", "criticise", "criticize", "analysis",
		"compare", "comparison", "explain", "difference", "better", "collapse", "exist", "existence", "determinism",
		"morality", "capitalism", "socialism", "communism", "democracy", "philosophy", "consciousness", "argument",
		"architecture", "strategy", "implications", "consequences", "ethics", "justice", "revolution", "empire"} {
		add(w)
	}
	for _, ws := range m {
		slices.Sort(ws)
	}
	return m
}()

// respell returns the rule word w is a misspelling of: one letter
// dropped, added, changed or swapped with its neighbour, keeping the
// first letter (people rarely mistype it) and the last (a change there
// is more often another form of a word, "cause" and "causes", than a
// slip; two last letters swapped, "desing", are a slip). Words of five letters or six may not change a letter ("mural"
// is not "moral", "butter" not "better"), and words of four may only
// drop a vowel ("wrth", "shld"); shorter words are left alone.
func respell(w string) (string, bool) {
	if len(w) < 4 {
		return "", false
	}
	for _, t := range ruleWords[w[0]] {
		if t != w && oneEdit(w, t) {
			return t, true
		}
	}
	return "", false
}

// oneEdit reports whether typed is target with one edit away from its
// last letter, under respell's limits by typed's length.
func oneEdit(typed, target string) bool {
	n, m := len(typed), len(target)
	i := 0 // the first letter that differs
	for i < min(n, m) && typed[i] == target[i] {
		i++
	}
	switch {
	case n == m-1: // a letter dropped
		return i < n-1 && typed[i:] == target[i+1:] && (n >= 5 || strings.IndexByte("aeiou", target[i]) >= 0)
	case n < 5:
		return false
	case n == m+1: // a letter added
		return i < m-1 && typed[i+1:] == target[i:]
	case n == m && i < n-1:
		if typed[i] == target[i+1] && typed[i+1] == target[i] && typed[i+2:] == target[i+2:] {
			return true // two letters swapped
		}
		// one changed, not next to the end ("analyze", "analyse")
		return n >= 7 && i < n-2 && typed[i+1:] == target[i+1:]
	}
	return false
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
