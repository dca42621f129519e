package memory

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Statement says the fact as an English sentence: what recall adds to a
// prompt, what the NLI judge reads and what is embedded. Facts about the
// user read "The user lives in Berlin." or "The user does not live in
// Berlin."; general ones "Machine learning is a branch of AI.".
func (f *Fact) Statement() string {
	obj := strings.TrimRight(strings.TrimSpace(f.Object), ".!?;:")
	if f.Subject != UserSubject {
		verb := " is "
		if f.Negated {
			verb = " is not "
		}
		if f.Predicate != PredIs {
			return capitalise(f.Subject) + "'s " + predicateWords(f.Predicate) + verb + obj + "."
		}
		return capitalise(f.Subject) + verb + obj + "."
	}
	pos, neg := userPhrase(f.Predicate)
	if f.Predicate == PredAge {
		obj += " years old"
	}
	if f.Negated {
		return join("The user", neg, obj)
	}
	return join("The user", pos, obj)
}

// userPhrase returns how a sentence about the user says predicate, and its
// negation.
func userPhrase(p string) (string, string) {
	switch p {
	case PredName:
		return "'s name is", "'s name is not"
	case PredResidence:
		return "lives in", "does not live in"
	case PredEmployer:
		return "works at", "does not work at"
	case PredAge:
		return "is", "is not"
	case PredAllergy:
		return "is allergic to", "is not allergic to"
	case PredIs:
		return "is", "is not"
	}
	w := predicateWords(p)
	return "'s " + w + " is", "'s " + w + " is not"
}

func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// join joins a subject, a verb phrase and an object, without a space
// before a possessive ("The user's name is …").
func join(subject, verb, obj string) string {
	if strings.HasPrefix(verb, "'") {
		return subject + verb + " " + obj + "."
	}
	return subject + " " + verb + " " + obj + "."
}
