// Package keystest is the conformance suite every keys.Store
// implementation passes: keys created, looked up, listed and revoked;
// admissions refused by each limit; settlements; and admissions from two
// replicas at once that never let a minute exceed its limit. Backends call
// Run from their tests; it is test support and only test files import it.
package keystest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cato-gateway/cato/internal/keys"
)

// OpenFunc returns two stores over one backend, as two replicas see it.
// Stores opened by different tests may share a backend: the suite gives
// every test keys of its own, except List, which it reads as a whole, so
// each call of OpenFunc must give a backend (prefix, schema, file) of its
// own.
type OpenFunc func(t *testing.T) (a, b keys.Store)

// Run runs the suite against the stores open returns.
func Run(t *testing.T, open OpenFunc) {
	tests := []struct {
		name string
		f    func(*testing.T, keys.Store, keys.Store)
	}{
		{"CreateLookupList", testCreateLookupList},
		{"Revoke", testRevoke},
		{"RPM", testRPM},
		{"TPM", testTPM},
		{"Budget", testBudget},
		{"Settle", testSettle},
		{"KeysApart", testKeysApart},
		{"ConcurrentReplicas", testConcurrentReplicas},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := open(t)
			tt.f(t, a, b)
		})
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newKey(tenant string, l keys.Limits) keys.Key {
	return keys.Key{ID: "key_" + randomHex(8), Tenant: tenant, Hash: randomHex(32), Limits: l,
		Created: time.Now().UTC().Truncate(time.Microsecond)}
}

// sameKey compares keys as stores keep them: times to the microsecond, in
// any location.
var sameKey = cmp.Options{
	cmpopts.EquateApproxTime(time.Microsecond),
	cmpopts.EquateEmpty(),
}

func testCreateLookupList(t *testing.T, a, b keys.Store) {
	ctx := t.Context()
	k1 := newKey("team-a", keys.Limits{Models: []string{"m1", "m2"}, RPM: 600, TPM: 200000, BudgetUSD: 50, BudgetPeriod: keys.Month})
	k2 := newKey("team-b", keys.Limits{BudgetPeriod: keys.Day})
	k2.Created = k1.Created.Add(time.Second)
	for _, k := range []keys.Key{k1, k2} {
		if err := a.Create(ctx, k); err != nil {
			t.Fatalf("Create(%s) = %v", k.ID, err)
		}
	}
	got, err := b.Lookup(ctx, k1.Hash)
	if err != nil {
		t.Fatalf("Lookup from the other replica = %v", err)
	}
	if d := cmp.Diff(k1, got, sameKey); d != "" {
		t.Errorf("Lookup (-want +got):\n%s", d)
	}
	if _, err := b.Lookup(ctx, randomHex(32)); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Lookup(unknown) = %v; want ErrNotFound", err)
	}
	dup := k1
	dup.ID = "key_" + randomHex(8)
	if err := b.Create(ctx, dup); !errors.Is(err, keys.ErrExists) {
		t.Errorf("Create(same hash) = %v; want ErrExists", err)
	}
	dup = k1
	dup.Hash = randomHex(32)
	if err := b.Create(ctx, dup); !errors.Is(err, keys.ErrExists) {
		t.Errorf("Create(same id) = %v; want ErrExists", err)
	}
	list, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]keys.Key{k1, k2}, list, sameKey); d != "" {
		t.Errorf("List (-want +got):\n%s", d)
	}
}

func testRevoke(t *testing.T, a, b keys.Store) {
	ctx := t.Context()
	k := newKey("team-a", keys.Limits{})
	if err := a.Create(ctx, k); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	if err := a.Revoke(ctx, k.ID, at); err != nil {
		t.Fatalf("Revoke = %v", err)
	}
	if err := a.Revoke(ctx, k.ID, at.Add(time.Hour)); err != nil {
		t.Fatalf("second Revoke = %v", err)
	}
	got, err := b.Lookup(ctx, k.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Revoked.Equal(at) {
		t.Errorf("Revoked = %v; want the first revocation's %v", got.Revoked, at)
	}
	if err := b.Revoke(ctx, "key_"+randomHex(8), at); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Revoke(unknown) = %v; want ErrNotFound", err)
	}
}

// admit admits one request and fails the test on an error.
func admit(t *testing.T, s keys.Store, a keys.Admission) keys.Verdict {
	t.Helper()
	v, err := s.Admit(t.Context(), a)
	if err != nil {
		t.Fatalf("Admit = %v", err)
	}
	return v
}

func admission(l keys.Admission) keys.Admission {
	if l.ID == "" {
		l.ID = "key_" + randomHex(8)
	}
	if l.Window == "" {
		l.Window = "202612061200"
	}
	if l.Period == "" {
		l.Period = "2026-12"
	}
	return l
}

func testRPM(t *testing.T, a, b keys.Store) {
	ad := admission(keys.Admission{RPM: 3, Tokens: 10})
	for i, s := range []keys.Store{a, b, a} {
		if v := admit(t, s, ad); v.Refused != keys.Admitted || v.Requests != int64(i+1) || v.Tokens != int64(10*(i+1)) {
			t.Fatalf("request %d: %+v; want admitted, %d requests, %d tokens", i+1, v, i+1, 10*(i+1))
		}
	}
	if v := admit(t, b, ad); v.Refused != keys.RefusedRPM {
		t.Errorf("fourth request: %+v; want refused by rpm", v)
	}
	if v := admit(t, a, ad); v.Requests != 3 {
		t.Errorf("a refused request was counted: %+v", v)
	}
	next := ad
	next.Window = "202612061201"
	if v := admit(t, a, next); v.Refused != keys.Admitted || v.Requests != 1 {
		t.Errorf("next minute: %+v; want admitted as its first request", v)
	}
}

