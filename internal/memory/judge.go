package memory

import (
	"context"
	"fmt"
	"strings"

	"github.com/cato-gateway/cato/internal/embed"
	"github.com/cato-gateway/cato/internal/vectorindex"
)

// Verdict is how a new fact relates to a current one of the same user and
// subject.
type Verdict int

// Verdicts, as natural language inference names them.
const (
	// Neutral: both can hold; both are kept.
	Neutral Verdict = iota
	// Entailed: the current fact already says it; it is merged into the
	// current one (sources and confidence).
	Entailed
	// Contradicted: both cannot hold; the one stated earlier is
	// superseded.
	Contradicted
)

func (v Verdict) String() string {
	switch v {
	case Entailed:
		return "entailment"
	case Contradicted:
		return "contradiction"
	}
	return "neutral"
}

// Judge decides how a new fact relates to a current one. Memory asks it
// only about facts of the same user and subject. Implementations must be
// safe for concurrent use.
type Judge interface {
	Judge(ctx context.Context, current, candidate *Fact) (Verdict, error)
	// Name names the judge in metrics and /status: "rules" or "nli".
	Name() string
}

// DefaultPredicateSimilarity is RuleJudge's default threshold: the local
// embedder puts "favourite colour" and "favourite color", or "favourite
// film" and "favourite movie", at 0.94, and "favourite colour" and
// "favourite food" at 0.55.
const DefaultPredicateSimilarity = 0.85

// RuleJudge is the default judge: explicit rules, no model. Two facts are
// about the same thing when their predicates are equal after
// canonicalPredicate, or their embeddings (of the predicate in words) are
// at least PredicateSimilarity apart. Then:
//
//   - the same object with the same polarity is entailed;
//   - the same object with the opposite polarity ("I don't live in Paris"
//     after "I live in Paris") is a contradiction;
//   - two positive statements of a single-valued predicate (name,
//     residence, employer, age, a favourite, a "my X is Y" attribute) with
//     different objects are a contradiction;
//   - everything else is neutral: a multi-valued predicate (allergy, "X
//     is Y"), a negation and an affirmation of different objects.
//
// Objects are compared without case, articles and punctuation; it knows
// no synonyms ("NYC", "New York") and no world ("Paris" is in "France"),
// which docs/memory.md lists among what it cannot decide. It is safe for
// concurrent use.
type RuleJudge struct {
	// Embedder matches paraphrased predicates; nil compares predicates as
	// written only.
	Embedder embed.Embedder
	// PredicateSimilarity is the cosine similarity at which two predicates
	// are the same. Zero means DefaultPredicateSimilarity.
	PredicateSimilarity float32
}

var _ Judge = (*RuleJudge)(nil)

// Name returns "rules".
func (j *RuleJudge) Name() string { return "rules" }

// Judge applies the rules.
func (j *RuleJudge) Judge(ctx context.Context, cur, cand *Fact) (Verdict, error) {
	if cur.Subject != cand.Subject {
		return Neutral, nil
	}
	same, err := j.samePredicate(ctx, cur.Predicate, cand.Predicate)
	if err != nil || !same {
		return Neutral, err
	}
	sameObject := normalObject(cur.Object) == normalObject(cand.Object)
	switch {
	case sameObject && cur.Negated == cand.Negated:
		return Entailed, nil
	case sameObject:
		return Contradicted, nil
	case !cur.Negated && !cand.Negated && SingleValued(cand.Predicate) && SingleValued(cur.Predicate):
		return Contradicted, nil
	}
	return Neutral, nil
}

func (j *RuleJudge) samePredicate(ctx context.Context, a, b string) (bool, error) {
	if a == b {
		return true, nil
	}
	if j.Embedder == nil || a == PredIs || b == PredIs || known(a) || known(b) {
		return false, nil
	}
	vs, err := j.Embedder.Embed(ctx, []string{predicateWords(a), predicateWords(b)})
	if err != nil {
		return false, fmt.Errorf("embedding predicates: %w", err)
	}
	t := j.PredicateSimilarity
	if t == 0 {
		t = DefaultPredicateSimilarity
	}
	return vectorindex.Cosine(vs[0], vs[1]) >= t, nil
}

// known reports whether p is one of the user predicates the extractors
// name, which are never paraphrases of one another.
func known(p string) bool {
	switch p {
	case PredName, PredResidence, PredEmployer, PredAge, PredAllergy:
		return true
	}
	return false
}

// predicateWords spells a predicate in words: favourite_colour is
// "favourite colour".
func predicateWords(p string) string { return strings.ReplaceAll(p, "_", " ") }

// NLIJudge asks a natural-language-inference model whether the current
// fact (the premise) entails, contradicts or is neutral to the new one
// (the hypothesis), both as sentences (Fact.Statement). app builds it on
// provider/nli's client when memory.nli_model names a model. It is safe
// for concurrent use if Classify is.
type NLIJudge struct {
	// Classify returns the model's label: "entailment", "contradiction" or
	// "neutral" (nli.Client.Classify's Result.Label).
	Classify func(ctx context.Context, premise, hypothesis string) (string, error)
}

var _ Judge = (*NLIJudge)(nil)

// Name returns "nli".
func (j *NLIJudge) Name() string { return "nli" }

// Judge asks the model.
func (j *NLIJudge) Judge(ctx context.Context, cur, cand *Fact) (Verdict, error) {
	label, err := j.Classify(ctx, cur.Statement(), cand.Statement())
	if err != nil {
		return Neutral, err
	}
	switch label {
	case "entailment":
		return Entailed, nil
	case "contradiction":
		return Contradicted, nil
	}
	return Neutral, nil
}
