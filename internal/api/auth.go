package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/requestid"
	"github.com/cato-gateway/cato/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
)

// Auth holds the keys Cato accepts, hashed: the keys themselves are never
// kept. The zero Auth refuses every request; set Anonymous to accept
// requests without a key.
type Auth struct {
	// Anonymous accepts client requests without a valid key, as tenant
	// "anonymous"; bearer tokens are then ignored. app sets it only when no
	// client keys are configured and Cato listens on loopback.
	Anonymous bool
	// Keys authenticates client keys (those of config and those created
	// through the admin API) and enforces their limits, and serves
	// /api/admin/cato/keys. Nil: only the keys of AddKey are accepted,
	// without limits, and there is no keys API.
	Keys    *keys.Gate
	tenants map[[32]byte]string
	admin   *[32]byte
}

// AddKey accepts key for tenant.
func (a *Auth) AddKey(key, tenant string) {
	if a.tenants == nil {
		a.tenants = map[[32]byte]string{}
	}
	a.tenants[sha256.Sum256([]byte(key))] = tenant
}

// SetAdminKey sets the admin key; empty means none (admin endpoints are then
// open only in anonymous mode).
func (a *Auth) SetAdminKey(key string) {
	if key == "" {
		a.admin = nil
		return
	}
	h := sha256.Sum256([]byte(key))
	a.admin = &h
}

// AnonymousTenant is the tenant of requests accepted without a key.
const AnonymousTenant = "anonymous"

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// client returns the request's key, which names its tenant and limits.
func (a *Auth) client(r *http.Request) (keys.Key, error) {
	if a.Anonymous {
		return keys.Key{Tenant: AnonymousTenant}, nil
	}
	secret := bearer(r)
	if secret == "" {
		return keys.Key{}, fail(codeMissingKey, "an API key is required: send Authorization: Bearer <key>")
	}
	if t, ok := a.tenants[sha256.Sum256([]byte(secret))]; ok {
		return keys.Key{Tenant: t}, nil
	}
	if a.Keys != nil {
		k, err := a.Keys.Authenticate(r.Context(), secret)
		switch {
		case err == nil:
			return k, nil
		case errors.Is(err, keys.ErrRevoked):
			return keys.Key{}, fail(codeInvalidKey, "the API key was revoked")
		case !errors.Is(err, keys.ErrUnknown):
			return keys.Key{}, err
		}
	}
	return keys.Key{}, fail(codeInvalidKey, "the API key is not valid")
}

// checkAdmin returns nil when the request carries the admin key.
func (a *Auth) checkAdmin(r *http.Request) error {
	if a.admin == nil {
		if a.Anonymous {
			return nil
		}
		return fail(codeAdminDisabled, "no admin key is configured; set the variable named by auth.admin_key_env")
	}
	key := bearer(r)
	if key == "" {
		return fail(codeMissingKey, "the admin API needs the admin key: send Authorization: Bearer <key>")
	}
	h := sha256.Sum256([]byte(key))
	if subtle.ConstantTimeCompare(h[:], a.admin[:]) != 1 {
		return fail(codeNotAdmin, "this key may not use the admin API")
	}
	return nil
}

type clientKey struct{}

// tenantOf returns the authenticated tenant of a client request.
func tenantOf(ctx context.Context) string {
	return keyOf(ctx).Tenant
}

// keyOf returns the authenticated key of a client request: its tenant and
// limits.
func keyOf(ctx context.Context) *keys.Key {
	if k, ok := ctx.Value(clientKey{}).(*keys.Key); ok {
		return k
	}
	if rw, ok := requestid.SourceOf(ctx).(*response); ok && rw.hasKey {
		return &rw.key
	}
	return &keys.Key{}
}

// allowedModels returns the models the request's key may use; nil means
// any.
func allowedModels(ctx context.Context) []string {
	if m := keyOf(ctx).Limits.Models; len(m) > 0 {
		return m
	}
	return nil
}

// access says who may call a route.
type access uint8

const (
	public access = iota // anyone: health and metrics, for probes and scrapers
	client               // a client key (none in anonymous mode); the tenant is recorded
	admin                // the admin key
)

// guard wraps h so that only callers with access a reach it.
func (s *Server) guard(a access, h http.HandlerFunc) http.Handler {
	switch a {
	case client:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !s.admit(w, r) {
				return
			}
			k, err := s.opt.Auth.client(r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if telemetry.Recording(r.Context()) { // Set's arguments would cost an allocation
				telemetry.Set(r.Context(), attribute.String("cato.tenant", k.Tenant))
			}
			if rw := responseOf(w); requestid.SourceOf(r.Context()) == requestid.Source(rw) {
				// The context carries the response already (serve): the
				// key goes in it, without a context or request of its own.
				rw.key, rw.hasKey = k, true
				h(w, r)
				return
			}
			kc := k // only this path moves the key to the heap
			h(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, &kc)))
		})
	case admin:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := s.opt.Auth.checkAdmin(r); err != nil {
				s.writeError(w, r, err)
				return
			}
			h(w, r)
		})
	}
	return h
}
