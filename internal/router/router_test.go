package router

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecideRules(t *testing.T) {
	cfg := evalRouting()
	tests := []struct {
		name string
		in   Input
		want Decision
	}{
		{
			name: "short factual question",
			in:   Input{Query: "What is 2+2?"},
			want: Decision{Primary: "bedrock_haiku", Fallbacks: []string{}, Complexity: 0, Domain: "general", Reason: "short factual question", Rule: RuleSimple},
		},
		{
			name: "complex query",
			in:   Input{Query: "Explain the implications of quantum computing on cryptography", Domain: "ai"},
			want: Decision{Primary: "bedrock_sonnet", Fallbacks: []string{"bedrock_haiku"}, Complexity: 0.9, Domain: "ai",
				Reason: "complex query (0.90 ≥ 0.50): reasoning, explanation, advanced topic", Rule: RuleComplex},
		},
		{
			name: "hidden states win over every other rule",
			in:   Input{Query: "What is 2+2?", HiddenStates: true, Tenant: "research-lab", Domain: "internal"},
			want: Decision{Primary: "shadow_self", Fallbacks: []string{"bedrock_sonnet", "bedrock_haiku"}, Complexity: 0, Domain: "internal", Reason: "hidden states requested", Rule: RuleHiddenStates},
		},
		{
			name: "tenant rule wins over a domain rule",
			in:   Input{Query: "hello", Tenant: "research-lab", Domain: "internal"},
			want: Decision{Primary: "bedrock_sonnet", Fallbacks: []string{"bedrock_haiku"}, Complexity: 0, Domain: "internal", Reason: "tenant rule: research-lab", Rule: RuleTenant},
		},
		{
			name: "domain rule",
			in:   Input{Query: "What is our vacation policy?", Domain: "internal"},
			want: Decision{Primary: "shadow_self", Fallbacks: []string{"bedrock_sonnet", "bedrock_haiku"}, Complexity: 0, Domain: "internal", Reason: "domain rule: internal", Rule: RuleDomain},
		},
		{
			name: "unknown tenant and domain fall through to the score",
			in:   Input{Query: "Hello there", Tenant: "nobody", Domain: "travel"},
			want: Decision{Primary: "bedrock_haiku", Fallbacks: []string{}, Complexity: 0, Domain: "travel", Reason: "greeting or small talk", Rule: RuleSimple},
		},
		{
			name: "empty query",
			in:   Input{},
			want: Decision{Primary: "bedrock_haiku", Fallbacks: []string{}, Complexity: 0, Domain: "general", Reason: "simple query (0.00 < 0.50): no strong cues", Rule: RuleSimple},
		},
	}
	r, err := New(t.Context(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Decide(t.Context(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decide(%+v) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestDecideThresholdAndTiersFromConfig(t *testing.T) {
	q := Input{Query: "Compare Raft and Paxos for building a replicated log"}
	for _, tt := range []struct {
		threshold float64
		want      string
	}{{0.5, "big"}, {0.95, "small"}} {
		r, err := New(t.Context(), Config{Simple: "small", Complex: "big", ComplexityThreshold: tt.threshold}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := r.Decide(t.Context(), q)
		if d.Primary != tt.want {
			t.Errorf("threshold %v: Decide(%q).Primary = %q (complexity %v); want %q", tt.threshold, q.Query, d.Primary, d.Complexity, tt.want)
		}
	}
}

// TestNewDerivesWhatIsNotSet checks that a Config names no model of its
// own: Complex defaults to Simple, a request for hidden states without a
// hidden-state model is routed like any other, and no Simple is an error.
func TestNewDerivesWhatIsNotSet(t *testing.T) {
	if _, err := New(t.Context(), Config{Complex: "b"}, nil, nil); err == nil {
		t.Error("New(Config without Simple) succeeded; want an error")
	}
	r, err := New(t.Context(), Config{Simple: "a"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   Input
		rule string
	}{
		{"complex query goes to Simple", Input{Query: "Explain the implications of quantum computing on cryptography"}, RuleComplex},
		{"hidden states without a hidden-state model", Input{Query: "What is 2+2?", HiddenStates: true}, RuleSimple},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := r.Decide(t.Context(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Primary != "a" || d.Rule != tt.rule {
				t.Errorf("Decide(%+v) = %s by rule %s; want a by rule %s", tt.in, d.Primary, d.Rule, tt.rule)
			}
		})
	}
}

func TestFallbacksAreCleaned(t *testing.T) {
	r, err := New(t.Context(), Config{Simple: "bedrock_haiku", Fallbacks: map[string][]string{"bedrock_haiku": {"bedrock_haiku", "x", "x", "y"}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := r.Decide(t.Context(), Input{Query: "hi"})
	if diff := cmp.Diff([]string{"x", "y"}, d.Fallbacks); diff != "" {
		t.Errorf("Fallbacks mismatch (-want +got):\n%s", diff)
	}
}

func TestComplexitySignals(t *testing.T) {
	tests := []struct {
		query   string
		history int
		want    []string // signal names, in order found
		simple  string
	}{
		{"What is 2+2?", 0, nil, "short factual question"},
		{"Hello!", 0, nil, "greeting or small talk"},
		{"Prove that there are infinitely many primes", 0, []string{"long query", "task verb", "math"}, ""},
		{"Compare Go and Rust", 0, []string{"task verb", "comparison"}, "short query with no complexity cues"[:0]},
		{"Why?", 20, []string{"long conversation"}, "short query with no complexity cues"},
		{"Why?", 5, []string{"ongoing conversation"}, "short query with no complexity cues"},
		{"1. a\n2. b\n3. c", 0, []string{"3-part ask"}, "short query with no complexity cues"},
		{"```\nx := 1\n```\nwhat is wrong", 0, []string{"code in the query"}, ""},
		{"Translate this into formal French please", 0, nil, "short lookup or rewrite"},
		{"Design Uber.", 0, []string{"task verb", "design"}, ""},
		{"Compare and contrast", 0, []string{"comparison"}, "short query with no complexity cues"[:0]},
		{"Refute determinism.", 0, []string{"task verb", "reasoning"}, ""},
		{"Why did the Han dynasty collapse?", 0, []string{"open question"}, ""},
		{"Is beauty objective?", 0, []string{"open question"}, ""},
		{"Is Pluto a planet?", 0, nil, "short factual question"},
		{"Write a Go program that tails a log file", 0, []string{"long query", "code"}, ""},
		{"Write a haiku about rain", 0, nil, "short lookup or rewrite"},
		{"Write a short story about a lighthouse keeper who discovers time travel", 0, []string{"long query", "depth"}, ""},
		{"Write 2,000 words on the history of tea", 0, []string{"long query", "long form"}, ""},
		{"A 5-page report on tea, please", 0, []string{"long query", "depth", "long form"}, ""},
		{"Summarize this in 100 words", 0, nil, "short lookup or rewrite"},
		{"Okay, now critique your own argument.", 6, []string{"task verb", "reasoning", "ongoing conversation"}, ""},
		{"Integrate x e^x dx.", 0, []string{"task verb", "math"}, ""},
		{"Kafka or RabbitMQ?", 0, []string{"open question"}, ""},
		{"thx!!", 0, nil, "greeting or small talk"},
		{"Mass vs weight?", 0, []string{"comparison"}, ""}, // "weight" is not "weigh up"
	}
	for _, tt := range tests {
		sc := complexity(tt.query, tt.history)
		var got []string
		for _, s := range sc.signals {
			got = append(got, s.name)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("complexity(%q, %d) signals mismatch (-want +got):\n%s", tt.query, tt.history, diff)
		}
		if sc.simple != tt.simple {
			t.Errorf("complexity(%q, %d) simple label = %q; want %q", tt.query, tt.history, sc.simple, tt.simple)
		}
	}
}

func TestOpenQuestion(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{"Why did the Roman Empire fall?", true},
		{"why was the league of nations a failure", false},
		{"Why did the chicken cross the road?", false},
		{"Why do leaves fall in autumn?", false}, // "why do": a settled mechanism
		{"What caused the Great Depression?", true},
		{"What causes hiccups?", false},
		{"Is free will an illusion?", true},
		{"do we have free will", true},
		{"Is it ethical to eat meat?", true},
		{"Is it safe to eat raw eggs?", false},
		{"Should cannabis be legal?", true},
		{"Should I learn Go or Rust?", false},
		{"why", false},
		{"What were the main causes of the Cold War?", true},
		{"What were the results of the election?", false},
		{"What brought about the Meiji Restoration?", true},
		{"Is capitalism good or bad?", true},
		{"Is patriotism a virtue?", true},
		{"Should college be free?", true},
		{"Should I buy a car?", false},
		{"Kafka or RabbitMQ?", true},
		{"Rust vs Go for a backend?", true},
		{"Which is better, tea or coffee?", true},
		{"Is a tomato a fruit or a vegetable?", false},
		{"Tell me a joke or a riddle", false},
		{"Python or Java or C for a first language if I want a job in two years?", false}, // too long to be a bare choice
		{"shud abortion be legal", true},
		{"y did the ussr fall apart", true},
		{"And why did it collapse?", true},
		{"Why did the Ming stop sailing?", true},
		{"Why did my build fail?", false}, // one's own things, not a society's
		{"Why has inequality widened?", true},
		{"Why have wages stagnated?", true},
		{"Why has my laptop slowed down?", false},
		{"Why has the bread gone stale?", false},
		{"Is a master's degree worth it?", true},
		{"Is it worth it?", true},
		{"Is gold worth more than silver?", false},
		{"Should gambling ads be outlawed?", true},
		{"Should eggs be refrigerated?", false},
		{"What is justice?", true},
		{"what's the self", true},
		{"whats better python or java", true},
		{"What is better, tea or coffee?", true},
		{"What is utilitarianism?", false},
		{"What is time dilation?", false},
		{"Does the end justify the means?", true},
		{"Weather vs climate?", false}, // "vs" with no purpose: the depth route decides
		{"Postgres vs MySQL for analytics?", true},
		{"Alligator vs crocodile, what's the difference?", false},
	}
	for _, tt := range tests {
		words := slices.DeleteFunc(spellOut(strings.Fields(normalise(tt.query))), func(w string) bool { return w == "," })
		if got := openQuestion(dropFillers(words)); got != tt.want {
			t.Errorf("openQuestion(%q) = %v; want %v", tt.query, got, tt.want)
		}
	}
}

func TestAsksForCode(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{"Write a Kubernetes operator in Go", true},
		{"write a python script to rename files", true},
		{"Create a React hook that debounces input", true},
		{"Fix the race condition in this Java code", true},
		{"Write a 2000-word essay on the causes of World War I", false},
		{"What is the area code for Boston?", false},
		{"Make a shopping list for tacos", false},
		{"Write a thread-safe connection pool in Java", true},
		{"Why does my React component re-render forever?", true},
		{"Write a letter to my landlord in English", false},
		{"How do I fix my bike?", false},
	}
	for _, tt := range tests {
		if got := asksForCode(strings.Fields(normalise(tt.query))); got != tt.want {
			t.Errorf("asksForCode(%q) = %v; want %v", tt.query, got, tt.want)
		}
	}
}

func TestSpellOutAndFillers(t *testing.T) {
	tests := []struct {
		query string
		want  string
	}{
		{"y did rome fall", "why did rome fall"},
		{"solve for x and y", "solve for x and y"},
		{"can u help me pls", "can you help me please"},
		{"And, okay, why did it collapse?", "why did it collapse"},
		{"ok", "ok"}, // all filler: kept
		{"critque the electoral colege", "critique the electoral colege"},
		{"desing netflix", "design netflix"},
		{"is a phd wrth it", "is a phd worth it"},
		{"does free will exsist", "does free will exist"},
		{"what caused the crash", "what caused the crash"}, // another form of a rule word, not a slip
		{"design a rate limiter", "design a rate limiter"},
		{"butter or margarine", "butter or margarine"},
	}
	for _, tt := range tests {
		words := spellOut(strings.Fields(normalise(tt.query)))
		if rest := dropFillers(words); len(rest) > 0 {
			words = rest
		}
		if got := strings.Join(words, " "); got != tt.want {
			t.Errorf("spellOut and dropFillers(%q) = %q; want %q", tt.query, got, tt.want)
		}
	}
}

func TestOneEdit(t *testing.T) {
	tests := []struct {
		typed, target string
		want          bool
	}{
		{"desgin", "design", true},    // swapped
		{"desing", "design", true},    // swapped at the end
		{"colapse", "collapse", true}, // dropped
		{"exsist", "exist", true},     // added
		{"critque", "critique", true},
		{"wrth", "worth", true},            // a vowel dropped from four letters
		{"wrh", "worth", false},            // too short
		{"sytem", "system", true},          // a consonant dropped from five letters
		{"mural", "moral", false},          // a letter changed in five letters
		{"capitolism", "capitalism", true}, // a letter changed in ten
		{"cause", "causes", false},         // the last letter is another form
		{"caused", "causes", false},        // the last letter changed
		{"analyze", "analyse", false},      // next to the end
		{"design", "design", false},        // no edit
		{"dezine", "design", false},        // two edits
		{"limiter", "limited", false},
	}
	for _, tt := range tests {
		if got := oneEdit(tt.typed, tt.target); got != tt.want {
			t.Errorf("oneEdit(%q, %q) = %v; want %v", tt.typed, tt.target, got, tt.want)
		}
	}
}

func TestNamedChoice(t *testing.T) {
	for query, want := range map[string]bool{
		"Terraform vs Pulumi?":           true,
		"Django versus Rails":            true,
		"Jenkins vs. GitHub Actions":     true,
		"Weather vs climate?":            false,
		"RAM vs ROM?":                    false,
		"vs":                             false,
		"Why is P vs NP hard to settle?": false,
	} {
		if got := namedChoice(query); got != want {
			t.Errorf("namedChoice(%q) = %v; want %v", query, got, want)
		}
	}
}

func TestShortWriting(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{"Write a limerick about a cat", true},
		{"give me a catchy slogan for a bakery", true},
		{"Write a short thank-you note to my neighbour", true},
		{"Write a report on the bakery market", false},
		{"Tell me a joke", false},
	}
	for _, tt := range tests {
		if got := shortWriting(strings.Fields(normalise(tt.query))); got != tt.want {
			t.Errorf("shortWriting(%q) = %v; want %v", tt.query, got, tt.want)
		}
	}
}

func TestLengthAsk(t *testing.T) {
	for q, want := range map[string]bool{
		"write about 2000 words on tea":     true,
		"write 2,000 words on tea":          true,
		"a 500-word essay":                  true,
		"a 499-word essay":                  false,
		"a 3-page report":                   true,
		"a 2-page summary":                  false,
		"in 100 words":                      false,
		"words and pages":                   false,
		"how many words are in 1000 pages?": false,
	} {
		words := slices.DeleteFunc(strings.Fields(normalise(q)), func(w string) bool { return w == "," })
		if got := lengthAsk(words); got != want {
			t.Errorf("lengthAsk(%q) = %v; want %v", q, got, want)
		}
	}
}

func TestComplexityMonotoneInCues(t *testing.T) {
	base := complexity("Tell me about databases", 0).value
	more := complexity("Compare databases and analyze the trade-offs for a distributed system in detail", 0).value
	if !(more > base) {
		t.Errorf("complexity with more cues = %v; want above %v", more, base)
	}
}

func TestNormalise(t *testing.T) {
	for in, want := range map[string]string{
		"What's   UP?!":         "whats up",
		"trade-offs vs. cost":   "trade offs vs cost",
		"Ünïcode ÀND digits 42": "ünïcode ànd digits 42",
		"  ":                    "",
	} {
		if got := normalise(in); got != want {
			t.Errorf("normalise(%q) = %q; want %q", in, got, want)
		}
	}
}

// bagEmbedder embeds a text as hashed word counts, so that texts sharing
// words are similar. It fails when fail is set.
type bagEmbedder struct {
	calls int
	fail  error
}

func (e *bagEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	e.calls++
	if e.fail != nil {
		return nil, e.fail
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, 64)
		for _, w := range strings.Fields(normalise(t)) {
			h := fnv.New32a()
			h.Write([]byte(w))
			v[h.Sum32()%64]++
		}
		out[i] = v
	}
	return out, nil
}

func TestExemplarRoutes(t *testing.T) {
	cfg := evalRouting()
	cfg.Exemplars = []Exemplar{
		{Name: "billing", Model: "shadow_self", Threshold: 0.7, Examples: []string{"why was my card charged twice", "refund my last invoice"}},
		{Name: "legal", Model: "bedrock_sonnet", Examples: []string{"is this contract clause enforceable"}},
	}
	emb := &bagEmbedder{}
	r, err := New(t.Context(), cfg, emb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if emb.calls != 1 {
		t.Errorf("New embedded the examples in %d calls; want 1", emb.calls)
	}
	tests := []struct {
		in         Input
		wantModel  string
		wantRule   string
		wantReason string
	}{
		{Input{Query: "Why was my card charged twice?"}, "shadow_self", RuleExemplar, "exemplar route billing (similarity 1.00)"},
		{Input{Query: "is this contract clause enforceable"}, "bedrock_sonnet", RuleExemplar, "exemplar route legal (similarity 1.00)"},
		{Input{Query: "What is the capital of France?"}, "bedrock_haiku", RuleSimple, "short factual question"},
		{Input{Query: "why was my card charged twice", Domain: "medical"}, "bedrock_sonnet", RuleDomain, "domain rule: medical"},
	}
	for _, tt := range tests {
		d, err := r.Decide(t.Context(), tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if d.Primary != tt.wantModel || d.Rule != tt.wantRule || d.Reason != tt.wantReason {
			t.Errorf("Decide(%q) = %s by %s (%q); want %s by %s (%q)", tt.in.Query, d.Primary, d.Rule, d.Reason, tt.wantModel, tt.wantRule, tt.wantReason)
		}
	}
}

func TestExemplarEmbedFailures(t *testing.T) {
	cfg := evalRouting()
	cfg.Exemplars = []Exemplar{{Name: "billing", Model: "shadow_self", Examples: []string{"refund my invoice"}}}
	boom := errors.New("embedder down")
	if _, err := New(t.Context(), cfg, &bagEmbedder{fail: boom}, nil); !errors.Is(err, boom) {
		t.Errorf("New with a failing embedder = %v; want it to wrap %v", err, boom)
	}

	emb := &bagEmbedder{}
	r, err := New(t.Context(), cfg, emb, nil)
	if err != nil {
		t.Fatal(err)
	}
	emb.fail = boom
	d, err := r.Decide(t.Context(), Input{Query: "refund my invoice"})
	if err != nil || d.Rule != RuleSimple {
		t.Errorf("Decide with the embedder down = %+v, %v; want the score to decide", d, err)
	}
}

func TestNilEmbedderSkipsExemplars(t *testing.T) {
	cfg := evalRouting()
	cfg.Exemplars = []Exemplar{{Name: "billing", Model: "shadow_self", Examples: []string{"refund my invoice"}}}
	r, err := New(t.Context(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := r.Decide(t.Context(), Input{Query: "refund my invoice"}); d.Rule == RuleExemplar {
		t.Errorf("Decide with no embedder used an exemplar route: %+v", d)
	}
}

func FuzzComplexity(f *testing.F) {
	for _, s := range []string{"", "What is 2+2?", "```go\nfunc f() {}\n```", "1. a\n2. b", "¿Qué?", "\xff\xfe", strings.Repeat("why ", 500)} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, q string, history int) {
		sc := complexity(q, history)
		if sc.value < 0 || sc.value > 1 {
			t.Errorf("complexity(%q) = %v; want within [0, 1]", q, sc.value)
		}
	})
}

func BenchmarkDecide(b *testing.B) {
	r, err := New(b.Context(), evalRouting(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Query: "Compare PostgreSQL and MongoDB for a multi-tenant SaaS application with heavy reporting", History: 3}
	b.ReportAllocs()
	for b.Loop() {
		r.Decide(b.Context(), in)
	}
}

// BenchmarkDecideDepthRoute decides a short question that the score
// calls simple, so that the depth route embeds it with the sentence
// encoder and compares it with every depth and shallow example.
func BenchmarkDecideDepthRoute(b *testing.B) {
	r, err := New(b.Context(), evalRouting(), evalEncoder(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Query: "Is nationalism a force for good?"}
	b.ReportAllocs()
	for b.Loop() {
		r.Decide(b.Context(), in)
	}
}
