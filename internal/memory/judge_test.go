package memory

import (
	"context"
	"errors"
	"testing"

	"github.com/cato-gateway/cato/internal/embed"
)

// TestRuleJudge is the rule judge's table: what it decides, and what it
// leaves neutral because it cannot know (docs/memory.md).
func TestRuleJudge(t *testing.T) {
	emb, err := embed.NewLocal(embed.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j := &RuleJudge{Embedder: emb}
	user := func(pred, obj string, neg bool) *Fact {
		return &Fact{Subject: UserSubject, Predicate: pred, Object: obj, Negated: neg}
	}
	about := func(subj, obj string, neg bool) *Fact {
		return &Fact{Subject: subj, Predicate: PredIs, Object: obj, Negated: neg}
	}
	tests := []struct {
		name      string
		cur, cand *Fact
		want      Verdict
	}{
		{"same residence", user("residence", "Berlin", false), user("residence", "berlin.", false), Entailed},
		{"new residence", user("residence", "Paris", false), user("residence", "Berlin", false), Contradicted},
		{"new name", user("name", "Robert", false), user("name", "Bob", false), Contradicted},
		{"new employer", user("employer", "Google", false), user("employer", "Microsoft", false), Contradicted},
		{"new age", user("age", "30", false), user("age", "31", false), Contradicted},
		{"new favourite", user("favourite_colour", "blue", false), user("favourite_colour", "green", false), Contradicted},
		{"new attribute", user("birthday", "12 May", false), user("birthday", "13 May", false), Contradicted},
		{"negation flips", user("residence", "Paris", false), user("residence", "Paris", true), Contradicted},
		{"affirmation flips back", user("allergy", "nuts", true), user("allergy", "nuts", false), Contradicted},
		{"same negation", user("employer", "Uber", true), user("employer", "uber", true), Entailed},
		{"negation of another place", user("residence", "Berlin", false), user("residence", "Paris", true), Neutral},
		{"two negations", user("residence", "Rome", true), user("residence", "Paris", true), Neutral},
		{"second allergy", user("allergy", "peanuts", false), user("allergy", "shellfish", false), Neutral},
		{"another predicate", user("residence", "Paris", false), user("employer", "Paris Saint-Germain", false), Neutral},
		{"another favourite", user("favourite_colour", "blue", false), user("favourite_food", "pizza", false), Neutral},
		{"paraphrased predicate", user("favourite_color", "blue", false), user("favourite_colour", "green", false), Contradicted},
		{"paraphrased film", user("favourite_film", "Alien", false), user("favourite_movie", "Arrival", false), Contradicted},
		{"another subject", about("paris", "a city", false), user("residence", "a city", false), Neutral},
		{"two general facts", about("paris", "the capital of France", false), about("paris", "beautiful", false), Neutral},
		{"general negation", about("pluto", "a planet", false), about("pluto", "a planet", true), Contradicted},
		// What the rules cannot know, and so call as they see it:
		{"a place within the other (cannot know)", user("residence", "Paris", false), user("residence", "France", false), Contradicted},
		{"a synonym (cannot know)", user("residence", "New York", false), user("residence", "NYC", false), Contradicted},
		{"unrelated words for one attribute (cannot know)", user("job", "nurse", false), user("occupation", "teacher", false), Neutral},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := j.Judge(context.Background(), tt.cur, tt.cand)
			if err != nil || got != tt.want {
				t.Errorf("Judge(%+v, %+v) = %v, %v; want %v", *tt.cur, *tt.cand, got, err, tt.want)
			}
		})
	}
	// Without an embedder, predicates must be spelled the same.
	if v, _ := (&RuleJudge{}).Judge(context.Background(), user("favourite_color", "blue", false), user("favourite_colour", "green", false)); v != Neutral {
		t.Errorf("without an embedder, paraphrased predicates = %v; want neutral", v)
	}
}

type failingEmbedder struct{}

func (failingEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("down")
}
func (failingEmbedder) Dim() int { return 8 }

func TestRuleJudgeEmbedderDown(t *testing.T) {
	j := &RuleJudge{Embedder: failingEmbedder{}}
	cur := &Fact{Subject: UserSubject, Predicate: "car", Object: "a Golf"}
	cand := &Fact{Subject: UserSubject, Predicate: "vehicle", Object: "a Polo"}
	if v, err := j.Judge(context.Background(), cur, cand); err == nil || v != Neutral {
		t.Errorf("Judge with the embedder down = %v, %v; want neutral and the error", v, err)
	}
	// Equal predicates need no embedding.
	if v, err := j.Judge(context.Background(), cur, &Fact{Subject: UserSubject, Predicate: "car", Object: "a Polo"}); err != nil || v != Contradicted {
		t.Errorf("Judge of equal predicates = %v, %v; want contradiction", v, err)
	}
}

func TestStatement(t *testing.T) {
	tests := []struct {
		f    Fact
		want string
	}{
		{Fact{Subject: UserSubject, Predicate: PredName, Object: "Alice"}, "The user's name is Alice."},
		{Fact{Subject: UserSubject, Predicate: PredResidence, Object: "Paris", Negated: true}, "The user does not live in Paris."},
		{Fact{Subject: UserSubject, Predicate: PredEmployer, Object: "Stripe"}, "The user works at Stripe."},
		{Fact{Subject: UserSubject, Predicate: PredAge, Object: "31"}, "The user is 31 years old."},
		{Fact{Subject: UserSubject, Predicate: PredAllergy, Object: "peanuts", Negated: true}, "The user is not allergic to peanuts."},
		{Fact{Subject: UserSubject, Predicate: "favourite_colour", Object: "green"}, "The user's favourite colour is green."},
		{Fact{Subject: "machine learning", Predicate: PredIs, Object: "a field of AI."}, "Machine learning is a field of AI."},
		{Fact{Subject: "pluto", Predicate: PredIs, Object: "a planet", Negated: true}, "Pluto is not a planet."},
		{Fact{Subject: "paris", Predicate: "population", Object: "2 million"}, "Paris's population is 2 million."},
	}
	for _, tt := range tests {
		if got := tt.f.Statement(); got != tt.want {
			t.Errorf("Statement(%+v) = %q; want %q", tt.f, got, tt.want)
		}
	}
}
