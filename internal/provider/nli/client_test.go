package nli

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/awstest"
)

const (
	testRegion   = "us-east-2"
	testEndpoint = "deberta-mnli"
)

// fakeNLI starts a SageMaker Runtime server for the NLI endpoint that checks
// the signature, path, variant and body, and answers with status and answer.
func fakeNLI(t *testing.T, status int, answer string) *Client {
	t.Helper()
	awstest.Isolate(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := awstest.VerifySigV4(r, "sagemaker", testRegion)
		if err != nil {
			t.Errorf("SigV4: %v", err)
		}
		if r.URL.Path != "/endpoints/"+testEndpoint+"/invocations" {
			t.Errorf("path = %s; want /endpoints/%s/invocations", r.URL.Path, testEndpoint)
		}
		if v := r.Header.Get("X-Amzn-SageMaker-Target-Variant"); v != "mnli-a" {
			t.Errorf("target variant = %q; want mnli-a", v)
		}
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
		want := map[string]any{"inputs": map[string]any{"text": "The sky is green.", "text_pair": "The sky is blue."},
			"parameters": map[string]any{"top_k": nil}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
		if status != http.StatusOK {
			w.Header().Set("X-Amzn-ErrorType", "ModelError")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(srv.Close)
	c, err := New(context.Background(), "nli", Options{EndpointName: testEndpoint,
		Region: testRegion, Endpoint: srv.URL, Variant: "mnli-a"}, srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   Result
	}{
		{"upper-case labels", `[{"label":"CONTRADICTION","score":0.97},{"label":"NEUTRAL","score":0.02},{"label":"ENTAILMENT","score":0.01}]`,
			Result{Label: Contradiction, Scores: map[string]float64{Contradiction: 0.97, Neutral: 0.02, Entailment: 0.01}}},
		{"generic labels", `[{"label":"LABEL_2","score":0.8},{"label":"LABEL_1","score":0.15},{"label":"LABEL_0","score":0.05}]`,
			Result{Label: Entailment, Scores: map[string]float64{Entailment: 0.8, Neutral: 0.15, Contradiction: 0.05}}},
		{"nested list", `[[{"label":"neutral","score":0.6},{"label":"entailment","score":0.3},{"label":"contradiction","score":0.1}]]`,
			Result{Label: Neutral, Scores: map[string]float64{Neutral: 0.6, Entailment: 0.3, Contradiction: 0.1}}},
		{"top label only", `{"label":"Entailment","score":0.9}`,
			Result{Label: Entailment, Scores: map[string]float64{Entailment: 0.9}}},
		{"unknown labels ignored", `[{"label":"other","score":0.99},{"label":"contradiction","score":0.01}]`,
			Result{Label: Contradiction, Scores: map[string]float64{Contradiction: 0.01}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeNLI(t, http.StatusOK, tt.answer)
			got, err := c.Classify(context.Background(), "The sky is green.", "The sky is blue.")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Classify (-want +got):\n%s", diff)
			}
			contra, err := c.Contradicts(context.Background(), "The sky is green.", "The sky is blue.")
			if err != nil || contra != (tt.want.Label == Contradiction) {
				t.Errorf("Contradicts = %v, %v; want %v", contra, err, tt.want.Label == Contradiction)
			}
		})
	}
}

func TestClassifyErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		answer    string
		wantHTTP  int
		wantCode  provider.Code
		retryable bool
	}{
		{"no known label", 200, `[{"label":"yes","score":1}]`, 502, "bad_response", false},
		{"not JSON", 200, `oops`, 502, "bad_response", false},
		{"container overloaded", 424, `{"Message":"err","OriginalStatusCode":503}`, 503, "model_error", true},
		{"container rejects", 424, `{"Message":"err","OriginalStatusCode":400}`, 400, "model_error", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeNLI(t, tt.status, tt.answer)
			_, err := c.Classify(context.Background(), "The sky is green.", "The sky is blue.")
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.StatusCode != tt.wantHTTP || pe.Code != tt.wantCode || pe.Retryable != tt.retryable {
				t.Errorf("Classify = %v; want {%d %s retryable=%v}", err, tt.wantHTTP, tt.wantCode, tt.retryable)
			}
		})
	}
}

func TestNormalLabel(t *testing.T) {
	for in, want := range map[string]string{
		"ENTAILMENT": Entailment, "entailment": Entailment, "Neutral": Neutral, "CONTRADICTION": Contradiction,
		"LABEL_0": Contradiction, "label_1": Neutral, "LABEL_2": Entailment, " contradiction ": Contradiction,
		"LABEL_3": "", "not_entailment": "", "": "",
	} {
		if got := normalLabel(in); got != want {
			t.Errorf("normalLabel(%q) = %q; want %q", in, got, want)
		}
	}
}

// FuzzParseResult feeds arbitrary answers to the parser: an accepted answer
// has a known label whose score is among the scores.
func FuzzParseResult(f *testing.F) {
	f.Add([]byte(`[{"label":"CONTRADICTION","score":0.97},{"label":"NEUTRAL","score":0.02}]`))
	f.Add([]byte(`[[{"label":"LABEL_1","score":0.6}]]`))
	f.Add([]byte(`{"label":"entailment","score":1e309}`))
	f.Add([]byte(`[[]]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseResult(body)
		if err != nil {
			return
		}
		if _, ok := r.Scores[r.Label]; !ok || normalLabel(r.Label) != r.Label {
			t.Fatalf("parseResult = %+v: label not normalised or not scored", r)
		}
	})
}
