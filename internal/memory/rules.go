package memory

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RuleExtractor finds facts in plain statements by rule, without a model:
// the default when the extraction model is simulated. It reads the user's
// own first-person statements in the query ("My name is …", "Please call
// me …", "I live in / moved to …", "I work at / for …", "My favourite … is
// …", "I am … years old", "I'm allergic to …", "My … is …", their
// negations) and general statements "X is Y"; in the response it reads
// only "X is Y" about what the query asked ("What is X?"). It skips
// questions, conditions, wishes and plans, the past, other people and
// objects that are not names. docs/memory.md lists the rules. The zero
// value is ready; it is safe for concurrent use.
type RuleExtractor struct{}

var _ Extractor = RuleExtractor{}

// Name returns "rules".
func (RuleExtractor) Name() string { return "rules" }

// Confidence of rule-extracted facts: a first-person statement of a known
// predicate, a general statement by the user, and one in an answer.
const (
	ruleConfidence     = 0.9
	generalConfidence  = 0.7
	responseConfidence = 0.6
)

// Extract returns the facts of in.
func (RuleExtractor) Extract(_ context.Context, in *Interaction) ([]Candidate, error) {
	var out []Candidate
	add := func(c Candidate) {
		for _, o := range out {
			if o.Subject == c.Subject && o.Predicate == c.Predicate && normalObject(o.Object) == normalObject(c.Object) && o.Negated == c.Negated {
				return
			}
		}
		out = append(out, c)
	}
	for _, s := range sentences(in.Query) {
		if s.question || startsQuestion(s.text) {
			continue
		}
		for _, cl := range clauses(s.text) {
			found := userFacts(cl)
			for _, c := range found {
				add(c)
			}
			if len(found) == 0 {
				if c, ok := generalFact(cl); ok {
					c.Confidence = generalConfidence
					add(c)
				}
			}
		}
	}
	if topic := queryTopic(in.Query); topic != "" {
		for _, s := range sentences(in.Response) {
			if s.question {
				continue
			}
			if c, ok := generalFact(s.text); ok && c.Subject == topic {
				c.Confidence = responseConfidence
				add(c)
			}
		}
	}
	return out, nil
}

type sentence struct {
	text     string
	question bool
}

// abbreviations end in a period that does not end a sentence.
var abbreviations = map[string]bool{"st": true, "dr": true, "mr": true, "mrs": true, "ms": true, "jr": true, "sr": true,
	"mt": true, "e.g": true, "i.e": true, "u.s": true, "u.k": true, "no": true, "vs": true, "etc": true, "inc": true, "ltd": true, "co": true}

