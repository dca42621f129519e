package memory

import (
	"context"
	"strings"
)

// Candidate is a fact an extractor found in one interaction, before it is
// judged against the user's facts.
type Candidate struct {
	Subject   string
	Predicate string
	Object    string
	Negated   bool
	// Confidence is in (0, 1].
	Confidence float64
}

// Extractor finds the atomic facts an interaction states. Implementations
// must be safe for concurrent use.
type Extractor interface {
	Extract(ctx context.Context, in *Interaction) ([]Candidate, error)
	// Name names the extractor in metrics and /status: "rules" or
	// "model".
	Name() string
}

// UserSubject is the subject of facts about the user.
const UserSubject = "user"

// Predicates the rule extractor gives facts about the user; the model
// extractor is asked to use them too.
const (
	PredName      = "name"
	PredResidence = "residence"
	PredEmployer  = "employer"
	PredAge       = "age"
	PredAllergy   = "allergy"
	// PredIs is the predicate of general statements "X is Y".
	PredIs = "is"
	// favouritePrefix starts the predicate of a favourite thing:
	// favourite_colour.
	favouritePrefix = "favourite_"
)

// multiValued lists the predicates a subject can hold several objects of
// at once; every other predicate holds one (a name, a residence).
var multiValued = map[string]bool{PredAllergy: true, PredIs: true, "likes": true, "dislikes": true, "speaks": true, "hobby": true, "pet": true}

// SingleValued reports whether a subject holds at most one object of
// predicate at a time, so that a different object contradicts it.
func SingleValued(predicate string) bool { return !multiValued[predicate] }

// canonicalPredicate maps a predicate's spellings to one form: lower case,
// words joined by "_", "favorite" spelled "favourite", and the synonyms of
// the user predicates mapped to them.
func canonicalPredicate(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	p = strings.Join(strings.FieldsFunc(p, func(r rune) bool { return r == ' ' || r == '_' || r == '-' }), "_")
	p = strings.Replace(p, "favorite", "favourite", 1)
	if strings.HasPrefix(p, "fave_") {
		p = favouritePrefix + p[len("fave_"):]
	}
	switch p {
	case "name", "first_name", "called", "is_called", "goes_by", "nickname", "preferred_name":
		return PredName
	case "residence", "lives_in", "live_in", "home", "location", "city", "hometown", "based_in", "moved_to", "resides_in", "place_of_residence", "current_city":
		return PredResidence
	case "employer", "works_at", "work_at", "works_for", "work_for", "company", "workplace", "employed_by":
		return PredEmployer
	case "age", "years_old":
		return PredAge
	case "allergy", "allergies", "allergic_to", "is_allergic_to":
		return PredAllergy
	case "is", "is_a", "is_an", "isa":
		return PredIs
	}
	return p
}

// normalObject is an object as the judge compares it: lower case, without
// a leading article, trailing punctuation or repeated spaces.
func normalObject(o string) string {
	o = strings.ToLower(strings.Join(strings.Fields(o), " "))
	o = strings.TrimRight(o, ".,;:!?\"' ")
	for _, a := range []string{"the ", "a ", "an "} {
		if strings.HasPrefix(o, a) {
			o = o[len(a):]
			break
		}
	}
	return o
}

// normalSubject is a subject as stored: lower case, without a leading
// article.
func normalSubject(s string) string { return normalObject(s) }
