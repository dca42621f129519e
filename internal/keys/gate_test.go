package keys_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/store/embedded"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// flaky is a real store that fails every call while down is set.
type flaky struct {
	keys.Store
	down  atomic.Bool
	calls atomic.Int64
}

var errDown = errors.New("connection refused")

func (f *flaky) check() error {
	f.calls.Add(1)
	if f.down.Load() {
		return errDown
	}
	return nil
}

func (f *flaky) Lookup(ctx context.Context, hash string) (keys.Key, error) {
	if err := f.check(); err != nil {
		return keys.Key{}, err
	}
	return f.Store.Lookup(ctx, hash)
}

func (f *flaky) Admit(ctx context.Context, a keys.Admission) (keys.Verdict, error) {
	if err := f.check(); err != nil {
		return keys.Verdict{}, err
	}
	return f.Store.Admit(ctx, a)
}

func (f *flaky) Settle(ctx context.Context, s keys.Settlement) error {
	if err := f.check(); err != nil {
		return err
	}
	return f.Store.Settle(ctx, s)
}

func newGate(t *testing.T, config ...keys.ConfigKey) (*keys.Gate, *flaky, *clock) {
	t.Helper()
	db, err := embedded.Open(embedded.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &flaky{Store: embedded.NewKeyStore(db)}
	c := &clock{now: time.Date(2026, 12, 6, 12, 0, 10, 0, time.UTC)}
	g, err := keys.New(keys.Options{Store: st, Now: c.Now}, config)
	if err != nil {
		t.Fatal(err)
	}
	return g, st, c
}

func TestAuthenticate(t *testing.T) {
	g, st, c := newGate(t, keys.ConfigKey{Secret: "from-config", Tenant: "team-a", Limits: keys.Limits{RPM: 5}})
	ctx := t.Context()
	k, secret, err := g.Create(ctx, "team-b", keys.Limits{Models: []string{"m"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, secret, tenant string
		err                  error
	}{
		{"config", "from-config", "team-a", nil},
		{"created", secret, "team-b", nil},
		{"unknown", "cato-nope", "", keys.ErrUnknown},
		{"empty", "", "", keys.ErrUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := g.Authenticate(ctx, tt.secret)
			if !errors.Is(err, tt.err) || got.Tenant != tt.tenant {
				t.Errorf("Authenticate = %q, %v; want %q, %v", got.Tenant, err, tt.tenant, tt.err)
			}
		})
	}

	// A revocation made through another replica's Gate is seen once the
	// copy is older than CacheTTL.
	other, err := keys.New(keys.Options{Store: st.Store, Now: c.Now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Authenticate(ctx, secret); !errors.Is(err, keys.ErrRevoked) {
		t.Errorf("on the revoking replica: %v; want ErrRevoked at once", err)
	}
	if _, err := g.Authenticate(ctx, secret); err != nil {
		t.Errorf("within CacheTTL: %v; want the cached copy", err)
	}
	c.Add(keys.DefaultCacheTTL)
	if _, err := g.Authenticate(ctx, secret); !errors.Is(err, keys.ErrRevoked) {
		t.Errorf("after CacheTTL: %v; want ErrRevoked", err)
	}
}

func TestAuthenticateStoreDown(t *testing.T) {
	g, st, c := newGate(t)
	ctx := t.Context()
	_, seen, err := g.Create(ctx, "team-a", keys.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	_, unseen, err := g.Create(ctx, "team-b", keys.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Authenticate(ctx, seen); err != nil {
		t.Fatal(err)
	}
	st.down.Store(true)
	c.Add(time.Hour)
	if k, err := g.Authenticate(ctx, seen); err != nil || k.Tenant != "team-a" {
		t.Errorf("a key seen before, store down: %q, %v; want the old copy", k.Tenant, err)
	}
	if _, err := g.Authenticate(ctx, unseen); !errors.Is(err, keys.ErrUnavailable) {
		t.Errorf("a key never seen, store down: %v; want ErrUnavailable", err)
	}
	// The guard is open: calls fail without reaching the store.
	before := st.calls.Load()
	for range 10 {
		_, _ = g.Authenticate(ctx, unseen)
	}
	if n := st.calls.Load() - before; n != 0 {
		t.Errorf("%d store calls while the guard is open; want 0", n)
	}
}

func TestAdmit(t *testing.T) {
	g, st, c := newGate(t)
	ctx := t.Context()
	k, _, err := g.Create(ctx, "team-a", keys.Limits{RPM: 2, TPM: 1000, BudgetUSD: 1})
	if err != nil {
		t.Fatal(err)
	}
	var tickets []keys.Ticket
	for range 2 {
		tk, err := g.Admit(ctx, k, 100)
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, tk)
	}
	_, err = g.Admit(ctx, k, 100)
	var le *keys.LimitError
	if !errors.As(err, &le) || le.Refused != keys.RefusedRPM || le.RetryAfter != 50*time.Second {
		t.Fatalf("third request at 12:00:10 = %v; want refused by rpm, retry after 50s", err)
	}

	c.Add(time.Minute)
	// A ticket of the last minute settles a larger usage in this one, and
	// its cost.
	tickets[0].Settle(ctx, 900, 0.6)
	tickets[1].Settle(ctx, 10, 0.5) // smaller usage: dropped, cost counted
	_, err = g.Admit(ctx, k, 100)
	if !errors.As(err, &le) || le.Refused != keys.RefusedBudget {
		t.Fatalf("after 1.1 USD of 1: %v; want refused by the budget", err)
	}
	if want := 26*24*time.Hour - (12*time.Hour + 70*time.Second); le.RetryAfter != want {
		t.Errorf("budget RetryAfter = %v; want until the month ends, %v", le.RetryAfter, want)
	}

	// A key without limits costs no store call; a store that is down
	// admits (fail open).
	free, _, err := g.Create(ctx, "team-b", keys.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	before := st.calls.Load()
	if _, err := g.Admit(ctx, free, 1e6); err != nil {
		t.Errorf("no limits: %v", err)
	}
	if n := st.calls.Load() - before; n != 0 {
		t.Errorf("%d store calls for a key without limits", n)
	}
	st.down.Store(true)
	if _, err := g.Admit(ctx, k, 100); err != nil {
		t.Errorf("store down: %v; want admitted", err)
	}
}

func TestSettleCorrectsTheEstimate(t *testing.T) {
	g, _, _ := newGate(t)
	ctx := t.Context()
	k, _, err := g.Create(ctx, "team-a", keys.Limits{TPM: 1000})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := g.Admit(ctx, k, 800)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Admit(ctx, k, 300); err == nil {
		t.Fatal("800 + 300 of 1000 tokens admitted")
	}
	tk.Settle(ctx, 200, 0) // the answer used 200: 600 tokens back
	if _, err := g.Admit(ctx, k, 800); err != nil {
		t.Errorf("200 + 800 of 1000 tokens: %v; want admitted", err)
	}
}

func TestCreateRefusesBadLimits(t *testing.T) {
	g, _, _ := newGate(t)
	for _, tt := range []struct {
		tenant string
		l      keys.Limits
	}{
		{"", keys.Limits{}},
		{"team\u0085", keys.Limits{}},
		{"team\xff", keys.Limits{}},
		{"t", keys.Limits{RPM: -1}},
		{"t", keys.Limits{BudgetUSD: -1}},
		{"t", keys.Limits{BudgetPeriod: "week"}},
		{"t", keys.Limits{Models: []string{""}}},
	} {
		if _, _, err := g.Create(t.Context(), tt.tenant, tt.l); !errors.Is(err, keys.ErrInvalid) {
			t.Errorf("Create(%q, %+v) = %v; want ErrInvalid", tt.tenant, tt.l, err)
		}
	}
}
