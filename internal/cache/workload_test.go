package cache

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// workload is the part of a `cato loadtest` workload file the cache
// simulation needs.
type workload struct {
	Queries []struct {
		Name        string   `yaml:"name"`
		Text        string   `yaml:"text"`
		Paraphrases []string `yaml:"paraphrases"`
		Weight      float64  `yaml:"weight"`
	} `yaml:"queries"`
}

// TestWorkloadHitRate replays testdata/repetitive.yaml (or the file named by
// CATO_WORKLOAD) through a cache with the local embedder: requests drawn by
// weight, a paraphrase chosen uniformly, an answer stored after each miss.
// It reports the hit rate over the run and over first-seen wordings, and
// fails if the run's hit rate is not above 80%.
func TestWorkloadHitRate(t *testing.T) {
	path := "testdata/repetitive.yaml"
	if p := os.Getenv("CATO_WORKLOAD"); p != "" {
		path = p
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var w workload
	if err := yaml.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	var total float64
	for i := range w.Queries {
		if w.Queries[i].Weight == 0 {
			w.Queries[i].Weight = 1
		}
		if w.Queries[i].Text != "" {
			w.Queries[i].Paraphrases = []string{w.Queries[i].Text}
		}
		total += w.Queries[i].Weight
	}
	const requests = 2000
	c := New(newLocal(t), NewMemoryStore(nil), Options{}, nil)
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	var hits, firstSeen, firstSeenHits, bypasses int
	for range requests {
		x := r.Float64() * total
		i := 0
		for ; x > w.Queries[i].Weight; i++ {
			x -= w.Queries[i].Weight
		}
		ps := w.Queries[i].Paraphrases
		text := ps[r.IntN(len(ps))]
		res := lookup(t, c, Query{Scope: scopeA, Text: text})
		first := !seen[text]
		seen[text] = true
		switch res.Outcome {
		case Hit:
			hits++
		case Miss:
			c.Put(context.Background(), res, Answer{Text: "answer", Model: "bedrock_haiku"})
		case Bypass:
			bypasses++
			t.Logf("bypassed (%s): %q", res.Reason, text)
		}
		if first && seen[ps[0]] && len(ps) > 1 {
			// A wording seen for the first time while its family is cached.
			firstSeen++
			if res.Outcome == Hit {
				firstSeenHits++
			}
		}
	}
	rate := float64(hits) / float64(requests-bypasses)
	t.Logf("%s: %d requests, %d distinct wordings, hit rate %.3f; first sight of a paraphrase hit %d/%d; %d bypassed",
		path, requests, len(seen), rate, firstSeenHits, firstSeen, bypasses)
	if rate <= 0.8 {
		t.Errorf("hit rate %.3f; want > 0.8", rate)
	}
}
