package rollout

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDualWrite(t *testing.T) {
	const chat = `{"model":"auto","session_id":"s-1","messages":[{"role":"user","content":"first"},{"role":"assistant","content":"a"},{"role":"user","content":"What is 2+2?"}]}`
	tests := []struct {
		name string
		ex   Exchange
		want []Turn
	}{
		{"recorded", Exchange{Tenant: "team-a", Session: "s-1", Request: []byte(chat), ResponseText: "4"},
			[]Turn{{Tenant: "team-a", Session: "s-1", Question: "What is 2+2?", Answer: "4", Model: "legacy"}}},
		{"user without a session", Exchange{Tenant: "team-a", User: "u-1", Request: []byte(chat), ResponseText: "4"},
			[]Turn{{Tenant: "team-a", User: "u-1", Question: "What is 2+2?", Answer: "4", Model: "legacy"}}},
		{"neither session nor user", Exchange{Tenant: "team-a", Request: []byte(chat), ResponseText: "4"}, nil},
		{"request Cato refuses", Exchange{Tenant: "team-a", Session: "s-1", Request: []byte(`{"messages":[]}`), ResponseText: "4"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Turn
			hook := DualWrite("legacy", func(_ context.Context, tr Turn) error {
				got = append(got, tr)
				return nil
			}, nil)
			hook(t.Context(), tt.ex)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("recorded turns (-want +got):\n%s", diff)
			}
		})
	}
	// A failed record is logged, not fatal.
	DualWrite("legacy", func(context.Context, Turn) error { return errors.New("down") }, discard())(t.Context(), tests[0].ex)
}
