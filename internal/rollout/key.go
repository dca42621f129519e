package rollout

import (
	"encoding/json"
	"net/http"
)

// Buckets is the number of buckets users are hashed into; a percentage
// selects the first Percentage*100 of them, so one bucket is 0.01%.
const Buckets = 10000

// Headers api and the CLI use to say who is asking and to force a side.
const (
	HeaderUser    = "X-Cato-User"
	HeaderSession = "X-Cato-Session"
	HeaderSide    = "X-Cato-Side"
)

// Identity is who a request comes from, as far as stickiness is concerned.
// Tenant comes from the API key; User from the request's user field (or
// X-Cato-User); Session from session_id (or X-Cato-Session).
type Identity struct {
	Tenant  string
	User    string
	Session string
}

// ExtractIdentity reads the user and session of a chat request from its
// JSON body (the user and session_id fields) and, where the body has none,
// from the X-Cato-User and X-Cato-Session headers. A body that is not a JSON
// object, or fields that are not strings, count as absent: the request still
// gets an identity, never an error. tenant is passed through.
func ExtractIdentity(tenant string, h http.Header, body []byte) Identity {
	var fields struct {
		User      json.RawMessage `json:"user"`
		SessionID json.RawMessage `json:"session_id"`
	}
	_ = json.Unmarshal(body, &fields) // a malformed body means no identity in it
	id := Identity{Tenant: tenant, User: jsonString(fields.User), Session: jsonString(fields.SessionID)}
	if id.User == "" {
		id.User = h.Get(HeaderUser)
	}
	if id.Session == "" {
		id.Session = h.Get(HeaderSession)
	}
	return id
}

func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// Bucket returns the identity's bucket in [0, Buckets): a hash of the tenant
// and the user, or of the tenant and the session when there is no user. It
// reports false when there is neither, so there is nothing to stick to.
//
// The hash must never change: every replica and every version of Cato has
// to put a user in the same bucket, or users would flip sides on upgrade.
// It is FNV-1a (64-bit) over tenant, a separator, a kind byte and the id,
// finished with MurmurHash3's fmix64 so that similar ids ("u-1", "u-2")
// spread evenly, then reduced modulo Buckets.
func (id Identity) Bucket() (uint32, bool) {
	kind, v := byte('u'), id.User
	if v == "" {
		kind, v = 's', id.Session
	}
	if v == "" {
		return 0, false
	}
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
	}
	add(id.Tenant)
	h = (h ^ 0) * prime // separator, so ("ab","c") and ("a","bc") differ
	h = (h ^ uint64(kind)) * prime
	add(v)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return uint32(h % Buckets), true
}
