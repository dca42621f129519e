package rollout

import (
	"fmt"
	"math"
	"testing"
)

// users returns n distinct identities of one tenant.
func users(n int) []Identity {
	ids := make([]Identity, n)
	for i := range ids {
		ids[i] = Identity{Tenant: "team-a", User: fmt.Sprintf("u-%d", i)}
	}
	return ids
}

func newShare(d *Decider, ids []Identity) (share float64, sides []Side) {
	sides = make([]Side, len(ids))
	n := 0
	for i, id := range ids {
		sides[i] = d.Decide(id, "").Side
		if sides[i] == SideNew {
			n++
		}
	}
	return 100 * float64(n) / float64(len(ids)), sides
}

// At 10%, about 10% of 10,000 distinct users land on the new side. With a
// uniform hash the count is binomial(10000, 0.1): sd = 30 users (0.3
// points), so ±1.5 points is five standard deviations.
func TestDecideShare(t *testing.T) {
	const tolerance = 1.5 // percentage points
	ids := users(10000)
	for _, pct := range []float64{0, 1, 10, 50, 90, 100} {
		t.Run(fmt.Sprint(pct), func(t *testing.T) {
			d := NewDecider(Flag{Percentage: pct}, DeciderOptions{})
			got, _ := newShare(d, ids)
			if math.Abs(got-pct) > tolerance {
				t.Errorf("share on new side at %v%% = %.2f%%; want within ±%v points", pct, got, tolerance)
			}
			if (pct == 0 && got != 0) || (pct == 100 && got != 100) {
				t.Errorf("share on new side at %v%% = %.2f%%; want exactly %v", pct, got, pct)
			}
		})
	}
}

// Every user stays on one side across turns, and raising the percentage
// moves no user from new back to legacy.
func TestDecideStickyAndMonotonic(t *testing.T) {
	ids := users(10000)
	d := NewDecider(Flag{Percentage: 10, Version: 1}, DeciderOptions{})
	_, at10 := newShare(d, ids)
	for turn := range 5 {
		_, again := newShare(d, ids)
		for i := range ids {
			if again[i] != at10[i] {
				t.Fatalf("turn %d: user %s moved from %v to %v at a constant 10%%", turn, ids[i].User, at10[i], again[i])
			}
		}
	}
	d.Apply(Flag{Percentage: 50, Version: 2})
	_, at50 := newShare(d, ids)
	moved := 0
	for i := range ids {
		if at10[i] == SideNew && at50[i] != SideNew {
			t.Errorf("user %s moved from new back to legacy when raising 10%% -> 50%%", ids[i].User)
		}
		if at10[i] != at50[i] {
			moved++
		}
	}
	if moved < 3500 || moved > 4500 {
		t.Errorf("raising 10%% -> 50%% moved %d of 10000 users; want about 4000", moved)
	}
}

func TestDecideSessionAndTenant(t *testing.T) {
	// Same user id in two tenants, and the session when there is no user.
	a := Identity{Tenant: "a", User: "u"}
	b := Identity{Tenant: "b", User: "u"}
	ba, _ := a.Bucket()
	bb, _ := b.Bucket()
	sess := Identity{Tenant: "a", Session: "u"}
	bs, _ := sess.Bucket()
	if ba == bb && ba == bs {
		t.Errorf("buckets of (a,user u), (b,user u), (a,session u) all %d; want the tenant and the kind of id to count", ba)
	}
	withSession := Identity{Tenant: "a", User: "u", Session: "s-1"}
	if got, _ := withSession.Bucket(); got != ba {
		t.Errorf("bucket with a session beside the user = %d; want the user's %d", got, ba)
	}
	if _, ok := (Identity{Tenant: "a"}).Bucket(); ok {
		t.Errorf("Bucket of an identity without user or session reported ok")
	}
}

