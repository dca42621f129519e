package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Scope is the part of a request an answer depends on besides the
// question: entries are only ever found by lookups of the same scope.
type Scope struct {
	// Tenant is the tenant of the API key.
	Tenant string
	// Model is the model the client asked for: a tier name, a model name,
	// or "auto" when the router chooses. Not the model that answered.
	Model string
	// System is SystemHash of the request's system and developer messages;
	// empty when there are none.
	System string
	// Domain is the request's domain ("general" when unset).
	Domain string
}

// NewScope returns the scope of a request, hashing its system prompt.
func NewScope(tenant, model, systemPrompt, domain string) Scope {
	return Scope{Tenant: tenant, Model: model, System: SystemHash(systemPrompt), Domain: domain}
}

// SystemHash returns the first 16 bytes of the SHA-256 of a system prompt,
// in hex, or "" for an empty prompt.
func SystemHash(systemPrompt string) string {
	if systemPrompt == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(systemPrompt))
	return hex.EncodeToString(sum[:16])
}

// Key returns the scope as one string, unique per scope: its fields joined
// by the unit separator (0x1f), which the fields must not contain.
func (s Scope) Key() string {
	return strings.Join([]string{s.Tenant, s.Model, s.System, s.Domain}, "\x1f")
}