// sentences splits text at sentence ends (., !, ?, ; and new lines), and
// at ": ", keeping whether each ended with a question mark.
func sentences(text string) []sentence {
	var out []sentence
	start := 0
	emit := func(end int, q bool) {
		if t := strings.TrimSpace(text[start:end]); t != "" {
			out = append(out, sentence{text: t, question: q})
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch c {
		case '\n', ';':
			emit(i, false)
			start = i + 1
		case ':':
			if i+1 < len(text) && text[i+1] == ' ' {
				emit(i, false)
				start = i + 1
			}
		case '?', '!':
			emit(i, c == '?')
			start = i + 1
		case '.':
			if i+1 < len(text) && text[i+1] != ' ' && text[i+1] != '\n' {
				continue // 3.5, J.P.
			}
			w := lastWord(text[start:i])
			if abbreviations[strings.ToLower(w)] || (len(w) == 1 && unicode.IsUpper(rune(w[0]))) {
				continue
			}
			emit(i, false)
			start = i + 1
		}
	}
	emit(len(text), false)
	return out
}

func lastWord(s string) string {
	s = strings.TrimRight(s, " ")
	if i := strings.LastIndexAny(s, " \t\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// questionStart matches the opening of a question typed without a
// question mark.
var questionStart = regexp.MustCompile(`(?i)^(?:what|where|who|whom|whose|which|why|how|when|do|does|did|is|are|am|was|were|can|could|would|should|will|shall|may|have|has)\b`)

func startsQuestion(s string) bool { return questionStart.MatchString(s) }

// clauseBreak finds where a coordinated clause with a first-person
// subject starts: "…, and I work at…", "… and my name is…", "Hey, I'm…".
var clauseBreak = regexp.MustCompile(`(?i)(?:,\s*(?:(?:and|but|so|also)\s+)?|\s+(?:and|but|so)\s+)(?:i|i'm|i've|i am|i have|my|we|we've)\b`)

// clauses splits a sentence into clauses at clauseBreak.
func clauses(s string) []string {
	var out []string
	for {
		loc := clauseBreak.FindStringIndex(s)
		if loc == nil {
			break
		}
		// The clause starts at the subject: skip the comma and conjunction.
		sub := s[loc[0]:loc[1]]
		j := strings.LastIndexAny(sub, " ,")
		start := loc[0] + j + 1
		if head := strings.TrimSpace(s[:loc[0]]); head != "" {
			out = append(out, head)
		}
		s = s[start:]
		if loc[0] == 0 && start == 0 {
			break
		}
	}
	if t := strings.TrimSpace(s); t != "" {
		out = append(out, t)
	}
	return out
}

// blockers are words that, before a statement in its clause, make it
// something other than a plain statement of the present: a condition, a
// wish, a report, a possibility.
var blockers = regexp.MustCompile(`(?i)\b(?:if|unless|whether|suppose|supposing|imagine|pretend|wish|hope|want|wanted|would|could|might|maybe|perhaps|says|said|thinks|thought|told|dreamt|dreamed|once|used)\b`)

// userRule is one pattern of a first-person statement. When negatable,
// the pattern's first group, when it matched, holds the negation.
type userRule struct {
	re        *regexp.Regexp
	predicate string
	// kind says how the text after the match is read.
	kind      objectKind
	negatable bool
}

type objectKind int

const (
	kindName objectKind = iota
	kindCallName
	kindPlace
	kindOrg
	kindAge
	kindAgeAlone
	kindList
)

var userRules = []userRule{
	{regexp.MustCompile(`(?i)\bmy name(?:'s| is)\s+(not\s+)?`), PredName, kindName, true},
	{regexp.MustCompile(`(?i)\bmy name (isn't)\s+`), PredName, kindName, true},
	{regexp.MustCompile(`(?i)\bI(?:'m| am)\s+(not\s+)?called\s+`), PredName, kindName, true},
	{regexp.MustCompile(`(?i)\bI go by\s+`), PredName, kindCallName, false},
	{regexp.MustCompile(`(?i)\bcall me\s+`), PredName, kindCallName, false},

	{regexp.MustCompile(`(?i)\b(?:I|we)\s+((?:do not|don't|no longer)\s+)?(?:(?:still|now|currently|also|actually)\s+)?live\s+in\s+`), PredResidence, kindPlace, true},
	{regexp.MustCompile(`(?i)\bI(?:'m| am)\s+((?:not|no longer)\s+)?(?:(?:currently|now|still)\s+)?(?:living|based|staying)\s+in\s+`), PredResidence, kindPlace, true},
	{regexp.MustCompile(`(?i)\b(?:I|we)(?:'ve| have)?\s+(?:(?:just|recently|finally|now|since|also)\s+)?(?:moved|relocated)\s+(?:back\s+)?to\s+`), PredResidence, kindPlace, false},

	{regexp.MustCompile(`(?i)\bI\s+((?:do not|don't|no longer)\s+)?(?:(?:still|now|currently|also|actually)\s+)?work\s+(?:at|for)\s+`), PredEmployer, kindOrg, true},
	{regexp.MustCompile(`(?i)\bI(?:'m| am)\s+((?:not|no longer)\s+)?(?:(?:currently|now|still)\s+)?(?:employed|working)\s+(?:by|at|for)\s+`), PredEmployer, kindOrg, true},

	{regexp.MustCompile(`(?i)\bI(?:'m| am)\s+`), PredAge, kindAge, false},
	{regexp.MustCompile(`(?i)\bI\s+(?:(?:just|recently|have just|'ve just)\s+)?turned\s+`), PredAge, kindAgeAlone, false},

	{regexp.MustCompile(`(?i)\bI(?:'m| am)\s+(not\s+)?(?:(?:also|very|severely|mildly|slightly|highly|really)\s+)*allergic\s+to\s+`), PredAllergy, kindList, true},
	{regexp.MustCompile(`(?i)\bI\s+(?:also\s+)?have\s+(?:an?\s+)?(?:(?:severe|mild|slight|serious)\s+)?allerg(?:y|ies)\s+to\s+`), PredAllergy, kindList, false},
}

var (
	favouriteRe    = regexp.MustCompile(`(?i)\bmy\s+(?:favou?rite|fave)\s+([a-z]+(?:\s+[a-z]+)?)\s+(is not|isn't|is)\s+(.+)$`)
	favouriteRevRe = regexp.MustCompile(`(?i)^(.+?)\s+(is not|isn't|is)\s+my\s+(?:favou?rite|fave)\s+([a-z]+(?:\s+[a-z]+)?)\s*$`)
	attributeRe    = regexp.MustCompile(`(?i)^(?:(?:and|but|so|also|oh|well)\s+)?my\s+([a-z]+(?:\s+[a-z]+)?)\s+(is not|isn't|is)\s+(.+)$`)
)

// notAttributes are words after "my" that name no attribute of the user
// ("My question is…") or another person ("My sister is…").
var notAttributes = words(`question questions problem issue point guess concern worry idea plan answer request task hope dream wish
	fear bet understanding impression thought feeling opinion mistake bad pleasure turn goal point code computer phone laptop
	sister brother mother mum mom father dad husband wife partner boyfriend girlfriend son daughter friend friends boss manager
	colleague neighbour neighbor kid kids child children parents family dog cat teacher doctor name favourite favorite fave
	english day week morning life job situation experience flight meeting bill order account password email`)

// userFacts returns the first-person statements of one clause.
func userFacts(cl string) []Candidate {
	var out []Candidate
	for _, r := range userRules {
		for _, loc := range r.re.FindAllStringSubmatchIndex(cl, -1) {
			if blocked(cl[:loc[0]]) {
				continue
			}
			neg := r.negatable && len(loc) >= 4 && loc[3] > loc[2]
			for _, obj := range readObject(r.kind, cl[loc[1]:]) {
				out = append(out, Candidate{Subject: UserSubject, Predicate: r.predicate, Object: obj, Negated: neg, Confidence: ruleConfidence})
			}
		}
	}
	if m := favouriteRe.FindStringSubmatchIndex(cl); m != nil {
		if v, ok := readValue(cl[m[6]:m[7]]); ok && !blocked(cl[:m[0]]) {
			out = append(out, Candidate{Subject: UserSubject, Predicate: favouritePredicate(cl[m[2]:m[3]]), Object: v, Negated: cl[m[4]:m[5]] != "is", Confidence: ruleConfidence})
		}
	} else if m := favouriteRevRe.FindStringSubmatch(cl); m != nil && !blocked(m[1]) {
		v := m[1]
		if i := strings.LastIndex(v, ","); i >= 0 {
			v = v[i+1:]
		}
		if v, ok := readValue(v); ok && !isPronoun(firstWord(v)) {
			out = append(out, Candidate{Subject: UserSubject, Predicate: favouritePredicate(m[3]), Object: v, Negated: m[2] != "is", Confidence: ruleConfidence})
		}
	} else if m := attributeRe.FindStringSubmatch(cl); m != nil && len(out) == 0 {
		attr := strings.ToLower(m[1])
		if !notAttributes[strings.Fields(attr)[0]] && !notAttributes[lastWord(attr)] {
			if v, ok := readValue(m[3]); ok && !isPronoun(firstWord(v)) {
				out = append(out, Candidate{Subject: UserSubject, Predicate: canonicalPredicate(attr), Object: v, Negated: m[2] != "is", Confidence: ruleConfidence})
			}
		}
	}
	return out
}

func favouritePredicate(noun string) string {
	return favouritePrefix + strings.Join(strings.Fields(strings.ToLower(noun)), "_")
}

func blocked(before string) bool { return blockers.MatchString(before) }

// readObject reads the object of a statement from the text after it.
func readObject(kind objectKind, rest string) []string {
	switch kind {
	case kindName:
		if n := properName(rest, 3, nil); n != "" {
			return []string{n}
		}
	case kindCallName:
		n := properName(rest, 3, nil)
		if n == "" {
			return nil
		}
		// "Call me Bob" ends the clause, or says little more; "call me
		// tomorrow" and "call me when…" name no one.
		tail := strings.ToLower(strings.Trim(strings.TrimSpace(rest[len(n):]), ".,!;:"))
		if tail == "" || callTails[tail] {
			return []string{n}
		}
	case kindPlace:
		if p := properName(strings.TrimPrefix(rest, "the "), 5, placeJoiners); p != "" {
			return []string{p}
		}
	case kindOrg:
		if o := properName(strings.TrimPrefix(rest, "the "), 5, orgJoiners); o != "" {
			return []string{o}
		}
	case kindAge, kindAgeAlone:
		m := ageRe.FindStringSubmatch(rest)
		if m == nil {
			return nil
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 || n > 130 {
			return nil
		}
		tail := strings.ToLower(strings.Trim(strings.TrimSpace(rest[len(m[0]):]), ".,!;:"))
		if m[2] != "" || kind == kindAgeAlone || tail == "" || ageTails[tail] {
			return []string{m[1]}
		}
	case kindList:
		return readList(rest)
	}
	return nil
}

var (
	callTails    = words("please instead now from_now_on for_short thanks then anyway again")
	ageTails     = words("now today this_year already")
	placeJoiners = words("de del da di do dos das du des la le les am an der den upon on sur en y of the")
	orgJoiners   = words("of & and the für de")
	ageRe        = regexp.MustCompile(`^(\d{1,3})(\s+years?\s+old\b|\s*y/?o\b)?`)
)

// words returns the set of the words of s; "_" in a word stands for a
// space.
func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[strings.ReplaceAll(w, "_", " ")] = true
	}
	return m
}

// notNames are capitalised words that start no name here.
var notNames = words("I I'm I've I'd The A An My Your Our This That These Those It There Here Please Thanks Thank Hi Hello Hey Yes No Not Just Also Maybe Monday Tuesday Wednesday Thursday Friday Saturday Sunday")

// properName reads up to max capitalised words (a name, a place, an
// organisation) at the start of s, with the lower-case joiners allowed
// between them ("Rio de Janeiro", "Bank of America"), and returns them, or
// "" when s does not start with one.
func properName(s string, max int, joiners map[string]bool) string {
	s = strings.TrimLeft(s, " ")
	var parts []string
	pending := 0 // joiners read since the last capitalised word
	for _, w := range strings.Fields(s) {
		word := strings.TrimRight(w, ".,!?;:)\"'")
		if word == "" {
			break
		}
		if capitalised(word) {
			if len(parts) == 0 && notNames[word] {
				return ""
			}
			abbrev := w == word+"." && abbreviations[strings.ToLower(word)]
			if abbrev {
				word = w // "St. Louis"
			}
			parts = append(parts, word)
			pending = 0
			if len(parts)-countJoiners(parts, joiners) >= max || (word != w && !abbrev) {
				break // the punctuation after it ends the name
			}
			continue
		}
		if len(parts) > 0 && joiners[strings.ToLower(word)] && word == w && pending == 0 {
			parts = append(parts, word)
			pending++
			continue
		}
		break
	}
	parts = parts[:len(parts)-pending]
	return strings.Join(parts, " ")
}

func countJoiners(parts []string, joiners map[string]bool) int {
	n := 0
	for _, p := range parts {
		if joiners[strings.ToLower(p)] && !capitalised(p) {
			n++
		}
	}
	return n
}

// capitalised reports whether w starts with an upper-case letter or a
// digit followed by a letter ("3M"), as names do.
func capitalised(w string) bool {
	r, size := utf8.DecodeRuneInString(w)
	if unicode.IsUpper(r) {
		return true
	}
	if unicode.IsDigit(r) && size < len(w) {
		r2, _ := utf8.DecodeRuneInString(w[size:])
		return unicode.IsLetter(r2)
	}
	return false
}

// valueTails are words at the end of a value that qualify the statement,
// not the value: "green now", "bee stings as well".
var valueTails = []string{"from now on", "these days", "at the moment", "right now", "as well", "after all", "by the way",
	"for now", "anymore", "any more", "again", "now", "too", "also", "though", "honestly", "actually", "btw", "lol"}

// readValue reads a short value (a favourite, an attribute): at most six
// words, up to the first comma, without trailing qualifiers.
func readValue(s string) (string, bool) {
	if i := strings.IndexAny(s, ",("); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(s), ".!?;:\"'"))
	s = trimTails(s)
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 6 {
		return "", false
	}
	switch strings.ToLower(f[0]) {
	case "that", "to", "about", "whether", "what", "which", "how", "why", "when", "where", "who", "because", "if", "not", "so", "very", "really", "quite", "a", "an":
		if len(f) == 1 || f[0] != "a" && f[0] != "an" {
			return "", false
		}
	}
	return strings.Join(f, " "), true
}

