package keys

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cato-gateway/cato/internal/breaker"
)

// Errors of Authenticate and the admin operations.
var (
	// ErrUnknown is returned when a bearer key is not a key Cato knows.
	ErrUnknown = errors.New("unknown key")
	// ErrRevoked is returned when a bearer key was revoked.
	ErrRevoked = errors.New("revoked key")
	// ErrUnavailable is returned when the key store cannot be reached and
	// this replica has no copy of the key asked for.
	ErrUnavailable = errors.New("key store unavailable")
	// ErrFromConfig is returned by Revoke for a key of auth.keys, which
	// config, not the admin API, removes.
	ErrFromConfig = errors.New("key from config")
)

// LimitError is returned by Admit when a limit refuses a request.
type LimitError struct {
	// Refused is RefusedRPM, RefusedTPM or RefusedBudget.
	Refused Refusal
	// RetryAfter is how long until the limit's window or period ends.
	RetryAfter time.Duration
}

func (e *LimitError) Error() string {
	switch e.Refused {
	case RefusedBudget:
		return "the key's budget for this period is spent"
	case RefusedTPM:
		return "the key's tokens per minute are used up"
	}
	return "the key's requests per minute are used up"
}

// Defaults of Options.
const (
	// DefaultCacheTTL bounds how long a revoked key is still accepted by a
	// replica that looked it up just before: 1s, half of the 2s within
	// which a revocation must reach every replica.
	DefaultCacheTTL = time.Second
	// DefaultTimeout is the longest a request waits on one store call,
	// as for the session store.
	DefaultTimeout = 500 * time.Millisecond
	// DefaultRetryAfter is how long a store that failed is left alone
	// before one call probes it again, as for the session store.
	DefaultRetryAfter = time.Second
	// maxCached bounds the lookup cache; a full cache starts again empty,
	// so that a flood of made-up keys cannot grow it without bound.
	maxCached = 1 << 16
)

// Options are a Gate's collaborators and settings. Store is required.
type Options struct {
	Store Store
	// CacheTTL is how long a replica uses its copy of a stored key before
	// asking the store again. Zero means DefaultCacheTTL.
	CacheTTL time.Duration
	// Timeout bounds each store call on the request path. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// RetryAfter is how long calls skip a store that failed. Zero means
	// DefaultRetryAfter.
	RetryAfter time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Log receives the store going down and coming back, and each request
	// admitted without its limits checked; give it a rate-limited handler.
	// Nil means no log.
	Log *slog.Logger
}

// Gate authenticates client keys and enforces their limits. Keys from
// config are held in memory; keys created through the admin API are in
// the Store, and each replica keeps a copy of those it looked up for
// CacheTTL. Store calls on the request path go through a fail-fast guard:
// one failure makes every call fail at once for RetryAfter, after which
// one call probes the store. While the store is down, a key is looked up
// in the replica's copy, however old (a key never seen before is refused
// with ErrUnavailable), and limits are not checked: requests are admitted
// and a warning logged (fail open). A Gate is safe for concurrent use.
type Gate struct {
	opt    Options
	config map[string]Key // by hash; read-only after New
	guard  *breaker.Breaker

	mu     sync.Mutex // guards cached
	cached map[string]cachedKey
}

// cachedKey is a replica's copy of a store lookup: the key, or the
// ErrNotFound the store answered.
type cachedKey struct {
	key Key
	err error
	at  time.Time
}

// ConfigKey is a key of auth.keys: its secret as read from the
// environment, its tenant and its limits.
type ConfigKey struct {
	Secret string
	Tenant string
	Limits Limits
}

// New returns a Gate over o.Store that also accepts the keys of config.
func New(o Options, config []ConfigKey) (*Gate, error) {
	if o.CacheTTL <= 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	g := &Gate{opt: o, config: map[string]Key{}, cached: map[string]cachedKey{}}
	for i, c := range config {
		if err := c.Limits.Check(); err != nil {
			return nil, fmt.Errorf("auth.keys[%d]: %w", i, err)
		}
		h := HashSecret(c.Secret)
		g.config[h] = Key{ID: idOf(h), Tenant: c.Tenant, Hash: h, Limits: c.Limits, FromConfig: true}
	}
	g.guard = breaker.New("key_store", breaker.Config{Failures: 1, FailureRate: -1, Cooldown: o.RetryAfter, HalfOpenProbes: 1},
		breaker.Options{Now: o.Now, OnStateChange: g.changed})
	return g, nil
}

func (g *Gate) changed(t breaker.Transition) {
	switch {
	case t.From == breaker.Closed && t.To == breaker.Open:
		g.opt.Log.Warn("key store failed; using cached keys and admitting requests without limits")
	case t.To == breaker.Closed:
		g.opt.Log.Info("key store is back")
	}
}

