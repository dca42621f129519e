package memory

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/llm"
)

func TestParseFacts(t *testing.T) {
	tests := []struct {
		name    string
		answer  string
		want    []Candidate
		wantErr string
	}{
		{"facts", `{"facts": [{"subject": "user", "predicate": "lives in", "object": "Berlin", "negated": false, "confidence": 0.8},
			{"subject": "The user", "predicate": "Favorite Color", "object": "green"}]}`,
			[]Candidate{{Subject: "user", Predicate: "residence", Object: "Berlin", Confidence: 0.8},
				{Subject: "user", Predicate: "favourite_color", Object: "green", Confidence: 0.9}}, ""},
		{"fenced", "```json\n{\"facts\": [{\"subject\": \"Canberra\", \"predicate\": \"is\", \"object\": \"the capital of Australia\"}]}\n```",
			[]Candidate{{Subject: "Canberra", Predicate: "is", Object: "the capital of Australia", Confidence: 0.9}}, ""},
		{"none", `{"facts": []}`, []Candidate{}, ""},
		{"zero confidence dropped", `{"facts": [{"subject": "user", "predicate": "age", "object": "3", "confidence": 0}]}`, []Candidate{}, ""},
		{"prose", `Sure! The user lives in Berlin.`, nil, "not the JSON object"},
		{"unknown field", `{"facts": [{"subject": "user", "predicate": "age", "object": "3", "source": "x"}]}`, nil, "unknown field"},
		{"no facts array", `{"fact": []}`, nil, "unknown field"},
		{"null facts", `{"facts": null}`, nil, `no "facts" array`},
		{"empty object", `{"facts": [{"subject": "user", "predicate": "age", "object": " "}]}`, nil, "object must be"},
		{"confidence out of range", `{"facts": [{"subject": "user", "predicate": "age", "object": "3", "confidence": 7}]}`, nil, "confidence 7"},
		{"trailing text", `{"facts": []} and more`, nil, "text after"},
		{"too long", `{"facts": [{"subject": "user", "predicate": "bio", "object": "` + strings.Repeat("x", 201) + `"}]}`, nil, "at most 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFacts(tt.answer)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseFacts = %v, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseFacts (-want +got):\n%s", diff)
			}
		})
	}
}

// scriptedModel answers each call with the next of answers.
type scriptedModel struct {
	answers []string
	err     error
	reqs    []*llm.Request
}

func (m *scriptedModel) Chat(_ context.Context, req *llm.Request) (*llm.Response, error) {
	m.reqs = append(m.reqs, req)
	if m.err != nil {
		return nil, m.err
	}
	a := m.answers[0]
	m.answers = m.answers[1:]
	return &llm.Response{Message: llm.Message{Role: llm.RoleAssistant, Content: a}}, nil
}

func TestModelExtractor(t *testing.T) {
	in := &Interaction{Query: "I moved to Berlin.", Response: "Welcome!"}
	good := `{"facts": [{"subject": "user", "predicate": "residence", "object": "Berlin"}]}`
	t.Run("valid at once", func(t *testing.T) {
		m := &scriptedModel{answers: []string{good}}
		e := &ModelExtractor{Chat: m.Chat, Model: "bedrock_haiku"}
		got, err := e.Extract(context.Background(), in)
		if err != nil || len(got) != 1 || got[0].Object != "Berlin" {
			t.Fatalf("Extract = %+v, %v", got, err)
		}
		r := m.reqs[0]
		if r.Model != "bedrock_haiku" || r.Messages[0].Role != llm.RoleSystem || !strings.Contains(r.Messages[1].Content, "User: I moved to Berlin.\nAssistant: Welcome!") || *r.Temperature != 0 {
			t.Errorf("request = %+v", r)
		}
	})
	t.Run("valid when asked again", func(t *testing.T) {
		m := &scriptedModel{answers: []string{"The user moved to Berlin.", good}}
		retries := 0
		e := &ModelExtractor{Chat: m.Chat, Model: "m", OnRetry: func() { retries++ }}
		got, err := e.Extract(context.Background(), in)
		if err != nil || len(got) != 1 || retries != 1 {
			t.Fatalf("Extract = %+v, %v after %d retries", got, err, retries)
		}
		second := m.reqs[1].Messages
		if len(second) != 4 || second[2].Content != "The user moved to Berlin." || !strings.Contains(second[3].Content, "not valid") {
			t.Errorf("the retry does not say what was wrong: %+v", second)
		}
	})
	t.Run("malformed twice", func(t *testing.T) {
		m := &scriptedModel{answers: []string{"no", `{"facts": "x"}`}}
		_, err := (&ModelExtractor{Chat: m.Chat, Model: "m"}).Extract(context.Background(), in)
		if !errors.Is(err, ErrMalformed) || len(m.reqs) != 2 {
			t.Errorf("Extract = %v after %d calls; want ErrMalformed after 2", err, len(m.reqs))
		}
	})
	t.Run("model down", func(t *testing.T) {
		m := &scriptedModel{err: errors.New("503")}
		_, err := (&ModelExtractor{Chat: m.Chat, Model: "m"}).Extract(context.Background(), in)
		if err == nil || errors.Is(err, ErrMalformed) || len(m.reqs) != 1 {
			t.Errorf("Extract = %v after %d calls; want the call's error at once", err, len(m.reqs))
		}
	})
}
