package session

import (
	"errors"
	"strings"
	"testing"
)

func TestKeyValidate(t *testing.T) {
	tests := []struct {
		name string
		key  Key
		ok   bool
	}{
		{"plain", Key{Tenant: "team-a", ID: "s-1"}, true},
		{"ASCII space and punctuation", Key{Tenant: "t", ID: "user 42/chat#7"}, true},
		{"letters of other scripts", Key{Tenant: "t", ID: "Sitzung-ä-日本-😀"}, true},
		{"longest", Key{Tenant: "t", ID: strings.Repeat("x", MaxKeyLen)}, true},
		{"empty id", Key{Tenant: "t"}, false},
		{"too long", Key{Tenant: "t", ID: strings.Repeat("x", MaxKeyLen+1)}, false},
		{"NUL", Key{Tenant: "t", ID: "a\x00b"}, false},
		{"newline", Key{Tenant: "t", ID: "a\nb"}, false},
		{"tab", Key{Tenant: "t", ID: "a\tb"}, false},
		{"DEL", Key{Tenant: "t", ID: "a\x7fb"}, false},
		{"C1 next line U+0085", Key{Tenant: "t", ID: "a\u0085b"}, false},
		{"C1 CSI U+009B", Key{Tenant: "t", ID: "a\u009bb"}, false},
		{"no-break space", Key{Tenant: "t", ID: "a\u00a0b"}, false},
		{"line separator U+2028", Key{Tenant: "t", ID: "a\u2028b"}, false},
		{"right-to-left override", Key{Tenant: "t", ID: "a\u202eb"}, false},
		{"zero-width space", Key{Tenant: "t", ID: "a\u200bb"}, false},
		{"byte order mark", Key{Tenant: "t", ID: "\ufeffab"}, false},
		{"invalid UTF-8", Key{Tenant: "t", ID: "a\xffb"}, false},
		{"replacement character", Key{Tenant: "t", ID: "a\ufffdb"}, false},
		{"tenant with a control", Key{Tenant: "t\u0085", ID: "s"}, false},
		{"dot, which no URL path names", Key{Tenant: "t", ID: "."}, false},
		{"dot dot", Key{Tenant: "t", ID: ".."}, false},
		{"one slash, which the router cannot match", Key{Tenant: "t", ID: "/"}, false},
		{"dots within an id", Key{Tenant: "t", ID: "..."}, true},
		{"slashes within an id", Key{Tenant: "t", ID: "//"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.key.Validate()
			if tt.ok && err != nil {
				t.Errorf("Validate(%q) = %v; want nil", tt.key, err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Validate(%q) = %v; want ErrInvalidKey", tt.key, err)
			}
		})
	}
}
