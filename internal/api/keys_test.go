package api

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeKeyDocument(t *testing.T) {
	tests := []struct {
		name, doc string
		ok        bool
	}{
		{"full", `{"tenant": "team-a", "models": ["m"], "rpm": 600, "tpm": 200000, "budget_usd": 50, "budget_period": "month"}`, true},
		{"tenant only", `{"tenant": "team-a"}`, true},
		{"unknown field", `{"tenant": "team-a", "rpn": 5}`, false},
		{"two documents", `{"tenant": "team-a"} {"tenant": "team-b"}`, false},
		{"trailing garbage", `{"tenant": "team-a"} x`, false},
		{"wrong type", `{"tenant": "team-a", "rpm": "600"}`, false},
		{"array", `[]`, false},
		{"empty", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeKeyDocument([]byte(tt.doc))
			if (err == nil) != tt.ok {
				t.Errorf("decodeKeyDocument(%s) = %v; want ok %v", tt.doc, err, tt.ok)
			}
			if err != nil {
				if status, _, _ := describe(err, ""); status != 400 {
					t.Errorf("answered %d; want 400", status)
				}
			}
		})
	}
}

// FuzzDecodeKeyDocument: any body is decoded or refused with a 400, and a
// decoded document encodes back to itself.
func FuzzDecodeKeyDocument(f *testing.F) {
	for _, s := range []string{
		`{"tenant": "team-a", "models": ["m"], "rpm": 600, "tpm": 200000, "budget_usd": 50, "budget_period": "month"}`,
		`{"tenant": "t\u0085"}`, `{"rpm": 1e400}`, `{"tenant": "a", "tenant": "b"}`, `null`, `{"models": [null]}`, `{} ]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := decodeKeyDocument(body)
		if err != nil {
			if status, _, _ := describe(err, ""); status != 400 {
				t.Fatalf("refused with %d; want 400", status)
			}
			return
		}
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeKeyDocument(b)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if d := cmp.Diff(doc, again); d != "" {
			t.Errorf("round trip (-first +second):\n%s", d)
		}
	})
}
