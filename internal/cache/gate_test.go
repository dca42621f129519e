package cache

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestAgree(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"What is Python?", "What is Python programming?", true},
		// A first letter is no slip between names; "find my" is no "find a".
		{"What is Kubuntu?", "What is Lubuntu?", false},
		{"How do I find my phone?", "How do I find a phone?", false},
		// A compound's two words stand next to each other.
		{"What is a firewall?", "What is a fire in a wall?", false},
		{"How big is a football?", "How big is the foot of a ball?", false},
		// agent and patient nouns of one verb; arithmetic words need a number
		{"Who was the trainer of Ali?", "Who was the trainee of Ali?", false},
		{"Who is the lessor?", "Who is the lessee?", false},
		{"Who are Tesla's employers?", "Who are Tesla's employees?", false},
		{"Who was Einstein's employer?", "Who employed Einstein?", true},
		{"What is the Times?", "What is times?", false},
		{"What is the Sun?", "What is Sun?", false},
		{"What is the Times?", "What is Times?", false},
		{"What is the WTO?", "What is WTO?", true},
		{"what is the sun", "what is sun", true},
		{"What is 7 times 8?", "what is 7 times 8", true},
		{"What is 7 times 8?", "What is 7 plus 8?", false},
		// a compound written as one word or two
		{"What time zone is Chicago in?", "chicago timezone", true},
		{"How do I build a web site?", "How do I build a website?", true},
		{"What is a house boat?", "What is a boat house?", false},
		// the ask, read whole: cause asks, an embedded question, a how-to's "my"
		{"What caused the fall of Rome?", "What were the causes of the fall of Rome?", true},
		{"What causes acne?", "What are the main causes of acne?", true},
		{"What does acne cause?", "What are the main causes of acne?", false},
		{"What does a fuel pressure regulator do?", "Tell me what a fuel pressure regulator does.", true},
		{"What does HR do?", "Tell me what HR stands for.", false},
		{"How do I get my toddler to sleep through the night?", "Tips for getting a toddler to sleep through the night?", true},
		{"Name the planets in our solar system.", "What are the planets in the solar system?", true},
		// a how-many ask counts one thing; "the reason", "led to" ask why
		{"How many euros is 100 dollars?", "How many dollars is 100 euros?", false},
		{"How many legs does a spider have?", "A spider has how many legs?", true},
		{"Why do cats purr?", "What is the reason cats purr?", true},
		{"Why do cats purr?", "What's the reason why cats purr?", true},
		{"What led to the fall of the Western Roman Empire?", "Why did the Western Roman Empire fall?", true},
		{"What did the fall of the Western Roman Empire lead to?", "Why did the Western Roman Empire fall?", false},
		// a name behind a marker, whole; lower case reads a run of words as one
		{"How long is a flight from New York to Los Angeles?", "how long is a flight from new york to los angeles", true},
		{"How long is a flight from New York to Los Angeles?", "How long is a flight from Los Angeles to New York?", false},
		{"how long is a flight from new york to los angeles", "how long is a flight from los angeles to new york", false},
		// a slip of a key in a word that is not one; "have on" is not "wear"
		{"What are the symptoms of dehydration?", "wat are the symptons of dehydation", true},
		{"What is a sprain?", "What is a strain?", false},
		{"How many players does a rugby team have on the field?", "Would you be able to tell me how many players a rugby team has on the field?", true},
		// phrases and slips: "change the name of", "more quickly", "wrte",
		// "teh"; a particle before a wh-word is a preposition
		{"How do I rename a column in pandas?", "How do I change the name of a column in pandas?", true},
		{"How do I memorize vocabulary faster?", "How do I memorize vocabulary more quickly?", true},
		{"How do I write a haiku?", "how do i wrte a haiku", true},
		{"What is the capital of Mongolia?", "whats teh capital of mongolia", true},
		{"In what year was the first Tour de France held?", "The first Tour de France was held in what year?", true},
		{"Thanks in advance! What is impasto in painting?", "What is impasto in painting?", true},
		// a count noun against a mass noun
		{"What is a polo?", "What is polo?", false},
		{"What is a glass?", "What is glass?", false},
		{"what is a blockchain", "what is blockchain", true},
		{"What is a haiku?", "Define haiku.", true},
		// question frames, abbreviations, multi-word synonyms
		{"Quick question: what is a mutex?", "What is a mutex?", true},
		{"Do you know how tides work?", "How do tides work?", true},
		{"How do you know if an egg is bad?", "Is an egg bad?", false},
		{"How would one descale a kettle?", "How do I descale a kettle?", true},
		{"Is there a way to merge two PDFs?", "How can I merge two PDFs?", true},
		{"List the causes of the French Revolution", "What were the causes of the French Revolution?", true},
		{"Can I freeze milk?", "How can I freeze milk?", false},
		{"Should you stretch before a run?", "How do you stretch before a run?", false},
		{"What is the NFL?", "What is the National Football League?", true},
		{"What is the World Trade Organization?", "What is the World Health Organization?", false},
		{"What does CRM do?", "What is the purpose of CRM?", true},
		{"What does CRM do?", "What does CRM stand for?", false},
		{"What is a function?", "What is a job?", false},
		{"What is a recipe?", "What is cooking?", false},
		{"Who was the teacher of Socrates?", "Who did Socrates teach?", false},
		{"Who was Plato's teacher?", "Who did Plato teach?", false},
		{"Who was Haydn's teacher?", "Who taught Haydn?", true},
		{"Who was Beethoven's teacher?", "Who did Beethoven teach?", false},
		{"How do I switch off a router?", "How do I turn off a router?", true},
		{"How do I switch on a router?", "How do I switch off a router?", false},
		{"How do I lose weight?", "How do I gain weight?", false},
		{"How many grams are in a pound?", "grams in a pound", true},
		{"How many pounds are in a gram?", "grams in a pound", false},
		{"How much does a kayak cost?", "What is the price of a kayak?", true},
		{"How much does a kayak weigh?", "What is the price of a kayak?", false},
		{"How long do dogs live?", "What is the lifespan of a dog?", true},
		{"How long is a dog?", "What is the lifespan of a dog?", false},
		{"How many people live in Chile?", "What is the population of Chile?", true},
		{"How many cities are in Chile?", "What is the population of Chile?", false},
		{"What caused the fall of Rome?", "Why did Rome fall?", true},
		{"What is the reason for leap years?", "Why are there leap years?", true},
		{"What does acne cause?", "Why acne?", false},
		{"What causes hiccups?", "What cures hiccups?", false},
		{"What steps should I take to become a pilot?", "How do I become a pilot?", true},
		{"How do I obtain a fishing license?", "How do I get a fishing license?", true},
		{"How do I obtain a fishing license?", "How do I get a hunting license?", false},
		{"How do I get a fishing license?", "How do I renew a fishing license?", false},
		{"How do you say goodbye in Italian?", "What is goodbye in Italian?", true},
		{"How do you say goodbye in Italian?", "How do you say goodbye in Spanish?", false},
		{"How do I go about learning Welsh?", "How do I learn Welsh?", true},
		{"What is JS?", "what is javscript", true},
		{"How many tbsp are in a cup?", "How many tablespoons are in a cup?", true},
		{"How many tsp are in a cup?", "How many tablespoons are in a cup?", false},
		{"What is Python?", "What is Java?", false},
		{"What is Python?", "what is python", true},
		{"How do I sort a list in Python?", "What's the way to sort a Python list?", true},
		{"How do I fix a flat tire?", "How can I repair a flat tyre?", true},
		{"Is Python compiled?", "Is Python not compiled?", false},
		{"Why can't dogs eat chocolate?", "Why can dogs eat chocolate?", false},
		{"What is 2+2?", "What is 2+3?", false},
		{"What is 12 times 12?", "What is 12 * 12?", true},
		{"What is C++?", "What is C#?", false},
		{"Convert Celsius to Fahrenheit", "Convert Fahrenheit to Celsius", false},
		{"How do I convert Celsius to Fahrenheit?", "How to convert from Celsius to Fahrenheit?", true},
		{"What is 100 Fahrenheit in Celsius?", "What is 100 Celsius in Fahrenheit?", false},
		{"Is Python faster than Java?", "Is Java faster than Python?", false},
		{"Does Microsoft own GitHub?", "Does GitHub own Microsoft?", false},
		{"Who wrote Hamlet?", "When was Hamlet written?", false},
		{"How long is a marathon?", "How long does a marathon take?", false},
		{"What is the largest planet?", "What is the biggest planet?", true},
		{"What is the largest planet?", "What is the smallest planet?", false},
		{"What is object-oriented programming?", "Explain object oriented programming.", true},
		{"What is programming?", "What is a language?", false},
		{"What is programming?", "Explain programming", true},
		{"Who did Caesar betray?", "Who betrayed Caesar?", false},
		{"What does a snake eat?", "What eats a snake?", false},
		{"What languages does Google use?", "What does Google use?", true},
		{"What is 20 divided by 4?", "What is 4 divided by 20?", false},
		{"What is a Ruby?", "What is Ruby?", false},
		{"What is a kernel?", "What is the kernel?", false},
		{"What is the Enlightenment?", "What is enlightenment?", false},
		{"What is the internet?", "what is the internet", true},
		{"How do I delete a branch in Git?", "How do I remove a git branch?", true},
		{"How do I redirect HTTP to HTTPS?", "How do I redirect HTTPS to HTTP?", false},
		{"What is the best laptop?", "What is a laptop?", false},
		{"What is the best way to learn guitar?", "How do I learn guitar?", true},
		{"What is Kafka?", "Can you tell me what Kafka is?", true},
		{"What does DNS stand for?", "DNS is short for what?", true},
		{"What is JavaScript?", "what is javscript", true},
		{"What is an algorithm?", "what is an algoritm", true},
		{"What is a sprain?", "What is a strain?", false},
		{"What is the difference between affect and effect?", "What is the difference between affect and affect?", false},
		{"What is an annuity?", "Thanks in advance, what is an annuity?", true},
		{"What is the tallest mountain in Africa?", "Sorry to bother you, but what's the tallest mountain in Africa?", true},
		{"What does the fox say?", "what does the fox say lol", true},
		{"How do I quit smoking?", "How do I stop smoking?", true},
		{"How do I get rid of ants?", "How do I eliminate ants?", true},
		{"How do I stop a Windows update?", "How do I start a Windows update?", false},
		{"What is the best cheap laptop?", "What is the best budget laptop?", true},
		{"What is the best cheap laptop?", "What is the best expensive laptop?", false},
		{"When was Google founded?", "In what year was Google founded?", true},
		{"When was Google founded?", "In what month was Google founded?", false},
		{"", "", true},
		// WordNet synonyms and derived forms (rule: lexicon)
		{"How do I mend a torn jacket?", "How do I repair a torn jacket?", true},
		{"How do I begin a podcast?", "How do I commence a podcast?", true},
		{"How do I assemble a desk?", "How do I put together a desk?", true},
		{"How do I get rid of mold?", "How do I eliminate mold?", true},
		{"How do I set up Node.js?", "How do I setup Node.js?", true},
		{"How do I increase my credit limit?", "How do I decrease my credit limit?", false},
		{"How do I fix a bike?", "How do I pickle a bike?", false},
		// how-quantity asks stated as a noun (rule: dimensionAsks)
		{"How deep is Lake Baikal?", "What is the depth of Lake Baikal?", true},
		{"How old is the Great Wall of China?", "What is the age of the Great Wall of China?", true},
		{"How large is the Pacific Ocean?", "How big is the Pacific Ocean?", true},
		{"How deep is Lake Baikal?", "What is the width of Lake Baikal?", false},
		{"How tall is the Eiffel Tower?", "What is the weight of the Eiffel Tower?", false},
		// order of shared words in active clauses (rule: orderSwap)
		{"Are all squares rhombuses?", "Are all rhombuses squares?", false},
		{"Why do dogs chase cats?", "Why do cats chase dogs?", false},
		{"How many legs does a spider have?", "A spider has how many legs?", true},
		{"What is the difference between TCP and UDP?", "What is the difference between UDP and TCP?", true},
		{"Which is faster, Go or Rust?", "Which is faster, Rust or Go?", true},
		// passive and active (rules: voiceSwap, whRoleOf)
		{"Who wrote the Odyssey?", "The Odyssey was written by whom?", true},
		{"Did Brutus betray Caesar?", "Was Caesar betrayed by Brutus?", true},
		{"Did Caesar betray Brutus?", "Was Caesar betrayed by Brutus?", false},
		{"Who was betrayed by Caesar?", "Who betrayed Caesar?", false},
		{"Who was Caesar betrayed by?", "Who betrayed Caesar?", true},
		{"Does Microsoft own GitHub?", "Is GitHub owned by Microsoft?", true},
		{"Does Microsoft own GitHub?", "Is Microsoft owned by GitHub?", false},
		// a bare plural after "is" names something (rule: formPluralName)
		{"What is a panda?", "What is pandas?", false},
		{"What do pandas eat?", "What does a panda eat?", true},
	}
	for _, tt := range tests {
		if got := agree(tt.a, tt.b); got != tt.want {
			t.Errorf("agree(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
		if got := agree(tt.b, tt.a); got != tt.want {
			t.Errorf("agree(%q, %q) = %v; want %v (symmetry)", tt.b, tt.a, got, tt.want)
		}
	}
}

func FuzzAgree(f *testing.F) {
	for _, s := range []string{"What is Python?", "Convert 10 km to miles", "Who was Caesar betrayed by?", "how do i get rid of it",
		"How deep is the depth of deep?", "Is it not true that C++ > C#?", "x vs y vs x", "to to to", "the of in", "ünïcödé 3.14",
		"is it", "is it worth", "what is it like to", "explain for me", "our", "why do we", "tell me what does", "how many",
		"what led to", "what is the reason why", "time zone timezone", "sorry if this is a dumb question but"} {
		f.Add(s, "What is Python programming?")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !agree(a, a) {
			t.Errorf("agree(%q, itself) = false", a)
		}
		agree(a, b)
		bypassReason(&Query{Text: a}, &Options{}) // the bypass rule reads the same text
	})
}

