package rollout

import (
	"net/http"
	"testing"
)

func TestExtractIdentity(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		body   string
		want   Identity
	}{
		{"body fields", nil, `{"model":"auto","user":"u-1","session_id":"s-1"}`, Identity{"t", "u-1", "s-1"}},
		{"headers", http.Header{"X-Cato-User": {"u-2"}, "X-Cato-Session": {"s-2"}}, `{"model":"auto"}`, Identity{"t", "u-2", "s-2"}},
		{"body beats header", http.Header{"X-Cato-User": {"u-2"}}, `{"user":"u-1"}`, Identity{"t", "u-1", ""}},
		{"non-string fields", http.Header{"X-Cato-Session": {"s-h"}}, `{"user":42,"session_id":null}`, Identity{"t", "", "s-h"}},
		{"not json", http.Header{"X-Cato-User": {"u-h"}}, `user=u-1`, Identity{"t", "u-h", ""}},
		{"empty body", nil, ``, Identity{"t", "", ""}},
		{"json array", nil, `[{"user":"u"}]`, Identity{"t", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			if got := ExtractIdentity("t", h, []byte(tt.body)); got != tt.want {
				t.Errorf("ExtractIdentity = %+v; want %+v", got, tt.want)
			}
		})
	}
}

// FuzzExtractIdentity checks that any body and headers give an identity
// without panicking, that its bucket is in range and stable, and that the
// body's user wins over the header's.
func FuzzExtractIdentity(f *testing.F) {
	seeds := []struct{ body, user, session, tenant string }{
		{`{"model":"auto","user":"u-1","session_id":"s-1"}`, "", "", "team-a"},
		{`{"messages":[{"role":"user","content":"hi"}]}`, "u-h", "s-h", ""},
		{`{"user":"\u0000\ud800","session_id":"é"}`, "", "", "t"},
		{`{"user":{"nested":true}}`, "x", "", "t"},
		{`{"user":"a","user":"b"}`, "", "", "t"},
		{`{`, "", "", ""},
		{"\xff\xfe", "\x00", "", "\xff"},
		{`null`, "", "s", "t"},
	}
	for _, s := range seeds {
		f.Add(s.body, s.user, s.session, s.tenant)
	}
	f.Fuzz(func(t *testing.T, body, user, session, tenant string) {
		h := http.Header{}
		h.Set(HeaderUser, user)
		h.Set(HeaderSession, session)
		id := ExtractIdentity(tenant, h, []byte(body))
		if id.Tenant != tenant {
			t.Fatalf("tenant = %q; want %q", id.Tenant, tenant)
		}
		if id.User == "" && h.Get(HeaderUser) != "" {
			t.Fatalf("user empty although header says %q", h.Get(HeaderUser))
		}
		b1, ok1 := id.Bucket()
		b2, ok2 := id.Bucket()
		if b1 != b2 || ok1 != ok2 {
			t.Fatalf("Bucket not stable: %d,%v then %d,%v", b1, ok1, b2, ok2)
		}
		if b1 >= Buckets {
			t.Fatalf("bucket %d out of range", b1)
		}
		if ok1 != (id.User != "" || id.Session != "") {
			t.Fatalf("Bucket ok = %v for %+v", ok1, id)
		}
	})
}
