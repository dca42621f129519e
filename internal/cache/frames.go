package cache

import (
	"slices"
	"strings"

	"github.com/cato-gateway/cato/internal/embed"
)

// Question frames: the words people wrap around a question, or put in
// place of its opening, without changing what it asks. The gate reads a
// question through them (see reframe): "quick question: what's a hash
// table?", "do you know how vaccines work?", "help me understand X",
// "how would one X", "is there a way to X" and "list the X" ask what
// "what's a hash table?", "how do vaccines work?", "X", "how do I X",
// "how to X" and "what are the X" ask.

// openers are word sequences that open a question without being part of
// it. They are only taken off its start (after other openers), where
// they cannot be part of what is asked: "how do you know if an egg is
// bad" keeps its "do you know".
var openers = phrases(
	// greetings and fillers
	"hi", "hello", "hey", "hey there", "hi there", "hello there", "yo", "ok", "okay", "so", "um", "please", "pls", "plz",
	"good morning", "good afternoon", "good evening",
	// announcing a question
	"quick question", "quick q", "quick one", "a quick question", "one quick question",
	"i have a question", "i've got a question", "i have a quick question", "question for you",
	"can i ask", "may i ask", "let me ask", "real quick", "just a quick question", "just curious", "out of curiosity",
	"i'm just curious", "can someone explain", "can anyone explain", "can someone tell me", "can anyone tell me",
	"anyone know", "does someone know", "i'm trying to figure out", "i'm trying to find out", "i need help", "need help",
	"help please", "please explain", "please tell me", "i'd appreciate it if you could tell me",
	"i would appreciate it if you could tell me", "i'd appreciate it if you could explain", "random question", "silly question", "dumb question", "stupid question",
	"not sure if you know but", "not sure if you know", "not sure if you can help but", "sorry to bother you but", "sorry but",
	"sorry if this is a dumb question", "sorry if this is a stupid question", "sorry if this is a silly question",
	"sorry if this is obvious", "sorry if this is a basic question", "this might be a dumb question", "this might be a stupid question",
	"this might be a silly question", "this may be a dumb question", "this may be a silly question", "this is probably a dumb question",
	"this may sound silly", "this may sound stupid", "this might sound silly", "this might sound stupid", "this might sound dumb",
	"not sure if this is a silly question", "not sure if this is a dumb question", "not sure if this is a stupid question",
	"sorry if this is basic", "this is probably basic", "this might be basic",
	// asking whether the other knows
	"do you know", "do you happen to know", "would you know", "would you happen to know", "does anyone know",
	"does anybody know", "do you have any idea", "any idea", "any ideas", "any clue", "happen to know",
	// the asker's curiosity
	"i was wondering", "i am wondering", "i'm wondering", "i wonder", "i've always wondered", "i always wondered",
	"i've been wondering", "just wondering", "i'm curious", "i am curious",
	"i'd love to know", "i would love to know", "i'd like to know", "i would like to know", "i want to know",
	"i wanna know", "i need to know", "i'd like to understand", "i want to understand", "i'm trying to understand",
	// asking for an explanation
	"help me understand", "can you help me understand", "could you help me understand", "please help me understand",
	"would you mind telling me", "would you mind explaining", "would you mind", "mind telling me", "mind explaining",
	"can you tell me", "could you tell me", "can you explain", "could you explain", "can you help me", "could you help me",
	"i was hoping you could tell me", "i was hoping you could explain", "i'm hoping you can tell me", "i'm hoping you can explain",
	"any chance you could tell me", "any chance you could explain", "any chance you know",
	"would you be able to tell me", "would you be able to explain", "are you able to tell me", "could you please tell me",
	"could you please explain", "can you please tell me", "can you please explain", "could you let me know",
	"could you please let me know", "can you let me know", "please let me know",
	"eli5", "explain like i'm five", "thanks in advance", "thank you in advance",
)

// closers are word sequences that close a question without being part
// of it: thanks, an apology, a request for brevity.
var closers = phrases(
	"thanks", "thank you", "thanks in advance", "thank you in advance", "thanks a lot", "thank you so much", "thanks so much",
	"many thanks", "cheers", "ty", "thx", "please", "pls", "plz", "in advance", "much appreciated", "appreciate it",
	"if you know", "if you can", "if possible", "in simple terms", "in plain english", "in layman's terms", "in simple words",
	"step by step", "let me know", "any help appreciated", "any help is appreciated", "any help would be appreciated",
	"thank you very much", "thanks guys", "tia", "if anyone knows",
)

