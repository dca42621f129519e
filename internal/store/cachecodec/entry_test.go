package cachecodec

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/cache/cachetest"
)

func TestEntryRoundTrip(t *testing.T) {
	full := cachetest.NewEntry("a1", "acme", "auto", "s1")
	full.CreatedAt = time.Unix(1700000000, 123456789) // nanoseconds survive
	odd := full
	odd.Query, odd.Answer = "unicode ✓ \x00 and \"quotes\"\n", ""
	odd.Vector = []float32{float32(math.Inf(-1)), 0, -0, math.SmallestNonzeroFloat32}
	bare := cache.Entry{ID: "b"}
	for name, e := range map[string]cache.Entry{"full": full, "odd": odd, "bare": bare} {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Unmarshal(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(e, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if !got.CreatedAt.Equal(e.CreatedAt) {
				t.Errorf("CreatedAt = %v; want exactly %v", got.CreatedAt, e.CreatedAt)
			}
			m, err := Peek(b)
			if err != nil {
				t.Fatal(err)
			}
			want := Meta{ID: e.ID, Tenant: e.Scope.Tenant, Model: e.Scope.Model, AnswerModel: e.Model, SessionID: e.SessionID, ExpiresAt: e.ExpiresAt}
			if diff := cmp.Diff(want, m); diff != "" {
				t.Errorf("Peek (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnmarshalRefuses(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not json", "{", "decoding cache entry"},
		{"other version", `{"v":2,"id":"x"}`, "format 2"},
		{"no id", `{"v":1}`, "no id"},
		{"ragged vector", `{"v":1,"id":"x","vector":"AAA="}`, "whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Unmarshal([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Unmarshal(%s) error = %v; want it to mention %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestMetaMatch(t *testing.T) {
	m := Meta{Tenant: "t1", Model: "auto", AnswerModel: "haiku"}
	tests := []struct {
		f    cache.Filter
		want bool
	}{
		{cache.Filter{Tenant: "t1"}, true},
		{cache.Filter{Tenant: "t2"}, false},
		{cache.Filter{Model: "auto"}, true},
		{cache.Filter{Model: "haiku"}, true},
		{cache.Filter{Tenant: "t1", Model: "sonnet"}, false},
		{cache.Filter{Tenant: "t1", Model: "haiku"}, true},
	}
	for _, tt := range tests {
		e := cache.Entry{Scope: cache.Scope{Tenant: m.Tenant, Model: m.Model}, Model: m.AnswerModel}
		if got := m.Match(tt.f); got != tt.want || got != tt.f.Match(&e) {
			t.Errorf("Match(%+v) = %v; want %v, as cache.Filter.Match", tt.f, got, tt.want)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	b, _ := Marshal(cachetest.NewEntry("a", "t", "m", "s"))
	f.Add(b)
	f.Add([]byte(`{"v":1,"id":"x","vector":"AAAAAA=="}`))
	f.Add([]byte(`{"v":1,"id":"x","created":-1,"expires":9223372036854775807}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Unmarshal(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same entry.
		b2, err := Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := Unmarshal(b2)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(e, e2, cmpopts.EquateEmpty(), cmpopts.EquateNaNs()); diff != "" {
			t.Errorf("re-encoding changed the entry:\n%s", diff)
		}
		if _, err := Peek(b); err != nil {
			t.Errorf("Unmarshal accepts what Peek refuses: %v", err)
		}
	})
}
