package embedded

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/session"
)

// FuzzQueueRecord checks the memory queue's record: any value shorter
// than its header is refused, any other decodes, and encoding what was
// decoded gives the value back byte for byte.
func FuzzQueueRecord(f *testing.F) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	r := queueRecord{Enqueued: at, Leased: at.Add(time.Second), Visible: at.Add(time.Minute), Attempts: 3, Epoch: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, item: []byte(`{"tenant":"t","query":"q"}`)}
	f.Add(r.encode())
	f.Add((&queueRecord{}).encode())
	f.Add(make([]byte, queueHeader-1))
	f.Add(bytes.Repeat([]byte{0xff}, queueHeader+3))
	f.Fuzz(func(t *testing.T, v []byte) {
		r, err := decodeQueueRecord(v)
		if err != nil {
			if len(v) >= queueHeader {
				t.Fatalf("refused %d bytes: %v", len(v), err)
			}
			return
		}
		if len(v) < queueHeader {
			t.Fatalf("accepted %d bytes, shorter than the header", len(v))
		}
		if got := r.encode(); !bytes.Equal(got, v) {
			t.Fatalf("round trip:\n %x\nbecame\n %x", v, got)
		}
	})
}

// FuzzDecodeFlag checks the stored rollout flag: any value is refused or
// decoded, and a decoded flag encodes to a value that decodes to it again.
func FuzzDecodeFlag(f *testing.F) {
	b, _ := json.Marshal(rollout.Flag{Percentage: 12.5, Version: 7, Source: rollout.SourceAdminAPI, Actor: "ops", Reason: "ramp", At: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Ref: "v3"})
	for _, s := range []string{string(b), `{}`, `{"percentage":"x"}`, `{"at":"yesterday"}`, `null`, `{"percentage":1e308,"version":-1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		fl, err := decodeFlag(v)
		if err != nil {
			return
		}
		enc, err := json.Marshal(fl)
		if err != nil {
			return // a time outside what JSON can write (year > 9999) is not storable either
		}
		back, err := decodeFlag(enc)
		if err != nil {
			t.Fatalf("%s (from %q) does not decode: %v", enc, v, err)
		}
		if !back.At.Equal(fl.At) {
			t.Fatalf("at %v became %v", fl.At, back.At)
		}
		back.At = fl.At
		if back != fl {
			t.Fatalf("round trip: %+v became %+v", fl, back)
		}
	})
}

// FuzzKeyLayout checks that the keys the store builds keep tenants, users
// and sessions apart: two valid keys map to the same record key only when
// they are the same key, and a scan of one user's prefix never reaches
// another user's items, whatever the item id.
func FuzzKeyLayout(f *testing.F) {
	f.Add("team-a", "u-1", "team-a", "u-2", "id")
	f.Add("team-a", "u-1", "team-a", "u-1", "x\x00y")
	f.Add("a", "b\x00c", "a\x00b", "c", "")
	f.Add("t", "", "t", "", "")
	f.Add("t-1", "u", "t", "-1\x00u", "i")
	f.Fuzz(func(t *testing.T, t1, u1, t2, u2, id string) {
		k1, k2 := memory.Key{Tenant: t1, User: u1}, memory.Key{Tenant: t2, User: u2}
		if k1.Validate() == nil && k2.Validate() == nil {
			if bytes.Equal(userKey(k1), userKey(k2)) != (k1 == k2) {
				t.Fatalf("userKey(%q) and userKey(%q) collide", k1, k2)
			}
			item := userItemKey(k2, id)
			if bytes.HasPrefix(item, userPrefix(k1)) != (k1 == k2) {
				t.Fatalf("a scan of %q's prefix reaches %q's item %q", k1, k2, id)
			}
			k, gotID, ok := splitUserID(item)
			if !ok || k != k2 || gotID != id {
				t.Fatalf("splitUserID(userItemKey(%q, %q)) = %q, %q, %v", k2, id, k, gotID, ok)
			}
			// The memory of a session: tenant and session id, then the user.
			if bytes.HasPrefix(sessionItemKey(t2, u2, "user", id), sessionPrefix(t1, u1)) != (k1 == k2) {
				t.Fatalf("a scan of session %q/%q reaches session %q/%q", t1, u1, t2, u2)
			}
		}
		s1, s2 := session.Key{Tenant: t1, ID: u1}, session.Key{Tenant: t2, ID: u2}
		if s1.Validate() == nil && s2.Validate() == nil && bytes.Equal(sessionKey(s1), sessionKey(s2)) != (s1 == s2) {
			t.Fatalf("sessionKey(%q) and sessionKey(%q) collide", s1, s2)
		}
	})
}
