package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/cato-gateway/cato/internal/llm"
)

// Scope is the part of a request an answer depends on besides the
// question: entries are only ever found by lookups of the same scope.
type Scope struct {
	// Tenant is the tenant of the API key.
	Tenant string
	// Model is the model the client asked for: a tier name, a model name,
	// or "auto" when the router chooses. Not the model that answered.
	Model string
	// System is a hash of everything besides the question and the model
	// that shapes the answer: the system and developer messages and, for
	// scopes made by ScopeOf, the request's answer-shaping fields. Empty
	// for a NewScope without a system prompt.
	System string
	// Domain is the request's domain ("general" when unset).
	Domain string
}

// NewScope returns the scope of a request, hashing its system prompt.
func NewScope(tenant, model, systemPrompt, domain string) Scope {
	return Scope{Tenant: tenant, Model: model, System: SystemHash(systemPrompt), Domain: domain}
}

// ScopeOf returns the scope of req for tenant and domain: the model it
// asks for, and in System the hash of its system prompt together with every
// field that shapes the answer, so that only the same request is answered
// from the cache. Those fields are every member the client sent besides
// the messages (req.Extra: response_format, tools, tool_choice, n, seed,
// logprobs, stop, the token limits, penalties, unknown fields…) but the
// ones in notShaping, and the same fields of a request Cato made itself.
// Two requests that differ in any of them never share a scope.
func ScopeOf(tenant string, req *llm.Request, domain string) Scope {
	h := sha256.New()
	// The version keeps apart entries stored before the scope covered the
	// request's fields: a JSON answer stored for a json_schema request
	// must not answer the same question asked as plain text.
	sys := req.SystemText()
	h.Write([]byte("scope/v2\x00" + strconv.Itoa(len(sys)) + "\x00" + sys))
	writeShape(h, req)
	sum := h.Sum(nil)
	return Scope{Tenant: tenant, Model: req.Model, System: hex.EncodeToString(sum[:16]), Domain: domain}
}

// notShaping are the request members that do not shape the answer's
// content: the sampling settings (the bypass rule's max_temperature deals
// with them) and bookkeeping.
var notShaping = map[string]bool{
	"temperature": true, "top_p": true, "user": true, "metadata": true, "store": true,
	"service_tier": true, "safety_identifier": true, "prompt_cache_key": true,
	"prompt_cache_retention": true,
}

// writeShape writes the answer-shaping fields of req to h, in name order,
// one "\x00name=value" each; JSON values are compacted.
func writeShape(h hash.Hash, req *llm.Request) {
	fields := map[string][]byte{}
	for k, v := range req.Extra {
		if !notShaping[k] {
			fields[k] = v
		}
	}
	typed := func(name string, set bool, v func() []byte) {
		if _, sent := fields[name]; set && !sent {
			fields[name] = v()
		}
	}
	itoa := func(n int) func() []byte { return func() []byte { return strconv.AppendInt(nil, int64(n), 10) } }
	marshal := func(v any) func() []byte {
		return func() []byte { b, _ := json.Marshal(v); return b }
	}
	typed("max_tokens", req.MaxTokens > 0, itoa(req.MaxTokens))
	typed("max_completion_tokens", req.MaxCompletionTokens > 0, itoa(req.MaxCompletionTokens))
	typed("n", req.N > 1, itoa(req.N))
	typed("stop", len(req.Stop) > 0, marshal(req.Stop))
	typed("tools", len(req.Tools) > 0, marshal(req.Tools))
	typed("tool_choice", len(req.ToolChoice) > 0, func() []byte { return req.ToolChoice })
	var buf bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		buf.Reset()
		if json.Compact(&buf, fields[k]) != nil {
			buf.Reset()
			buf.Write(fields[k])
		}
		if k == "n" && buf.String() == "1" {
			continue // the default
		}
		h.Write([]byte("\x00" + strconv.Itoa(len(k)) + ":" + k + strconv.Itoa(buf.Len()) + "="))
		h.Write(buf.Bytes())
	}
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