func trimTails(s string) string {
	for changed := true; changed; {
		changed = false
		low := strings.ToLower(s)
		for _, t := range valueTails {
			if strings.HasSuffix(low, " "+t) {
				s = strings.TrimSpace(s[:len(s)-len(t)-1])
				changed = true
				break
			}
		}
	}
	return s
}

// listSplit separates the items of a list: "eggs, milk and nuts".
var listSplit = regexp.MustCompile(`\s*(?:,\s*(?:and|or)?|\band\b|\bor\b|&)\s*`)

// quantifiers are not things one is allergic to.
var quantifiers = words("anything everything nothing something stuff things lots it that this them")

// readList reads a list of lower-case items up to the end of the clause.
func readList(s string) []string {
	s = strings.TrimRight(strings.TrimSpace(s), ".!?;:")
	if i := strings.IndexAny(s, "("); i >= 0 {
		s = s[:i]
	}
	// A comma followed by something that is not a list item ends it: "…,
	// as far as I know".
	var out []string
	for _, item := range listSplit.Split(s, -1) {
		item = trimTails(strings.TrimSpace(item))
		f := strings.Fields(item)
		if len(f) == 0 {
			continue
		}
		if len(f) > 4 || quantifiers[strings.ToLower(f[0])] || isPronoun(f[0]) || strings.EqualFold(f[0], "as") {
			break
		}
		out = append(out, strings.ToLower(strings.Join(f, " ")))
	}
	return out
}

