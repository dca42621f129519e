package nli

import "strings"

// Labels of a Result, whatever the model calls them.
const (
	Entailment    = "entailment"
	Neutral       = "neutral"
	Contradiction = "contradiction"
)

// normalLabel maps a model's label to Entailment, Neutral or Contradiction,
// or "" for a label it does not know. Upper and lower case are the same.
// Models that kept the generic LABEL_n names are read in the MNLI order of
// microsoft/deberta-*-mnli and roberta-large-mnli: 0 contradiction, 1
// neutral, 2 entailment.
func normalLabel(label string) string {
	switch l := strings.ToLower(strings.TrimSpace(label)); l {
	case "entailment", "entails", "entail":
		return Entailment
	case "neutral":
		return Neutral
	case "contradiction", "contradicts", "contradict":
		return Contradiction
	case "label_0":
		return Contradiction
	case "label_1":
		return Neutral
	case "label_2":
		return Entailment
	}
	return ""
}