// The hash is a contract: changing it reshuffles every user. These values
// pin it.
func TestBucketPinned(t *testing.T) {
	tests := []struct {
		id   Identity
		want uint32
	}{
		{Identity{Tenant: "team-a", User: "u-42"}, 8981},
		{Identity{Tenant: "", Session: "test-123"}, 2568},
		{Identity{Tenant: "t", User: "é"}, 1673},
	}
	for _, tt := range tests {
		got, ok := tt.id.Bucket()
		if !ok || got != tt.want {
			t.Errorf("%+v.Bucket() = %d, %v; want %d, true", tt.id, got, ok, tt.want)
		}
	}
}

func TestDecideOverrides(t *testing.T) {
	d := NewDecider(Flag{Percentage: 0}, DeciderOptions{
		AllowHeader: true,
		Overrides:   map[string]Side{"team-b": SideNew, "team-b/u-1": SideLegacy},
	})
	locked := NewDecider(Flag{Percentage: 100}, DeciderOptions{})
	tests := []struct {
		name   string
		d      *Decider
		id     Identity
		header string
		want   Side
		reason string
	}{
		{"bucket at 0%", d, Identity{Tenant: "team-a", User: "u-1"}, "", SideLegacy, ReasonBucket},
		{"header forces new", d, Identity{Tenant: "team-a", User: "u-1"}, "new", SideNew, ReasonHeader},
		{"header beats override", d, Identity{Tenant: "team-b", User: "u-2"}, "legacy", SideLegacy, ReasonHeader},
		{"bad header ignored", d, Identity{Tenant: "team-a", User: "u-1"}, "both", SideLegacy, ReasonBucket},
		{"tenant override", d, Identity{Tenant: "team-b", User: "u-2"}, "", SideNew, ReasonOverride},
		{"user override beats tenant", d, Identity{Tenant: "team-b", User: "u-1"}, "", SideLegacy, ReasonOverride},
		{"header not allowed", locked, Identity{Tenant: "team-a", User: "u-1"}, "legacy", SideNew, ReasonBucket},
		{"anonymous at 100%", locked, Identity{Tenant: "team-a"}, "", SideNew, ReasonRandom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.d.Decide(tt.id, tt.header)
			if got.Side != tt.want || got.Reason != tt.reason {
				t.Errorf("Decide(%+v, %q) = %v/%s; want %v/%s", tt.id, tt.header, got.Side, got.Reason, tt.want, tt.reason)
			}
		})
	}
}

func TestApplyKeepsNewest(t *testing.T) {
	d := NewDecider(Flag{Percentage: 10, Version: 5}, DeciderOptions{})
	if d.Apply(Flag{Percentage: 50, Version: 4}) {
		t.Errorf("Apply of an older version reported true")
	}
	if !d.Apply(Flag{Percentage: 0, Version: 6}) || d.Flag().Percentage != 0 {
		t.Errorf("Apply of a newer version: flag = %+v; want percentage 0", d.Flag())
	}
	d.Replace(Flag{Percentage: 30, Version: 1})
	if d.Flag().Version != 1 {
		t.Errorf("Replace: version = %d; want 1", d.Flag().Version)
	}
}

func BenchmarkDecide(b *testing.B) {
	d := NewDecider(Flag{Percentage: 10}, DeciderOptions{})
	id := Identity{Tenant: "team-a", User: "user-1234567"}
	b.ReportAllocs()
	for b.Loop() {
		d.Decide(id, "")
	}
}

func TestDeciderUniform(t *testing.T) {
	tests := []struct {
		name     string
		pct      float64
		opts     DeciderOptions
		wantSide Side
		wantOK   bool
	}{
		{"all new", 100, DeciderOptions{}, SideNew, true},
		{"all legacy", 0, DeciderOptions{}, SideLegacy, true},
		{"split", 10, DeciderOptions{}, SideNew, false},
		{"all new but the header may force legacy", 100, DeciderOptions{AllowHeader: true}, SideNew, false},
		{"all new but an override", 100, DeciderOptions{Overrides: map[string]Side{"t": SideLegacy}}, SideNew, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			side, ok := NewDecider(Flag{Percentage: tt.pct}, tt.opts).Uniform()
			if ok != tt.wantOK || (ok && side != tt.wantSide) {
				t.Errorf("Uniform() = %v, %v; want %v, %v", side, ok, tt.wantSide, tt.wantOK)
			}
		})
	}
}