// howOpeners are openers that ask how without the word: "is there a way
// to X" asks "how to X". They are read as "how".
var howOpeners = phrases(
	"is there a way to", "is there any way to", "is there a way i can", "is there a way you can", "is there a way for me to",
	"is there an easy way to", "what's the way to", "what is the way to", "what's the procedure to", "what is the procedure to",
	"how would one", "how does one", "how can one", "how should one", "how could one", "how do one", "how might one",
	"how do i go about", "how would i go about", "how should i go about", "how can i go about", "how to go about",
	"how does one go about", "how would one go about", "what's the correct way to", "what is the correct way to",
	"i'm looking for a way to", "looking for a way to", "what's the command to", "what is the command to",
	"what steps should i take to", "what steps do i need to take to", "what do i need to do to", "what do i have to do to",
	"what should i do to", "what can i do to", "what can you do to", "what can one do to", "what can be done to",
	"tips for", "any tips for", "tips on", "any tips on", "some tips for", "some tips on", "best tips for",
)

// sayOpeners ask for a translation the way "what is" does: "how do you
// say thank you in Japanese" asks "what is thank you in Japanese". They
// are read as "what is".
var sayOpeners = phrases("how do you say", "how do i say", "how would you say", "how to say", "how does one say",
	"how can i say", "how do they say", "how would i say")

// imperativeVerbs ask for the answer to a question in the imperative
// when they open it before its object: "list the symptoms of X", "name
// the planets", "state the theorem" ask "what are the symptoms of X".
var imperativeVerbs = set("list", "name", "state", "outline", "summarize", "summarise", "recap", "identify", "enumerate")

// imperativeObject are the words that may follow an imperative verb of
// imperativeVerbs: its object's article or determiner.
var imperativeObject = set("the", "a", "an", "all", "some", "me", "us", "main", "key")

// reframe unwraps toks (unwrap) and reads an imperative verb that opens
// the question as "what are". It may reuse toks.
func reframe(toks []string) []string {
	toks = unwrap(toks)
	if len(toks) > 2 && imperativeVerbs[toks[0]] && (imperativeObject[toks[1]] || numberWord[toks[1]] || isNumber(toks[1])) {
		toks = append([]string{"what", "are"}, toks[1:]...)
	} else if len(toks) > 2 && toks[0] == "sum" && toks[1] == "up" {
		toks = append([]string{"what", "are"}, toks[2:]...)
	}
	return toks
}

// unwrap takes openers and closers off toks and reads a how-opener as
// "how to" or a translation opener as "what is": what is left is the
// question itself, which both the gate and the bypass rule read ("I'm
// trying to understand how DNS works" asks "how DNS works", about
// nobody in particular). It may reuse toks.
func unwrap(toks []string) []string {
	owned := false // toks is a copy of the caller's: its words may be overwritten
	// replace puts two words in place of the first n of toks: in place
	// once toks is a copy, so that "how to go about go about…" costs no
	// more than its length.
	replace := func(n int, w0, w1 string) {
		if owned && n >= 2 {
			toks = toks[n-2:]
			toks[0], toks[1] = w0, w1
			return
		}
		toks = append([]string{w0, w1}, toks[n:]...)
		owned = true
	}
	for changed := true; changed && len(toks) > 0; {
		changed = false
		if n := howOpeners.prefix(toks); n > 0 {
			replace(n, "how", "to")
			changed = true
			continue
		}
		if n := sayOpeners.prefix(toks); n > 0 && n < len(toks) {
			replace(n, "what", "is")
			changed = true
			continue
		}
		if n := openers.prefix(toks); n > 0 && n < len(toks) {
			toks = toks[n:]
			changed = true
		}
		for len(toks) > 1 && (toks[0] == "-" || toks[0] == "but") {
			toks = toks[1:] // "quick q - what's…", "not sure, but…"
			changed = true
		}
		if n := closers.suffix(toks); n > 0 && n < len(toks) {
			toks = toks[:len(toks)-n]
			changed = true
		}
	}
	return toks
}

