package cachecodec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/cache/cachetest"
)

func TestChangeRoundTrip(t *testing.T) {
	tests := []cache.Change{
		{Op: cache.OpPut, Entry: cachetest.NewEntry("a", "t", "m", "s")},
		{Op: cache.OpDelete, IDs: []string{"a", "b"}},
		{Op: cache.OpPurge, Filter: cache.Filter{Tenant: "t"}},
		{Op: cache.OpPurge, Filter: cache.Filter{Tenant: "t", Model: "m"}},
	}
	for _, c := range tests {
		b, err := MarshalChange(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnmarshalChange(b)
		if err != nil {
			t.Fatalf("UnmarshalChange(%s): %v", b, err)
		}
		if diff := cmp.Diff(c, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestUnmarshalChangeRefuses(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"op":9}`, "unknown op"},
		{`{"op":1}`, "without an entry"},
		{`{"op":3}`, "without a filter"}, // would purge everything
		{`{"op":1,"entry":{"v":1}}`, "no id"},
		{`[]`, "decoding"},
	}
	for _, tt := range tests {
		if _, err := UnmarshalChange([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("UnmarshalChange(%s) error = %v; want it to mention %q", tt.in, err, tt.want)
		}
	}
	if _, err := MarshalChange(cache.Change{}); err == nil {
		t.Error("MarshalChange(zero Change) succeeded")
	}
}

func FuzzUnmarshalChange(f *testing.F) {
	for _, c := range []cache.Change{
		{Op: cache.OpPut, Entry: cachetest.NewEntry("a", "t", "m", "s")},
		{Op: cache.OpDelete, IDs: []string{"a"}},
		{Op: cache.OpPurge, Filter: cache.Filter{Model: "m"}},
	} {
		b, _ := MarshalChange(c)
		f.Add(b)
	}
	f.Add([]byte(`{"op":2,"ids":{}}`)) // what Lua's cjson makes of an empty table
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := UnmarshalChange(b)
		if err != nil {
			return
		}
		if c.Op == cache.OpPurge && c.Filter == (cache.Filter{}) {
			t.Errorf("accepted a purge of everything: %s", b)
		}
		if _, err := MarshalChange(c); err != nil {
			t.Errorf("cannot re-encode an accepted change: %v", err)
		}
	})
}
