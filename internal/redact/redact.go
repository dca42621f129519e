// Package redact hides the secrets a URL may carry (a password in its
// user information, a key or password among its query parameters) before
// the URL is logged or shown. Everything that prints a store or upstream
// URL goes through URL; it imports nothing of Cato.
package redact

import (
	"net/url"
	"strings"
)

// Mask replaces each secret.
const Mask = "xxxxx"

// secretParams are the query parameters whose values are secrets, in
// lower case: the forms redis, PostgreSQL (libpq), Azure OpenAI and common
// proxies use.
var secretParams = map[string]bool{
	"password": true, "pass": true, "passwd": true, "pwd": true,
	"sslpassword": true, "secret": true, "client_secret": true,
	"token": true, "access_token": true, "auth": true, "authorization": true,
	"key": true, "api_key": true, "api-key": true, "apikey": true,
	"access_key": true, "secret_key": true, "sig": true, "signature": true,
	"x-amz-signature": true, "x-amz-security-token": true,
}

// URL returns raw with its password and the values of secret query
// parameters (password=, token=, api_key=…) replaced by Mask. A value that
// does not parse as a URL is cut at its first "@" when it has one (the
// part before may hold a password) and its secret parameters are masked
// all the same, so that a malformed URL does not leak what a well-formed
// one would hide. It is safe for concurrent use.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return malformed(raw)
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), Mask)
		}
	}
	if u.RawQuery != "" {
		u.RawQuery = query(u.RawQuery)
	}
	return u.String()
}

// query masks the values of secret parameters in a raw query, keeping the
// order and spelling of the rest.
func query(raw string) string {
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if secretParams[strings.ToLower(name)] {
			parts[i] = k + "=" + Mask
		}
	}
	return strings.Join(parts, "&")
}

// malformed hides what may be a password in a string url.Parse refused.
func malformed(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if at := strings.LastIndex(rest, "@"); ok && at >= 0 {
		end := strings.IndexAny(rest, "/?#")
		if end < 0 || end > at {
			rest = Mask + rest[at:]
		}
		raw = scheme + "://" + rest
	}
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i+1] + query(raw[i+1:])
	}
	return raw
}
