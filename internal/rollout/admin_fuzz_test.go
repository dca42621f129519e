package rollout

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

// FuzzParseChange checks the PUT /api/admin/cato/rollout document: any
// body is refused with an error wrapping ErrInvalidFlag or accepted with a
// percentage in 0..100 on a whole bucket and a source the admin API may
// set; an accepted change written back as a document reads the same.
func FuzzParseChange(f *testing.F) {
	for _, s := range []string{
		`{"use_new_orchestrator": {"percentage": 10}}`,
		`{"use_new_orchestrator": {"percentage": 0}, "actor": "ops", "reason": "rollback", "source": "cli"}`,
		`{"use_new_orchestrator": {"percentage": 12.345}, "source": "admin_api"}`,
		`{"use_new_orchestrator": {"percentage": 100.004}}`,
		`{"use_new_orchestrator": {"percentage": 101}}`,
		`{"use_new_orchestrator": {"percentage": -0.001}}`,
		`{"use_new_orchestrator": {"percentage": "10"}}`,
		`{"use_new_orchestrator": {"percentage": 1e400}}`,
		`{"use_new_orchestrator": {}}`,
		`{"use_new_orchestrator": {"percentage": 5}, "source": "auto_rollback"}`,
		`{"use_new_orchestrator": {"percentage": 5}, "actor": 7}`,
		`{"use_new_orchestrator": {"percentage": 5}} {}`,
		`{"USE_NEW_ORCHESTRATOR": {"Percentage": 5}, "Actor": "\u00e9\ud800"}`,
		`null`, ``, `[]`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ch, err := ParseChange(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidFlag) {
				t.Fatalf("ParseChange(%q) = %v; want an error wrapping ErrInvalidFlag", body, err)
			}
			return
		}
		p := ch.Percentage
		if math.IsNaN(p) || p < 0 || p > 100 || math.Round(p*100)/100 != p {
			t.Fatalf("ParseChange(%q) accepted percentage %v", body, p)
		}
		if ch.Source != SourceAdminAPI && ch.Source != SourceCLI {
			t.Fatalf("ParseChange(%q) accepted source %q", body, ch.Source)
		}
		if ch.Version != 0 || !ch.At.IsZero() || ch.Ref != "" {
			t.Fatalf("ParseChange(%q) let the client set what the store sets: %+v", body, ch)
		}
		doc, err := json.Marshal(AdminChange{UseNewOrchestrator: &Setting{Percentage: &p}, Actor: ch.Actor, Reason: ch.Reason, Source: ch.Source})
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseChange(doc)
		if err != nil || again != ch {
			t.Fatalf("round trip of %q: %s read as %+v, %v; want %+v", body, doc, again, err, ch)
		}
	})
}
