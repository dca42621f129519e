package memory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cato-gateway/cato/internal/llm"
)

// ErrMalformed is returned by ModelExtractor when the model answered, and
// answered again when told what was wrong, with something that is not
// valid facts.
var ErrMalformed = errors.New("malformed facts")

// ModelExtractor asks a chat model (memory.extract_model, the cheap tier)
// for the interaction's atomic facts in a strict JSON schema, validates
// the answer and asks once more, saying what was wrong, when it is not
// valid. It is safe for concurrent use if Chat is.
type ModelExtractor struct {
	// Chat calls the model: its guarded provider's Chat.
	Chat func(ctx context.Context, req *llm.Request) (*llm.Response, error)
	// Model is the model's configured name, set on each request.
	Model string
	// OnRetry, when set, is called each time the model is asked again.
	OnRetry func()
}

var _ Extractor = (*ModelExtractor)(nil)

// Name returns "model".
func (e *ModelExtractor) Name() string { return "model" }

// extractPrompt tells the model what to extract and in which shape.
const extractPrompt = `You extract durable facts from one exchange between a user and an assistant, for the assistant's long-term memory.

Answer with one JSON object and nothing else, of this exact shape:
{"facts": [{"subject": "user", "predicate": "residence", "object": "Berlin", "negated": false, "confidence": 0.9}]}

Rules:
- A fact is atomic: one subject, one predicate, one object.
- Facts about the user have subject "user". Use these predicates for them when they fit: name, residence, employer, age (object: the number), allergy (one fact per allergen), favourite_<thing> (favourite_colour), or a short snake_case attribute (birthday, blood_type).
- General facts ("Canberra is the capital of Australia") have the thing as subject, lower case, predicate "is", and the rest as object.
- Only what the user states in the present, plainly: not questions, wishes, plans, conditions, the past, or other people's facts. From the assistant's answer, only general facts about what the user asked.
- negated is true for a negated statement ("I no longer live in Paris": residence, Paris, negated).
- confidence is between 0 and 1.
- No fact: {"facts": []}.`

// modelFacts is the JSON the model must answer.
type modelFacts struct {
	Facts []modelFact `json:"facts"`
}

type modelFact struct {
	Subject    string   `json:"subject"`
	Predicate  string   `json:"predicate"`
	Object     string   `json:"object"`
	Negated    bool     `json:"negated"`
	Confidence *float64 `json:"confidence"`
}

// Limits of a fact the model proposes.
const (
	maxFactField = 200
	maxFacts     = 32
)

// Extract asks the model, and asks again once if the answer is not valid.
func (e *ModelExtractor) Extract(ctx context.Context, in *Interaction) ([]Candidate, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "User: %s\n", in.Query)
	if in.Response != "" {
		fmt.Fprintf(&b, "Assistant: %s\n", in.Response)
	}
	zero := 0.0
	msgs := []llm.Message{{Role: llm.RoleSystem, Content: extractPrompt}, {Role: llm.RoleUser, Content: b.String()}}
	var lastErr error
	for attempt := range 2 {
		if attempt > 0 && e.OnRetry != nil {
			e.OnRetry()
		}
		resp, err := e.Chat(ctx, &llm.Request{Model: e.Model, Messages: msgs, MaxTokens: 800, Temperature: &zero})
		if err != nil {
			return nil, fmt.Errorf("asking %s for facts: %w", e.Model, err)
		}
		cands, err := parseFacts(resp.Message.Content)
		if err == nil {
			return cands, nil
		}
		lastErr = err
		msgs = append(msgs,
			llm.Message{Role: llm.RoleAssistant, Content: resp.Message.Content},
			llm.Message{Role: llm.RoleUser, Content: "That answer is not valid: " + err.Error() + ". Answer again with only the JSON object, in the shape given."})
	}
	return nil, fmt.Errorf("%w from %s: %w", ErrMalformed, e.Model, lastErr)
}

// parseFacts reads and validates a model's answer: one JSON object
// (optionally in a ``` fence), no unknown fields, every fact with a
// subject, predicate and object of at most 200 bytes, a confidence in
// [0, 1].
func parseFacts(answer string) ([]Candidate, error) {
	s := strings.TrimSpace(answer)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```json")
		s = strings.TrimPrefix(s, "```")
		s = strings.TrimSuffix(strings.TrimSpace(s), "```")
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	var mf modelFacts
	if err := dec.Decode(&mf); err != nil {
		return nil, fmt.Errorf("not the JSON object asked for: %v", err)
	}
	if dec.More() {
		return nil, errors.New("text after the JSON object")
	}
	if mf.Facts == nil {
		return nil, errors.New(`no "facts" array`)
	}
	if len(mf.Facts) > maxFacts {
		return nil, fmt.Errorf("%d facts; at most %d", len(mf.Facts), maxFacts)
	}
	out := make([]Candidate, 0, len(mf.Facts))
	for i, f := range mf.Facts {
		for _, fld := range []struct{ name, v string }{{"subject", f.Subject}, {"predicate", f.Predicate}, {"object", f.Object}} {
			if strings.TrimSpace(fld.v) == "" || len(fld.v) > maxFactField {
				return nil, fmt.Errorf("fact %d: %s must be a non-empty string of at most %d bytes", i, fld.name, maxFactField)
			}
		}
		conf := ruleConfidence
		if f.Confidence != nil {
			conf = *f.Confidence
			if conf < 0 || conf > 1 {
				return nil, fmt.Errorf("fact %d: confidence %v is not between 0 and 1", i, conf)
			}
		}
		if conf == 0 {
			continue // the model says it is not a fact
		}
		subj := strings.TrimSpace(f.Subject)
		if strings.EqualFold(subj, UserSubject) || strings.EqualFold(subj, "the user") || strings.EqualFold(subj, "i") {
			subj = UserSubject
		}
		out = append(out, Candidate{Subject: subj, Predicate: canonicalPredicate(f.Predicate), Object: strings.TrimSpace(f.Object), Negated: f.Negated, Confidence: conf})
	}
	return out, nil
}