func testTPM(t *testing.T, a, b keys.Store) {
	ad := admission(keys.Admission{TPM: 100, Tokens: 250})
	if v := admit(t, a, ad); v.Refused != keys.Admitted {
		t.Fatalf("a request larger than tpm in an empty minute: %+v; want admitted", v)
	}
	ad.Tokens = 1
	if v := admit(t, b, ad); v.Refused != keys.RefusedTPM {
		t.Fatalf("after 250 of 100 tokens: %+v; want refused by tpm", v)
	}
	ad.Window = "202612061201"
	ad.Tokens = 60
	if v := admit(t, a, ad); v.Refused != keys.Admitted {
		t.Fatalf("%+v; want admitted", v)
	}
	ad.Tokens = 40
	if v := admit(t, b, ad); v.Refused != keys.Admitted || v.Tokens != 100 {
		t.Fatalf("60+40 of 100 tokens: %+v; want admitted with 100", v)
	}
	ad.Tokens = 1
	if v := admit(t, a, ad); v.Refused != keys.RefusedTPM {
		t.Fatalf("101 of 100 tokens: %+v; want refused", v)
	}
}

func testBudget(t *testing.T, a, b keys.Store) {
	ctx := t.Context()
	ad := admission(keys.Admission{BudgetNano: 1_000, RPM: 1})
	if v := admit(t, a, ad); v.Refused != keys.Admitted {
		t.Fatalf("%+v; want admitted", v)
	}
	if err := b.Settle(ctx, keys.Settlement{ID: ad.ID, Window: ad.Window, Period: ad.Period, CostNano: 999}); err != nil {
		t.Fatal(err)
	}
	ad.Window = "202612061201"
	if v := admit(t, b, ad); v.Refused != keys.Admitted || v.SpentNano != 999 {
		t.Fatalf("999 of 1000 spent: %+v; want admitted, spent 999", v)
	}
	if err := a.Settle(ctx, keys.Settlement{ID: ad.ID, Window: ad.Window, Period: ad.Period, CostNano: 5}); err != nil {
		t.Fatal(err)
	}
	ad.Window = "202612061202"
	if v := admit(t, a, ad); v.Refused != keys.RefusedBudget {
		t.Fatalf("1004 of 1000 spent: %+v; want refused by the budget", v)
	}
	if got, err := b.Spent(ctx, ad.ID, ad.Period); err != nil || got != 1004 {
		t.Errorf("Spent = %d, %v; want 1004", got, err)
	}
	ad.Period = "2027-01"
	if v := admit(t, b, ad); v.Refused != keys.Admitted {
		t.Errorf("next period: %+v; want admitted", v)
	}
	if got, err := b.Spent(ctx, "key_"+randomHex(8), ad.Period); err != nil || got != 0 {
		t.Errorf("Spent(unknown) = %d, %v; want 0", got, err)
	}
}

func testSettle(t *testing.T, a, b keys.Store) {
	ctx := t.Context()
	ad := admission(keys.Admission{TPM: 1000, Tokens: 500})
	admit(t, a, ad)
	if err := b.Settle(ctx, keys.Settlement{ID: ad.ID, Window: ad.Window, Period: ad.Period, Tokens: -400}); err != nil {
		t.Fatal(err)
	}
	ad.Tokens = 900
	if v := admit(t, a, ad); v.Refused != keys.Admitted || v.Tokens != 1000 {
		t.Fatalf("after the estimate was corrected from 500 to 100: %+v; want 900 more admitted, 1000 in all", v)
	}
	if err := b.Settle(ctx, keys.Settlement{ID: ad.ID, Window: ad.Window, Period: ad.Period, Tokens: 50}); err != nil {
		t.Fatal(err)
	}
	ad.Tokens = 0
	if v := admit(t, a, ad); v.Refused != keys.RefusedTPM || v.Tokens != 1050 {
		t.Fatalf("1050 of 1000 tokens: %+v; want refused, 1050 counted", v)
	}
}

func testKeysApart(t *testing.T, a, b keys.Store) {
	one := admission(keys.Admission{RPM: 1, BudgetNano: 10})
	two := admission(keys.Admission{RPM: 1, BudgetNano: 10})
	admit(t, a, one)
	if err := a.Settle(t.Context(), keys.Settlement{ID: one.ID, Window: one.Window, Period: one.Period, CostNano: 10}); err != nil {
		t.Fatal(err)
	}
	if v := admit(t, b, two); v.Refused != keys.Admitted || v.SpentNano != 0 {
		t.Errorf("another key's counts leaked: %+v", v)
	}
}

// testConcurrentReplicas admits many requests at once through both
// replicas: exactly RPM of them get through.
func testConcurrentReplicas(t *testing.T, a, b keys.Store) {
	const rpm, clients, each = 25, 8, 10
	ad := admission(keys.Admission{RPM: rpm, Tokens: 1})
	var admitted atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for range each {
				v, err := s.Admit(context.WithoutCancel(t.Context()), ad)
				if err != nil {
					errs <- err
					return
				}
				if v.Refused == keys.Admitted {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := admitted.Load(); got != rpm {
		t.Errorf("%d requests admitted out of %d; want exactly rpm = %d", got, clients*each, rpm)
	}
}
