package memory

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRuleExtractor covers what the scenario sets do not: the pieces of a
// statement one by one.
func TestRuleExtractor(t *testing.T) {
	u := func(pred, obj string, neg bool) Candidate {
		return Candidate{Subject: UserSubject, Predicate: pred, Object: obj, Negated: neg, Confidence: ruleConfidence}
	}
	tests := []struct {
		name     string
		query    string
		response string
		want     []Candidate
	}{
		{"name with a surname", "My name is Ada Lovelace.", "", []Candidate{u("name", "Ada Lovelace", false)}},
		{"place with joiners", "I live in Rio de Janeiro.", "", []Candidate{u("residence", "Rio de Janeiro", false)}},
		{"place after the", "I live in the Netherlands.", "", []Candidate{u("residence", "Netherlands", false)}},
		{"abbreviated place", "I live in St. Louis now.", "", []Candidate{u("residence", "St. Louis", false)}},
		{"organisation with of", "I work for the Bank of England.", "", []Candidate{u("employer", "Bank of England", false)}},
		{"organisation in capitals", "I work at KPMG.", "", []Candidate{u("employer", "KPMG", false)}},
		{"two clauses", "My name is Ola, I live in Bergen and I work at Equinor.", "",
			[]Candidate{u("name", "Ola", false), u("residence", "Bergen", false), u("employer", "Equinor", false)}},
		{"list of allergies", "I'm allergic to nuts, eggs and milk.", "", []Candidate{u("allergy", "nuts", false), u("allergy", "eggs", false), u("allergy", "milk", false)}},
		{"question", "Do I live in Paris?", "", nil},
		{"question without its mark", "Where do I work", "", nil},
		{"condition", "If I work at Google, what do I get?", "", nil},
		{"wish", "I wish I lived in Paris.", "", nil},
		{"report", "My mother says I live in a dream.", "", nil},
		{"age and time", "I'm 10 minutes away.", "", nil},
		{"age alone", "I am 52.", "", []Candidate{u("age", "52", false)}},
		{"implausible age", "I am 999 years old.", "", nil},
		{"call me a name", "Call me Ishmael.", "", []Candidate{u("name", "Ishmael", false)}},
		{"call me later", "Call me Monday.", "", nil},
		{"attribute", "My shoe size is 43.", "", []Candidate{u("shoe_size", "43", false)}},
		{"not an attribute", "My question is whether to go.", "", nil},
		{"another person's attribute", "My sister is a nurse.", "", nil},
		{"general statement", "Water is wet.", "", []Candidate{{Subject: "water", Predicate: PredIs, Object: "wet", Confidence: generalConfidence}}},
		{"pronoun subject", "It is late.", "", nil},
		{"answer about the topic", "What is Go?", "Go is a programming language made at Google. It is fast.",
			[]Candidate{{Subject: "go", Predicate: PredIs, Object: "a programming language made at Google", Confidence: responseConfidence}}},
		{"answer beside the topic", "What is Go?", "Python is a programming language too.", nil},
		{"the answer's claims about the user", "Hello", "Your name is Bob and you live in Leeds.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RuleExtractor{}.Extract(context.Background(), &Interaction{Query: tt.query, Response: tt.response})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Extract(%q, %q) (-want +got):\n%s", tt.query, tt.response, diff)
			}
		})
	}
}
