package loadtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseWorkloadValid(t *testing.T) {
	yes := true
	w, err := ParseWorkload([]byte(`
name: mixed
endpoint: chat
stream: 0.25
max_tokens: 64
system: Be brief.
users: 50
tenants:
  - {name: team-a, weight: 3, keys: [ka1, ka2]}
  - {name: team-b, keys_env: [TEAM_B_KEY]}
queries:
  - text: What is 2+2?
    weight: 2
    domain: general
    cache: true
  - name: capital
    paraphrases: ["What is the capital of France?", "France's capital city?"]
    model: bedrock_haiku
sessions:
  share: 0.3
  turns: 4
  history: client
  scripts:
    - [Hi, Tell me more]
`))
	if err != nil {
		t.Fatalf("ParseWorkload: %v", err)
	}
	want := &Workload{
		Name: "mixed", Endpoint: EndpointChat, Model: "auto", Stream: 0.25, MaxTokens: 64, System: "Be brief.", Users: 50,
		Tenants: []Tenant{
			{Name: "team-a", Weight: 3, Keys: []string{"ka1", "ka2"}},
			{Name: "team-b", KeysEnv: []string{"TEAM_B_KEY"}},
		},
		Queries: []Query{
			{Text: "What is 2+2?", Weight: 2, Domain: "general", Cache: &yes},
			{Name: "capital", Paraphrases: []string{"What is the capital of France?", "France's capital city?"}, Model: "bedrock_haiku"},
		},
		Sessions: Sessions{Share: 0.3, Turns: 4, History: HistoryClient, Scripts: [][]string{{"Hi", "Tell me more"}}},
	}
	if diff := cmp.Diff(want, w); diff != "" {
		t.Errorf("ParseWorkload mismatch (-want +got):\n%s", diff)
	}
}

func TestParseWorkloadDefaults(t *testing.T) {
	w, err := ParseWorkload([]byte("queries: [{text: hi}]\n"))
	if err != nil {
		t.Fatalf("ParseWorkload: %v", err)
	}
	if w.Endpoint != EndpointChat || w.Model != "auto" || w.Users != 1 || w.Sessions.History != HistoryServer || !w.extras() {
		t.Errorf("defaults = endpoint %q model %q users %d history %q extras %v; want chat auto 1 server true",
			w.Endpoint, w.Model, w.Users, w.Sessions.History, w.extras())
	}
}

func TestParseWorkloadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"empty", "  \n", []string{"empty"}},
		{"unknown key", "queries: [{text: hi}]\nrate: 5\n", []string{"field rate not found"}},
		{"unknown query key", "queries: [{txt: hi}]\n", []string{"field txt not found"}},
		{"wrong type", "queries: [{text: hi}]\nusers: many\n", []string{"cannot unmarshal"}},
		{"two documents", "queries: [{text: hi}]\n---\nqueries: [{text: ho}]\n", []string{"more than one YAML document"}},
		{"no queries", "name: x\n", []string{"at least one query"}},
		{"text and paraphrases", "queries: [{text: a, paraphrases: [b]}]\n", []string{"queries[0]: set text or paraphrases, not both"}},
		{"neither", "queries: [{name: q, weight: 2}]\n", []string{"queries[0] (q): set text or paraphrases"}},
		{"empty paraphrase", "queries: [{paraphrases: [a, ' ']}]\n", []string{"paraphrases[1] is empty"}},
		{"negative weight", "queries: [{text: a, weight: -1}]\n", []string{"weight -1"}},
		{"bad endpoint", "endpoint: grpc\nqueries: [{text: a}]\n", []string{`endpoint "grpc"`}},
		{"stream share", "stream: 1.5\nqueries: [{text: a}]\n", []string{"stream 1.5"}},
		{"query streams", "endpoint: query\nstream: 0.5\nqueries: [{text: a}]\n", []string{"does not stream"}},
		{"query system", "endpoint: query\nsystem: x\nqueries: [{text: a}]\n", []string{"no system prompt"}},
		{"query client history", "endpoint: query\nsessions: {share: 0.5, turns: 2, history: client}\nqueries: [{text: a}]\n", []string{"history: server"}},
		{"users", "users: -3\nqueries: [{text: a}]\n", []string{"users -3"}},
		{"sessions without turns", "sessions: {share: 0.5}\nqueries: [{text: a}]\n", []string{"sessions.turns 0"}},
		{"history", "sessions: {share: 0.5, turns: 2, history: both}\nqueries: [{text: a}]\n", []string{`sessions.history "both"`}},
		{"server history without extras", "cato_extras: false\nsessions: {share: 0.5, turns: 2}\nqueries: [{text: a}]\n", []string{"need cato_extras"}},
		{"empty script", "sessions: {share: 0.5, turns: 2, scripts: [[]]}\nqueries: [{text: a}]\n", []string{"sessions.scripts[0] is empty"}},
		{"tenant without keys", "tenants: [{name: a}]\nqueries: [{text: a}]\n", []string{"tenants[0] (a): no keys"}},
		{"tenant twice", "tenants: [{name: a, keys: [k]}, {name: a, keys: [j]}]\nqueries: [{text: a}]\n", []string{`name "a" is used twice`}},
		{"key with space", "tenants: [{name: a, keys: ['k 1']}]\nqueries: [{text: a}]\n", []string{"keys[0] is empty or has white space"}},
		{"several problems", "users: 0\nstream: -1\nqueries: []\n", []string{"stream -1", "at least one query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWorkload([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("ParseWorkload(%q) = nil error; want one mentioning %q", tt.yaml, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseWorkload(%q) error = %q; want it to mention %q", tt.yaml, err, w)
				}
			}
		})
	}
}

func TestLoadWorkload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "team.yaml")
	if err := os.WriteFile(path, []byte("tenants: [{name: a, keys: [k1], keys_env: [KEY_A]}]\nqueries: [{text: hi}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"KEY_A": "k2"}
	w, err := LoadWorkload(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("LoadWorkload: %v", err)
	}
	if w.Name != "team" {
		t.Errorf("Name = %q; want %q (the file name)", w.Name, "team")
	}
	if diff := cmp.Diff([]string{"k1", "k2"}, w.Tenants[0].Keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	delete(env, "KEY_A")
	if _, err := LoadWorkload(path, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "KEY_A is not set") {
		t.Errorf("LoadWorkload with KEY_A unset: error = %v; want it to say KEY_A is not set", err)
	}
}

// TestShippedWorkloads checks that every workload in bench/workloads parses.
func TestShippedWorkloads(t *testing.T) {
	files, err := filepath.Glob("../../bench/workloads/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no workloads found in bench/workloads (err %v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := LoadWorkload(f, func(string) string { return "key-from-env" }); err != nil {
				t.Error(err)
			}
		})
	}
}