// phraseSet indexes word sequences, as embed.Tokens splits them, by
// their first and last words.
type phraseSet struct {
	byFirst, byLast map[string][][]string
}

func phrases(texts ...string) phraseSet {
	s := phraseSet{byFirst: map[string][][]string{}, byLast: map[string][][]string{}}
	for _, t := range texts {
		w := embed.Tokens(t)
		s.byFirst[w[0]] = append(s.byFirst[w[0]], w)
		s.byLast[w[len(w)-1]] = append(s.byLast[w[len(w)-1]], w)
	}
	return s
}

// prefix returns the length of the longest sequence of s that toks
// begins with, 0 if none.
func (s phraseSet) prefix(toks []string) int {
	best := 0
	for _, p := range s.byFirst[toks[0]] {
		if len(p) > best && len(p) <= len(toks) && equalWords(toks[:len(p)], p) {
			best = len(p)
		}
	}
	return best
}

// suffix returns the length of the longest sequence of s that toks ends
// with, 0 if none.
func (s phraseSet) suffix(toks []string) int {
	best := 0
	for _, p := range s.byLast[toks[len(toks)-1]] {
		if len(p) > best && len(p) <= len(toks) && equalWords(toks[len(toks)-len(p):], p) {
			best = len(p)
		}
	}
	return best
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// acronymTable maps common abbreviations to the words they abbreviate, as
// people type them. It is written by hand from the abbreviations' usual
// expansions (computing, organisations, medicine, money, everyday life),
// one expansion each, and keeps out those that are also words or have
// several common expansions (WHO, US, IT, AC, PR, CD, LED, AIDS, PIN, LA,
// AM, IRA, STD): a wrong expansion serves another question, a missing one only
// misses. Each expansion is read as its abbreviation (see abbreviate),
// so "What is AWS?" and "What is Amazon Web Services?" ask the same.
var acronymTable = map[string][]string{
	// computing
	"aws": {"amazon web services"}, "gcp": {"google cloud platform"}, "api": {"application programming interface"},
	"cpu": {"central processing unit"}, "gpu": {"graphics processing unit"}, "ram": {"random access memory"},
	"rom": {"read only memory"}, "ssd": {"solid state drive", "solid state disk"}, "hdd": {"hard disk drive", "hard disk", "hard drive"}, "usb": {"universal serial bus"},
	"vpn": {"virtual private network"}, "dns": {"domain name system"}, "http": {"hypertext transfer protocol"},
	"https": {"hypertext transfer protocol secure"}, "url": {"uniform resource locator"},
	"html": {"hypertext markup language"}, "css": {"cascading style sheets"}, "json": {"javascript object notation"},
	"xml": {"extensible markup language"}, "sql": {"structured query language"}, "os": {"operating system"},
	"tcp": {"transmission control protocol"}, "udp": {"user datagram protocol"}, "lan": {"local area network"},
	"wan": {"wide area network"}, "isp": {"internet service provider"}, "ide": {"integrated development environment"},
	"sdk": {"software development kit"}, "cli": {"command line interface"}, "gui": {"graphical user interface"},
	"ui": {"user interface"}, "ux": {"user experience"}, "ai": {"artificial intelligence"}, "ml": {"machine learning"},
	"nlp": {"natural language processing"}, "llm": {"large language model"}, "pdf": {"portable document format"},
	"faq": {"frequently asked questions"}, "atm": {"automated teller machine"}, "gps": {"global positioning system"},
	"lcd": {"liquid crystal display"}, "nfc": {"near field communication"}, "iot": {"internet of things"},
	"saas": {"software as a service"}, "oop": {"object oriented programming"}, "jvm": {"java virtual machine"},
	"ssh": {"secure shell"}, "ftp": {"file transfer protocol"}, "smtp": {"simple mail transfer protocol"},
	"seo": {"search engine optimization", "search engine optimisation"}, "crm": {"customer relationship management"},
	"cdn": {"content delivery network"}, "orm": {"object relational mapping"}, "jwt": {"json web token"},
	"ssl": {"secure sockets layer"}, "tls": {"transport layer security"}, "vm": {"virtual machine"},
	"ar": {"augmented reality"}, "vr": {"virtual reality"},
	// organisations and places
	"un": {"united nations"}, "eu": {"european union"}, "nato": {"north atlantic treaty organization", "north atlantic treaty organisation"},
	"nasa": {"national aeronautics and space administration"}, "fbi": {"federal bureau of investigation"},
	"cia": {"central intelligence agency"}, "imf": {"international monetary fund"},
	"wto": {"world trade organization", "world trade organisation"}, "nhs": {"national health service"},
	"irs": {"internal revenue service"}, "fda": {"food and drug administration"}, "epa": {"environmental protection agency"},
	"mit": {"massachusetts institute of technology"}, "nba": {"national basketball association"},
	"nfl": {"national football league"}, "bbc": {"british broadcasting corporation"}, "nyc": {"new york city"},
	"uae": {"united arab emirates"}, "ussr": {"soviet union", "union of soviet socialist republics"},
	"wwii": {"world war ii", "world war 2", "world war two", "second world war", "ww2"},
	"wwi":  {"world war i", "world war 1", "world war one", "first world war", "ww1"},
	// health
	"ivf": {"in vitro fertilization", "in vitro fertilisation"}, "cpr": {"cardiopulmonary resuscitation"},
	"dna": {"deoxyribonucleic acid"}, "rna": {"ribonucleic acid"}, "bmi": {"body mass index"},
	"adhd": {"attention deficit hyperactivity disorder"}, "ptsd": {"post traumatic stress disorder"},
	"ocd": {"obsessive compulsive disorder"}, "hiv": {"human immunodeficiency virus"},
	"mri": {"magnetic resonance imaging"}, "icu": {"intensive care unit"}, "iq": {"intelligence quotient"},
	"uti": {"urinary tract infection"}, "ibs": {"irritable bowel syndrome"}, "copd": {"chronic obstructive pulmonary disease"},
	"gmo": {"genetically modified organism"}, "uv": {"ultraviolet"},
	"spf": {"sun protection factor"},
	// work, money, everyday
	"gdp": {"gross domestic product"}, "ceo": {"chief executive officer"}, "cfo": {"chief financial officer"},
	"cto": {"chief technology officer"}, "hr": {"human resources"}, "asap": {"as soon as possible"},
	"diy": {"do it yourself"}, "eta": {"estimated time of arrival"}, "fyi": {"for your information"},
	"ev": {"electric vehicle"}, "etf": {"exchange traded fund"},
	"ipo": {"initial public offering"}, "apr": {"annual percentage rate"}, "roi": {"return on investment"},
	"vat": {"value added tax"}, "mba": {"master of business administration"}, "phd": {"doctor of philosophy"},
	"gpa": {"grade point average"}, "kpi": {"key performance indicator"}, "rpm": {"revolutions per minute"},
	"mph": {"miles per hour"}, "bpm": {"beats per minute"},
	// short forms of single words
	"js": {"javascript"}, "k8s": {"kubernetes"}, "tsp": {"teaspoon"}, "tbsp": {"tablespoon"}, "oz": {"ounce"},
	"kg": {"kilogram"}, "km": {"kilometer", "kilometre"},
}

// expansions indexes acronymTable's expansions by their first word.
var expansions = func() map[string][]phrase {
	m := map[string][]phrase{}
	for acr, exps := range acronymTable {
		for _, e := range exps {
			w := embed.Tokens(e)
			if len(w) == 1 {
				continue // see shortForms
			}
			for i := range w {
				w[i] = canonical(w[i])
			}
			m[w[0]] = append(m[w[0]], phrase{w, acr})
		}
	}
	return m
}()

// shortForms maps the abbreviations of acronymTable that stand for one
// word ("js", "tsp") to that word: they are read the other way round,
// the word for the abbreviation, so that a misspelt word still pairs
// ("javscript" / "JavaScript" / "JS").
var shortForms = func() map[string]string {
	m := map[string]string{}
	for acr, exps := range acronymTable {
		for _, e := range exps {
			if w := embed.Tokens(e); len(w) == 1 {
				m[acr] = w[0]
				break
			}
		}
	}
	return m
}()

// phrase is a run of words read as one token: an expansion read as its
// abbreviation, or a multi-word synonym read as its group's key.
type phrase struct {
	words []string // canonical
	token string
}

// phraseAt returns the longest phrase of index whose words toks holds
// from i on, or the zero phrase. heads (the first three letters of the
// phrases' first words) spare most tokens the canonical form's lookup.
func phraseAt(toks []string, i int, heads map[string]bool, index map[string][]phrase) phrase {
	var best phrase
	if !mayStart(heads, toks[i]) {
		return best
	}
	for _, p := range index[canonical(toks[i])] {
		if len(p.words) > len(best.words) && len(p.words) <= len(toks)-i && sameCanonical(toks[i:i+len(p.words)], p.words) {
			best = p
		}
	}
	return best
}

// abbreviate replaces in toks each expansion of acronymTable by its
// abbreviation, and marks the abbreviation in caps as written in
// capitals: it names the same thing as the abbreviation does. An
// abbreviation of one word is replaced by the word instead (shortForms). It may
// reuse toks and write to caps, which it returns (made when nil).
func abbreviate(toks []string, caps map[string]uint8) ([]string, map[string]uint8) {
	out := toks[:0]
	for i := 0; i < len(toks); i++ {
		if long, ok := shortForms[toks[i]]; ok {
			out = append(out, long)
			if f := caps[toks[i]] & capital; f != 0 {
				caps[long] |= f // "JS": a name, as "JavaScript" is
			}
			continue
		}
		best := phraseAt(toks, i, expansionHeads, expansions)
		if best.token == "" {
			out = append(out, toks[i])
			continue
		}
		out = append(out, best.token)
		i += len(best.words) - 1
		if caps == nil {
			caps = map[string]uint8{}
		}
		caps[best.token] |= acronym | capital
	}
	return out, caps
}

func sameCanonical(toks, words []string) bool {
	for i, w := range words {
		if toks[i] != w && canonical(toks[i]) != w {
			return false
		}
	}
	return true
}

// requestAux open a request rather than a yes-no question when "you"
// follows: "can you explain X?", "would you list X?".
var requestAux = set("can", "could", "would", "will")

// polarOrHow reports whether toks are a yes-no question (an auxiliary
// first, no question word: "can I freeze cooked rice?", "should you
// stretch before running?"; a request such as "can you explain X?" is
// not one) and whether they ask how, the manner: "how", not before a
// quantity word ("how many").
func polarOrHow(toks []string) (polar, how bool) {
	wh := false
	for i, t := range toks {
		if whWord[t] {
			wh = true
		}
		if t == "how" && (i+1 == len(toks) || !howQuantity[toks[i+1]]) {
			how = true
		}
	}
	polar = len(toks) > 1 && auxiliary[toks[0]] && !wh && !(requestAux[toks[0]] && toks[1] == "you")
	return polar, how
}

var modal = set("can", "could", "would", "should", "will", "may", "might", "must", "shall")

// mainVerbDo reports whether toks[i] is "do" as a main verb after an
// auxiliary ("what does HR do?", "what can a nurse do?"), which asks
// what something does, not a do-support auxiliary.
func mainVerbDo(toks []string, i int) bool {
	if toks[i] != "do" && toks[i] != "does" && toks[i] != "did" {
		return false
	}
	if i == 0 || toks[i-1] == "to" {
		return false
	}
	for _, t := range toks[:i] {
		if doAux[t] || modal[t] {
			return true
		}
	}
	return false
}

// agentNoun reports whether toks, the words after "who is" or "who
// was", name the question's subject by a role over an object: "the
// teacher of Plato", "Plato's teacher". Such a question asks who did
// something to the object ("who taught Plato"), not whom the object did
// it to ("who did Plato teach").
func agentNoun(toks []string) bool {
	k := 0
	if k < len(toks) && (toks[k] == "the" || toks[k] == "a" || toks[k] == "an") {
		k++
	}
	if k+1 < len(toks) && !functionWord[toks[k]] && toks[k+1] == "of" {
		return true
	}
	n := len(toks)
	return n >= 3 && toks[n-2] == "'s" && !functionWord[toks[n-1]]
}

// handPhraseIndex indexes the multi-word entries of synonymGroup
// ("lose_weight", "put_out") by the canonical form of their first word.
var handPhraseIndex = func() map[string][]phrase {
	m := map[string][]phrase{}
	for w := range synonymGroup {
		if !strings.Contains(w, "_") {
			continue
		}
		words := strings.Split(w, "_")
		for i := range words {
			words[i] = canonical(words[i])
		}
		m[words[0]] = append(m[words[0]], phrase{words, w})
	}
	return m
}()

// handPhrases joins the words of a multi-word entry of synonymGroup into
// one token, "lost weight" → "lose_weight", so that it
// pairs with the entry's synonyms ("shed pounds"). It may reuse toks.
func handPhrases(toks []string) []string {
	out := toks[:0]
	for i := 0; i < len(toks); i++ {
		best := phraseAt(toks, i, handPhraseHeads, handPhraseIndex)
		if best.token == "" {
			out = append(out, toks[i])
			continue
		}
		out = append(out, best.token)
		i += len(best.words) - 1
	}
	return out
}

// keywordCounts reads a keyword query that names what a how-many or
// how-much question counts as that question: "avocado calories" asks
// "how many calories are in an avocado?", "ounces in a cup" asks "how
// many ounces are in a cup?". The ask is dropped from the question, with
// its "many" or "much", when the other is a keyword query (no clause, no
// question word) that has the counted word. It returns a and b unchanged
// otherwise; it never writes to them.
func keywordCounts(a, b gist) (gist, gist) {
	for _, swap := range []bool{false, true} {
		if swap {
			a, b = b, a
		}
		if len(a.asks) == 1 && (a.asks[0] == "how many" || a.asks[0] == "how much") && !b.clause && len(b.asks) == 0 && !b.how {
			// The counted word follows "many" ("much" is a function word).
			q := canonical(strings.TrimPrefix(a.asks[0], "how "))
			j := slices.Index(a.content, q)
			if j+1 < len(a.content) {
				if _, ok := b.role[a.content[j+1]]; ok {
					a.asks = nil
					a = dropContent(a, q)
				}
			}
		}
		if swap {
			a, b = b, a
		}
	}
	return a, b
}

// accents folds the Latin letters with diacritics that English words
// borrow ("résumé", "café", "naïve") onto the plain letters people also
// type for them.
var accents = strings.NewReplacer("á", "a", "à", "a", "â", "a", "ä", "a", "ã", "a", "å", "a", "ç", "c",
	"é", "e", "è", "e", "ê", "e", "ë", "e", "í", "i", "ì", "i", "î", "i", "ï", "i", "ñ", "n",
	"ó", "o", "ò", "o", "ô", "o", "ö", "o", "õ", "o", "ú", "u", "ù", "u", "û", "u", "ü", "u",
	"É", "E", "È", "E", "Á", "A", "À", "A", "Ç", "C", "Ö", "O", "Ü", "U")

// foldAccents returns text with accents folded; text itself when it has
// none, without allocating.
func foldAccents(text string) string {
	for i := 0; i < len(text); i++ {
		if text[i] >= 0x80 {
			return accents.Replace(text)
		}
	}
	return text
}

// expansionHeads and handPhraseHeads hold the first three letters of the
// first words of expansions and handPhraseIndex: a token that begins
// otherwise (and whose irregular form does too) starts none of them, and
// is not stemmed to find out.
var (
	expansionHeads = headsOf(func(yield func(string)) {
		for w := range expansions {
			yield(w)
		}
	})
	handPhraseHeads = headsOf(func(yield func(string)) {
		for w := range handPhraseIndex {
			yield(w)
		}
	})
)

func headsOf(words func(func(string))) map[string]bool {
	m := map[string]bool{}
	words(func(w string) { m[w[:min(3, len(w))]] = true })
	return m
}

// mayStart reports whether token t may start a phrase of heads: its
// first three letters, or its irregular form's, are among them.
func mayStart(heads map[string]bool, t string) bool {
	if heads[t[:min(3, len(t))]] {
		return true
	}
	v, ok := variant[t]
	return ok && heads[v[:min(3, len(v))]]
}

var (
	causeWord   = set("cause", "causes", "caused", "reason", "reasons")
	causeMarker = set("of", "for", "behind")
)

// causeAsk returns, for the "what" at toks[i], the offset of the ask's
// last word when the question asks for a cause the way "why" does: "what
// causes X", "what caused X", "what is the cause of X", "what are the
// reasons for X" (the marker is part of the ask: X is not behind it);
// 0 otherwise. "What does X cause?" asks for an effect,
// and "what is the cause" without "of" or "for" names no X.
func causeAsk(toks []string, i int) int {
	if i+2 < len(toks) && (toks[i+1] == "causes" || toks[i+1] == "caused") {
		return 1
	}
	if i+3 < len(toks) && (toks[i+1] == "led" || toks[i+1] == "leads") && toks[i+2] == "to" {
		return 2 // "what led to the fall of Rome"
	}
	if i+4 < len(toks) && (toks[i+1] == "is" || toks[i+1] == "are" || toks[i+1] == "was" || toks[i+1] == "were" || toks[i+1] == "'s") &&
		toks[i+2] == "the" {
		j := i + 3
		if causeModifier[toks[j]] {
			j++ // "what are the main causes of X"
		}
		if j+1 < len(toks) && causeWord[toks[j]] && toks[j] != "caused" && causeMarker[toks[j+1]] {
			return j + 1 - i
		}
		// "what is the reason cats purr", "what's the reason why…": a
		// clause follows.
		if j+1 < len(toks) && (toks[j] == "reason" || toks[j] == "reasons") {
			if toks[j+1] == "that" || toks[j+1] == "why" {
				j++
			}
			return j - i
		}
	}
	return 0
}

// causeModifier may stand between "the" and a cause word without
// changing the ask: "the main causes of X".
var causeModifier = set("main", "primary", "principal", "chief", "major", "root", "underlying", "leading")

// plainQuestion reads an embedded question and a how-to's possessive as
// the plain question: "what a regulator does" (after "tell me") asks
// "what does a regulator do"; in "how do I get my toddler to sleep" the
// steps are the same for any toddler, so "my" reads as "a"; and "our"
// before what is everyone's ("our solar system") reads as "the". It may
// reuse toks.
func plainQuestion(toks []string) []string {
	if len(toks) > 3 && (toks[0] == "tell" || toks[0] == "show") && toks[1] == "me" && toks[2] == "what" {
		toks = toks[2:] // "tell me what X does"
	}
	n := len(toks)
	if n > 2 && toks[0] == "what" && !auxiliary[toks[1]] && (toks[n-1] == "does" || toks[n-1] == "do" || toks[n-1] == "did") {
		out := make([]string, 0, n+1)
		out = append(out, "what", toks[n-1])
		out = append(out, toks[1:n-1]...)
		toks = append(out, "do")
	}
	howTo := howToAsk(toks)
	for i, t := range toks {
		switch {
		case everyones(toks, i):
			toks[i] = "the"
		// Not after "find": "find my phone" locates it, "find a phone"
		// chooses one.
		case howTo && (t == "my" || t == "our") && (i == 0 || toks[i-1] != "find" && toks[i-1] != "locate"):
			toks[i] = "a"
		}
	}
	return toks
}

// howToAsk reports whether toks ask for steps: "how to…", "how do I…",
// "how can I…", "show me how to…". The steps do not depend on whose
// thing it is: "my" in them is anyone's, for the bypass rule and the
// gate alike.
func howToAsk(toks []string) bool {
	has := func(i int, words ...string) bool { return i < len(toks) && slices.Contains(words, toks[i]) }
	return has(0, "how") && (has(1, "to") || has(1, "do", "can", "should", "would", "could") && has(2, "i")) ||
		has(0, "show", "tell", "teach") && has(1, "me", "us") && has(2, "how") && has(3, "to")
}

// everyones reports whether the "our" at toks[i] is everyone's: "our
// solar system", "our bodies"; not "our heart rate", "our blood test",
// the asker's own.
func everyones(toks []string, i int) bool {
	return toks[i] == "our" && i+1 < len(toks) && everyonesNoun[canonical(toks[i+1])] &&
		!(i+2 < len(toks) && ownMeasure[toks[i+2]])
}

var getStem = canonical("get")

// gotFor returns only, the words of one question missing from other,
// without a synonym of "get" when other dropped its "get" as a frame
// word and has one word fewer missing (otherOnly): "How do I obtain a
// visa?" = "How do I get a visa?". It never writes to only.
func gotFor(only []string, other gist, otherOnly []string) []string {
	if !other.get || len(only) != len(otherOnly)+1 {
		return only
	}
	for i, x := range only {
		if synonyms(x, getStem) {
			return slices.Delete(slices.Clone(only), i, i+1)
		}
	}
	return only
}
