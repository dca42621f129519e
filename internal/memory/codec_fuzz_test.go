package memory

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzVectorJSON checks the JSON form of an embedding that episodes are
// stored in: any input is refused or read into whole float32s, and what is
// read encodes to a form that reads back bit for bit (NaNs included).
func FuzzVectorJSON(f *testing.F) {
	one, _ := Vector{1, -0.5, float32(math.NaN()), float32(math.Inf(1))}.MarshalJSON()
	for _, s := range []string{string(one), `null`, `""`, `"AAAA"`, `"AAA"`, `"AAAAAA=="`, `[1,2]`, `"`, `"!!!!"`, `"AACAPw=="`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v Vector
		if err := v.UnmarshalJSON(data); err != nil {
			return
		}
		enc, err := v.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back Vector
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("%q read as %v, written as %s, does not read back: %v", data, v, enc, err)
		}
		if len(back) != len(v) {
			t.Fatalf("%d floats became %d", len(v), len(back))
		}
		for i := range v {
			if math.Float32bits(v[i]) != math.Float32bits(back[i]) {
				t.Fatalf("float %d: %x became %x", i, math.Float32bits(v[i]), math.Float32bits(back[i]))
			}
		}
		if want := 2 + base64.StdEncoding.EncodedLen(4*len(v)); len(enc) != want {
			t.Fatalf("%d floats written in %d bytes; want %d", len(v), len(enc), want)
		}
	})
}

// FuzzInteraction checks the interaction document that the memory queue
// keeps (and that POST /api/cato/memory/interactions becomes): a decoded
// interaction is refused with ErrInvalidKey or ErrInvalidInteraction or
// accepted with a tenant, text and bounded ids; an accepted one encodes and
// decodes to the same interaction, still accepted.
func FuzzInteraction(f *testing.F) {
	for _, s := range []string{
		`{"id":"i-1","tenant":"team-a","user":"u-1","session_id":"s-1","domain":"ai","query":"What is ML?","response":"A field of AI.","model":"m","source":"api","at":"2026-01-02T03:04:05.000000006Z"}`,
		`{"tenant":"t","query":"   ","response":""}`,
		`{"tenant":"","query":"q"}`,
		`{"tenant":"t","user":"a\u0000b","query":"q"}`,
		`{"tenant":"t","domain":"\ud800","query":"q"}`,
		`{"tenant":"t","query":"q","at":"not a time"}`,
		`{"tenant":"t","response":"only an answer"}`,
		`{"tenant":"t","user":"..","query":"q"}`,
		`[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in Interaction
		if json.Unmarshal(data, &in) != nil {
			return
		}
		if err := in.Validate(); err != nil {
			if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrInvalidInteraction) {
				t.Fatalf("Validate(%q) = %v; want ErrInvalidKey or ErrInvalidInteraction", data, err)
			}
			return
		}
		if in.Tenant == "" || strings.TrimSpace(in.Query+in.Response) == "" || in.User == "." || in.User == ".." || in.User == "/" {
			t.Fatalf("accepted %+v without a tenant or text", in)
		}
		for _, id := range []string{in.Tenant, in.User, in.SessionID, in.Domain} {
			if len(id) > MaxKeyLen || strings.ContainsRune(id, 0) || !utf8.ValidString(id) {
				t.Fatalf("accepted id %q", id)
			}
		}
		enc, err := json.Marshal(&in)
		if err != nil {
			t.Fatal(err)
		}
		var back Interaction
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("%s does not read back: %v", enc, err)
		}
		if !back.At.Equal(in.At) {
			t.Fatalf("at %v became %v", in.At, back.At)
		}
		back.At = in.At
		if back != in {
			t.Fatalf("round trip: %+v became %+v", in, back)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("accepted %+v, refused after a round trip: %v", in, err)
		}
	})
}