// BenchmarkGate measures what the content gate costs in a lookup: the
// query's gist once (Gist), then a comparison per candidate above the
// threshold (Compare; entries keep their gist from insertion).
func BenchmarkGate(b *testing.B) {
	q, e := "How do I sort a list of dictionaries by a key in Python?", "What's the way to sort a Python list of dictionaries by key?"
	b.Run("Gist", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			gistOf(q)
		}
	})
	b.Run("Compare", func(b *testing.B) {
		gq, ge := gistOf(q), gistOf(e)
		b.ReportAllocs()
		for b.Loop() {
			agreeGists(gq, ge)
		}
	})
	// Two of the longest questions the cache takes, with no word in
	// common: the comparison must give up early, not pair word by word.
	b.Run("CompareLongest", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(3, 4))
		gq, ge := gistOf(wordSalad(rng, DefaultMaxEntryBytes)), gistOf(wordSalad(rng, DefaultMaxEntryBytes))
		b.ReportAllocs()
		for b.Loop() {
			agreeGists(gq, ge)
		}
	})
	// The same longest question twice, but for its last word.
	b.Run("CompareLongestAlike", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(5, 6))
		text := wordSalad(rng, DefaultMaxEntryBytes-8)
		gq, ge := gistOf(text+" alpha"), gistOf(text+" omega")
		b.ReportAllocs()
		for b.Loop() {
			agreeGists(gq, ge)
		}
	})
}

// TestGateCost reports the gate's cost, so that the figure in docs/cache.md
// can be re-read with go test -v, and bounds it.
func TestGateCost(t *testing.T) {
	gist := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			gistOf("How do I sort a list of dictionaries by a key in Python?")
		}
	})
	t.Logf("content gate: %d ns per query (gist), plus a comparison per candidate (BenchmarkGate/Compare)", gist.NsPerOp())
	if d := time.Duration(gist.NsPerOp()); d > time.Millisecond {
		t.Errorf("the gate takes %v per query; want well under a millisecond", d)
	}
}