// call runs f under the fail-fast guard with the call timeout. A failure
// is returned wrapped in ErrUnavailable.
func (g *Gate) call(ctx context.Context, f func(ctx context.Context) error) error {
	done, err := g.guard.Allow()
	if err != nil {
		return ErrUnavailable
	}
	cctx, cancel := context.WithTimeout(ctx, g.opt.Timeout)
	defer cancel()
	err = f(cctx)
	switch {
	case err == nil || errors.Is(err, ErrNotFound):
		done(breaker.Success)
	case ctx.Err() != nil:
		done(breaker.Ignored) // the caller gave up: nothing learnt about the store
	default:
		done(breaker.Failure)
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// Authenticate returns the valid key whose secret is secret: ErrUnknown
// when there is none, ErrRevoked when it was revoked, ErrUnavailable when
// the store is down and this replica holds no copy of it.
func (g *Gate) Authenticate(ctx context.Context, secret string) (Key, error) {
	h := HashSecret(secret)
	if k, ok := g.config[h]; ok {
		return k, nil
	}
	now := g.opt.Now()
	g.mu.Lock()
	c, ok := g.cached[h]
	g.mu.Unlock()
	if !ok || now.Sub(c.at) >= g.opt.CacheTTL {
		var k Key
		err := g.call(ctx, func(ctx context.Context) error {
			var err error
			k, err = g.opt.Store.Lookup(ctx, h)
			return err
		})
		switch {
		case err == nil || errors.Is(err, ErrNotFound):
			c = cachedKey{key: k, err: err, at: now}
			g.mu.Lock()
			if len(g.cached) >= maxCached {
				clear(g.cached)
			}
			g.cached[h] = c
			g.mu.Unlock()
		case ok && errors.Is(err, ErrUnavailable):
			// Stale, but the best this replica knows (fail open on lookups
			// of keys it has seen).
		default:
			return Key{}, err
		}
	}
	switch {
	case c.err != nil:
		return Key{}, ErrUnknown
	case !c.key.Revoked.IsZero():
		return Key{}, ErrRevoked
	}
	return c.key, nil
}

// WindowLayout is the time layout of window ids: a calendar minute in UTC.
const WindowLayout = "200601021504"

// windowID names the calendar minute (UTC) holding t.
func windowID(t time.Time) string { return t.UTC().Format(WindowLayout) }

// Ticket is an admitted request's account: Settle it with the answer's
// usage and cost. The zero Ticket settles nothing.
type Ticket struct {
	g      *Gate
	id     string
	window string
	period string
	tokens int64
}

// Admit counts a request of key k whose prompt is estimated at tokens
// tokens, and returns a *LimitError when one of k's limits refuses it. A
// key without limits costs no store call. When the store cannot be
// reached the request is admitted (fail open) and a warning logged.
func (g *Gate) Admit(ctx context.Context, k Key, tokens int64) (Ticket, error) {
	l := &k.Limits
	if l.RPM == 0 && l.TPM == 0 && l.BudgetUSD == 0 {
		return Ticket{}, nil
	}
	now := g.opt.Now()
	t := Ticket{g: g, id: k.ID, window: windowID(now), period: l.BudgetPeriod.id(now), tokens: tokens}
	a := Admission{ID: k.ID, Window: t.window, Period: t.period, Tokens: tokens, RPM: l.RPM, TPM: l.TPM, BudgetNano: l.budgetNano()}
	var v Verdict
	err := g.call(ctx, func(ctx context.Context) error {
		var err error
		v, err = g.opt.Store.Admit(ctx, a)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return Ticket{}, ctx.Err()
		}
		g.opt.Log.WarnContext(ctx, "key limits not checked: the key store is unavailable; admitting", slog.String("key_id", k.ID), slog.Any("err", err))
		return t, nil
	}
	if v.Refused == Admitted {
		return t, nil
	}
	e := &LimitError{Refused: v.Refused}
	if v.Refused == RefusedBudget {
		e.RetryAfter = periodEnd(l.BudgetPeriod, now).Sub(now)
	} else {
		e.RetryAfter = now.Truncate(time.Minute).Add(time.Minute).Sub(now)
	}
	return Ticket{}, e
}

// periodEnd returns when the period holding now ends.
func periodEnd(p Period, now time.Time) time.Time {
	now = now.UTC()
	y, m, d := now.Date()
	if p == Day {
		return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
}

// Settle records the answer to an admitted request: tokens is its actual
// usage (prompt and answer; zero for an answer from the cache) and costUSD
// its cost. The difference from the estimate Admit counted corrects the
// minute the request was admitted in, while that minute lasts; after it, a
// larger actual usage is charged to the current minute and a smaller one
// is dropped. A failure is logged, not returned: the answer has gone.
func (t Ticket) Settle(ctx context.Context, tokens int64, costUSD float64) {
	if t.g == nil {
		return
	}
	g := t.g
	s := Settlement{ID: t.id, Window: t.window, Tokens: tokens - t.tokens, Period: t.period, CostNano: toNano(costUSD)}
	if now := windowID(g.opt.Now()); now != t.window {
		s.Window = now
		s.Tokens = max(s.Tokens, 0)
	}
	if s.Tokens == 0 && s.CostNano == 0 {
		return
	}
	err := g.call(context.WithoutCancel(ctx), func(ctx context.Context) error { return g.opt.Store.Settle(ctx, s) })
	if err != nil {
		g.opt.Log.WarnContext(ctx, "key usage not recorded: the key store is unavailable", slog.String("key_id", t.id), slog.Any("err", err))
	}
}

// Create makes a key for tenant with limits l and stores it. It returns
// the key and its secret, which is shown once and kept nowhere.
func (g *Gate) Create(ctx context.Context, tenant string, l Limits) (Key, string, error) {
	if err := checkTenant(tenant); err != nil {
		return Key{}, "", err
	}
	if err := l.Check(); err != nil {
		return Key{}, "", err
	}
	secret := newSecret()
	h := HashSecret(secret)
	k := Key{ID: idOf(h), Tenant: tenant, Hash: h, Limits: l, Created: g.opt.Now().UTC().Truncate(time.Microsecond)}
	if err := g.opt.Store.Create(ctx, k); err != nil {
		return Key{}, "", fmt.Errorf("storing key: %w", err)
	}
	return k, secret, nil
}

func checkTenant(t string) error {
	if t == "" || len(t) > 128 || !utf8.ValidString(t) {
		return fmt.Errorf("%w: tenant must have 1 to 128 characters of UTF-8", ErrInvalid)
	}
	for _, r := range t {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: tenant holds a character that is not printable", ErrInvalid)
		}
	}
	return nil
}

// Listed is a key as the admin API lists it: no secret, no hash, and the
// spend of its current budget period.
type Listed struct {
	ID           string   `json:"id"`
	Tenant       string   `json:"tenant"`
	Models       []string `json:"models"`
	RPM          int64    `json:"rpm"`
	TPM          int64    `json:"tpm"`
	BudgetUSD    float64  `json:"budget_usd"`
	BudgetPeriod Period   `json:"budget_period"`
	// Period names the current budget period ("2026-12").
	Period   string  `json:"period"`
	SpentUSD float64 `json:"spent_usd"`
	// Source is "config" or "api".
	Source  string     `json:"source"`
	Created *time.Time `json:"created,omitempty"`
	Revoked *time.Time `json:"revoked,omitempty"`
}

// List returns every key, from config first, then from the store oldest
// first, with its spend in the current period. tenant, when not empty,
// keeps only that tenant's keys.
func (g *Gate) List(ctx context.Context, tenant string) ([]Listed, error) {
	var all []Key
	for _, k := range g.config {
		all = append(all, k)
	}
	slices.SortFunc(all, func(a, b Key) int { return cmp.Or(strings.Compare(a.Tenant, b.Tenant), strings.Compare(a.ID, b.ID)) })
	stored, err := g.opt.Store.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	all = append(all, stored...)
	now := g.opt.Now()
	out := make([]Listed, 0, len(all))
	for _, k := range all {
		if tenant != "" && k.Tenant != tenant {
			continue
		}
		l := k.Limits
		if l.BudgetPeriod == "" {
			l.BudgetPeriod = Month
		}
		period := l.BudgetPeriod.id(now)
		spent, err := g.opt.Store.Spent(ctx, k.ID, period)
		if err != nil {
			return nil, fmt.Errorf("reading the spend of key %s: %w", k.ID, err)
		}
		models := l.Models
		if models == nil {
			models = []string{}
		}
		e := Listed{ID: k.ID, Tenant: k.Tenant, Models: models, RPM: l.RPM, TPM: l.TPM, BudgetUSD: l.BudgetUSD,
			BudgetPeriod: l.BudgetPeriod, Period: period, SpentUSD: fromNano(spent), Source: "api"}
		if k.FromConfig {
			e.Source = "config"
		} else {
			c := k.Created.UTC()
			e.Created = &c
		}
		if !k.Revoked.IsZero() {
			r := k.Revoked.UTC()
			e.Revoked = &r
		}
		out = append(out, e)
	}
	return out, nil
}

// Revoke revokes the stored key id on every replica: this replica forgets
// its copy at once, the others within CacheTTL. ErrNotFound when there is
// no such key, ErrFromConfig for a key of auth.keys.
func (g *Gate) Revoke(ctx context.Context, id string) error {
	for _, k := range g.config {
		if k.ID == id {
			return ErrFromConfig
		}
	}
	if err := g.opt.Store.Revoke(ctx, id, g.opt.Now()); err != nil {
		return fmt.Errorf("revoking key %s: %w", id, err)
	}
	g.mu.Lock()
	for h, c := range g.cached {
		if c.key.ID == id {
			delete(g.cached, h)
		}
	}
	g.mu.Unlock()
	return nil
}
