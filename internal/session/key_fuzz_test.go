package session

import (
	"errors"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzKeyValidate checks the session id rule every sessions endpoint and
// every request with a session applies: a key is refused with an error
// wrapping ErrInvalidKey, or accepted with a non-empty id, both parts at
// most MaxKeyLen bytes of valid UTF-8 and printable characters only.
func FuzzKeyValidate(f *testing.F) {
	for _, s := range [][2]string{
		{"team-a", "s-1"}, {"", "session with spaces"}, {"t", ""}, {"t", "a\u0085b"},
		{"t", "a\u200bb"}, {"t", "\ufeffx"}, {"t", "a\x7fb"}, {"t", "\xff"}, {"t", "\u202e"},
		{"t", "日本語-セッション"}, {"t", "."}, {"t", ".."}, {"t", "/"}, {"t", "..."}, {"t\x00", "s"}, {"t", "a\tb"}, {"t", "a\u00a0b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, tenant, id string) {
		err := Key{Tenant: tenant, ID: id}.Validate()
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("Validate(%q, %q) = %v; want an error wrapping ErrInvalidKey", tenant, id, err)
			}
			return
		}
		if id == "" || id == "." || id == ".." || id == "/" {
			t.Fatalf("accepted id %q, which GET and DELETE /api/cato/sessions/{id} cannot name (tenant %q)", id, tenant)
		}
		for _, s := range []string{tenant, id} {
			if len(s) > MaxKeyLen || !utf8.ValidString(s) {
				t.Fatalf("accepted %q: too long or invalid UTF-8", s)
			}
			for _, r := range s {
				if !unicode.IsPrint(r) {
					t.Fatalf("accepted %q, which holds %U", s, r)
				}
			}
		}
	})
}
