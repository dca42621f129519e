package memory_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/provider/awstest"
	"github.com/cato-gateway/cato/internal/provider/nli"
)

// fakeNLIServer is a SageMaker endpoint speaking the Hugging Face
// text-classification wire: {"inputs": {"text", "text_pair"}} in, a list of
// {label, score} out. It labels a pair by its own rules, unlike the rule
// judge: favourites never contradict, the same sentence entails, two
// residences contradict. It records the pairs it was asked about.
type fakeNLIServer struct {
	mu    sync.Mutex
	pairs [][2]string
	fail  bool
}

func (f *fakeNLIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/endpoints/deberta-mnli/invocations" {
		http.Error(w, "no such endpoint", http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req struct {
		Inputs struct {
			Text     string `json:"text"`
			TextPair string `json:"text_pair"`
		} `json:"inputs"`
		Parameters map[string]any `json:"parameters"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Inputs.Text == "" || req.Inputs.TextPair == "" {
		http.Error(w, "bad body: "+string(body), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.pairs = append(f.pairs, [2]string{req.Inputs.Text, req.Inputs.TextPair})
	fail := f.fail
	f.mu.Unlock()
	if fail {
		w.Header().Set("X-Amzn-ErrorType", "ModelError")
		w.WriteHeader(http.StatusFailedDependency)
		_, _ = w.Write([]byte(`{"Message":"model failed","OriginalStatusCode":400}`))
		return
	}
	p, h := req.Inputs.Text, req.Inputs.TextPair
	label := "NEUTRAL"
	switch {
	case p == h:
		label = "ENTAILMENT"
	case strings.Contains(p, "favourite"):
		label = "NEUTRAL"
	case strings.Contains(p, "lives in") && strings.Contains(h, "lives in"):
		label = "CONTRADICTION"
	}
	scores := []map[string]any{{"label": label, "score": 0.9}}
	for _, l := range []string{"ENTAILMENT", "NEUTRAL", "CONTRADICTION"} {
		if l != label {
			scores = append(scores, map[string]any{"label": l, "score": 0.05})
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(scores)
}

// TestNLIJudge consolidates through provider/nli's client against a local
// server speaking the text-classification wire: its verdicts, not the
// rules', decide, and the rules stand in when it fails.
func TestNLIJudge(t *testing.T) {
	awstest.Isolate(t)
	fake := &fakeNLIServer{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c, err := nli.New(context.Background(), "nli", nli.Options{EndpointName: "deberta-mnli", Region: "us-east-1", Endpoint: srv.URL}, srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	judge := &memory.NLIJudge{Classify: func(ctx context.Context, p, h string) (string, error) {
		r, err := c.Classify(ctx, p, h)
		return r.Label, err
	}}
	st := newMemStore(memory.QueueOptions{})
	clock := &stepClock{now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	m, err := memory.New(memory.Options{Store: st, Queue: st, Embedder: localEmbedder(t), Judge: judge, Workers: 1, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	drain, stop := runMemory(t, m, st)
	defer stop()
	ctx := context.Background()
	k := memory.Key{Tenant: "acme", User: "u"}
	say := func(q string) {
		t.Helper()
		if _, err := m.Submit(ctx, memory.Interaction{Tenant: k.Tenant, User: k.User, Query: q}); err != nil {
			t.Fatal(err)
		}
		drain()
	}
	current := func() map[string][]string {
		fs, err := m.Facts(ctx, k, memory.FactFilter{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, f := range fs {
			out[f.Predicate] = append(out[f.Predicate], f.Object)
		}
		return out
	}
	say("I live in Paris.")
	say("I live in Berlin.")
	say("My favourite colour is blue.")
	say("My favourite colour is green.")
	say("I work at Google.")
	say("I work at Google.")
	got := current()
	if r := got["residence"]; len(r) != 1 || r[0] != "Berlin" {
		t.Errorf("residence = %v; want Berlin only (the model said contradiction)", r)
	}
	if f := got["favourite_colour"]; len(f) != 2 {
		t.Errorf("favourite colour = %v; want both (the model said neutral, where the rules would supersede)", f)
	}
	if e := got["employer"]; len(e) != 1 {
		t.Errorf("employer = %v; want one, merged (the model said entailment)", e)
	}
	fake.mu.Lock()
	first := fake.pairs[0]
	fake.mu.Unlock()
	if first != [2]string{"The user lives in Paris.", "The user lives in Berlin."} {
		t.Errorf("first pair sent = %q; want the current fact as premise, the new one as hypothesis", first)
	}

	// The model fails: the rules judge instead, and it is counted.
	fake.mu.Lock()
	fake.fail = true
	fake.mu.Unlock()
	say("I'm allergic to nuts.")
	say("I'm not allergic to nuts.")
	if a := current()["allergy"]; len(a) != 1 {
		t.Errorf("allergy = %v; want the negation alone (the rules judged)", a)
	}
	j := m.Status().Judgements
	for _, label := range []string{"nli/contradiction", "nli/neutral", "nli/entailment", "nli/error"} {
		if j[label] == 0 {
			t.Errorf("judgements %v lack %s", j, label)
		}
	}
	if s := m.Status(); s.Judge != "nli" {
		t.Errorf("Status().Judge = %q; want nli", s.Judge)
	}
}
