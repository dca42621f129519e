package router

import (
	"strings"
	"testing"
)

func TestLoadCasesErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown field", `{"query":"q","want":"m","extra":1}`, `line 1: json: unknown field "extra"`},
		{"missing want", "# c\n\n{\"query\":\"q\"}", "line 3: want is missing"},
		{"two values", `{"query":"q","want":"m"} {}`, "line 1: more than one JSON value"},
		{"negative history", `{"query":"q","want":"m","history":-1}`, "line 1: history -1 is negative"},
		{"empty", "# nothing\n", "no cases"},
		{"not json", "query: q", "line 1: invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCases(strings.NewReader(tt.in))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("LoadCases(%q) = %v; want an error starting %q", tt.in, err, tt.want)
			}
		})
	}
}

func FuzzLoadCases(f *testing.F) {
	for _, s := range []string{
		`{"query":"What is 2+2?","want":"bedrock_haiku","category":"factual"}`,
		"# comment\n\n{\"query\":\"\",\"want\":\"m\",\"history\":3,\"hidden_states\":true}\n",
		`{"query":"q","want":"m"} {"x":1}`,
		"{", "\x00", `{"query":1,"want":"m"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		cases, err := LoadCases(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, c := range cases {
			if c.Want == "" || c.History < 0 {
				t.Errorf("LoadCases(%q) accepted %+v", in, c)
			}
		}
	})
}