// pronouns and other words that cannot start the subject of a general
// statement worth keeping.
var pronouns = words(`i me my mine we us our ours you your yours he him his she her hers it its they them their theirs
	this that these those there here what which who whom whose where when why how one everything something anything
	nothing everyone someone anyone nobody all each some any no none another such today tomorrow yesterday now then
	life everybody somebody`)

func isPronoun(w string) bool { return pronouns[strings.ToLower(strings.Trim(w, ".,!?;:'\""))] }

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// subjectStop are words that cannot occur in the subject of "X is Y":
// verbs, subordinators and pronouns show that the clause is something
// else ("Call me when the report is ready").
var subjectStop = words(`me you him her us them it i we they he she when if because while since until after before
	as that which who where what why how whether than so but and or not do does did can could would should will shall
	may might must call tell let make give get think know say said says`)

var generalRe = regexp.MustCompile(`(?i)^(.+?)\s+(is not|isn't|is)\s+(.+)$`)

// leadIns are openings of a sentence that are not part of its subject.
var leadIns = regexp.MustCompile(`(?i)^(?:(?:honestly|actually|well|so|also|fun fact|in fact|of course|by the way|note that|remember that|as you know|fyi|ok|okay|oh|yes|no),?\s+)+`)

// generalFact reads a general statement "X is Y" (or "X is not Y") that
// is the whole clause.
func generalFact(cl string) (Candidate, bool) {
	cl = strings.TrimRight(strings.TrimSpace(cl), ".!;:")
	cl = leadIns.ReplaceAllString(cl, "")
	m := generalRe.FindStringSubmatch(cl)
	if m == nil {
		return Candidate{}, false
	}
	subj, obj := strings.TrimSpace(m[1]), strings.TrimSpace(m[3])
	sw := strings.Fields(subj)
	if len(sw) == 0 || len(sw) > 6 || strings.ContainsAny(subj, ",;\"()") {
		return Candidate{}, false
	}
	first := strings.ToLower(sw[0])
	// A gerund phrase ("Checking the result … is worthwhile") is advice,
	// not a thing; one word ("Swimming is fun") may be.
	if isPronoun(first) || (len(sw) > 1 && len(first) > 5 && strings.HasSuffix(first, "ing")) {
		return Candidate{}, false
	}
	for _, w := range sw {
		if subjectStop[strings.ToLower(w)] || strings.Contains(w, "'s") || strings.Contains(w, "’s") {
			return Candidate{}, false
		}
	}
	ow := strings.Fields(obj)
	if len(ow) == 0 || len(ow) > 30 {
		return Candidate{}, false
	}
	switch strings.ToLower(ow[0]) {
	case "that", "to", "how", "why", "what", "because", "where", "when", "whether", "if", "so", "also", "being":
		return Candidate{}, false
	}
	if strings.ToLower(ow[0]) == "also" && len(ow) > 1 {
		obj = strings.Join(ow[1:], " ")
	}
	negated := m[2] != "is"
	if !negated && strings.EqualFold(ow[0], "not") {
		return Candidate{}, false
	}
	return Candidate{Subject: normalSubject(subj), Predicate: PredIs, Object: obj, Negated: negated}, true
}

// topicRe finds what a query asks about.
var topicRe = []*regexp.Regexp{
	regexp.MustCompile(`(?i)^(?:what|who)(?:'s|\s+is|\s+are|\s+was)\s+(.+?)\s*[?.!]*$`),
	regexp.MustCompile(`(?i)^(?:(?:can|could) you\s+)?(?:please\s+)?(?:tell me about|explain|describe|define|what do you know about)\s+(.+?)\s*[?.!]*$`),
}

// queryTopic returns the subject a query asks about, normalised, or "".
func queryTopic(q string) string {
	q = strings.TrimSpace(q)
	for _, re := range topicRe {
		if m := re.FindStringSubmatch(q); m != nil {
			t := normalSubject(m[1])
			if t == "" || isPronoun(firstWord(t)) {
				return ""
			}
			return t
		}
	}
	return ""
}
