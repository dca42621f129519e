package loadtest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseWorkload checks that no input makes the parser panic, and that a
// workload it accepts can be used to generate requests.
func FuzzParseWorkload(f *testing.F) {
	seeds := []string{
		"queries: [{text: hi}]\n",
		"endpoint: query\nqueries: [{paraphrases: [a, b], weight: 3}]\nsessions: {share: 1, turns: 3}\n",
		"stream: 1\nusers: 5\ntenants: [{name: t, keys: [k]}]\nqueries: [{text: a}, {text: b, weight: 0}]\n",
		"sessions: {share: 0.5, turns: 9, history: client, scripts: [[a, b], [c]]}\nqueries: [{text: x}]\n",
		"queries: [{text: a, weight: .nan}]\n",
		"queries: [{text: a, weight: .inf}]\nstream: .nan\n",
		"users: 99999999999999999999\nqueries: [{text: a}]\n",
		"&a [*a]",
		"queries: &q [{text: a}]\nsessions: {scripts: [*q]}\n",
		"{",
		"\x00",
	}
	if files, _ := filepath.Glob("../../bench/workloads/*.yaml"); len(files) > 0 {
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				seeds = append(seeds, string(data))
			}
		}
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := ParseWorkload(data)
		if err != nil {
			return
		}
		if err := w.Validate(); err != nil {
			t.Fatalf("ParseWorkload accepted a workload that Validate rejects: %v", err)
		}
		for i := range w.Tenants {
			if len(w.Tenants[i].Keys) == 0 {
				w.Tenants[i].Keys = []string{"k"} // keys_env only: resolved later
			}
		}
		g := newGenerator(w, "", "s", 1)
		for range 8 {
			r := g.next()
			if len(r.body) == 0 {
				t.Fatal("generator produced an empty body")
			}
			g.done(r, "answer")
		}
	})
}
