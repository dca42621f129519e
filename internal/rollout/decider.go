package rollout

import (
	"math/rand/v2"
	"sync/atomic"
)

// Reasons a Decision gives.
const (
	ReasonBucket   = "bucket"   // the identity's bucket against the percentage
	ReasonHeader   = "header"   // the X-Cato-Side header, where allowed
	ReasonOverride = "override" // a per-tenant or per-user override
	ReasonRandom   = "random"   // no user or session: drawn per request
)

// Decision is which side serves one request, and why.
type Decision struct {
	Side Side
	// Bucket is the identity's bucket, or -1 when it has none.
	Bucket int
	// Reason is one of the Reason constants.
	Reason string
	// Percentage is the flag's percentage the decision was made against.
	Percentage float64
}

// DeciderOptions tunes a Decider. The zero value is valid.
type DeciderOptions struct {
	// AllowHeader lets the X-Cato-Side header force a side. Default false:
	// the header is ignored (api may still pass it only for admin callers).
	AllowHeader bool
	// Overrides forces a side for a tenant ("team-a") or one user of a
	// tenant ("team-a/u-42"); the user entry wins. Nil means none.
	Overrides map[string]Side
}

// Decider decides which side serves a request, sticky per user or session.
// It holds the current flag as an atomic snapshot, so Decide takes no lock;
// Poller and Guard swap it with Apply. A Decider is safe for concurrent use.
// Create it with NewDecider.
type Decider struct {
	opts DeciderOptions
	flag atomic.Pointer[Flag]
}

// NewDecider returns a Decider starting from initial. opts.Overrides is
// copied.
func NewDecider(initial Flag, opts DeciderOptions) *Decider {
	ov := make(map[string]Side, len(opts.Overrides))
	for k, v := range opts.Overrides {
		ov[k] = v
	}
	opts.Overrides = ov
	d := &Decider{opts: opts}
	d.flag.Store(&initial)
	return d
}

// Flag returns the flag decisions are made against now.
func (d *Decider) Flag() Flag { return *d.flag.Load() }

// Apply makes f the current flag unless the current one has a higher
// version (a newer change already applied), and reports whether it did.
func (d *Decider) Apply(f Flag) bool {
	for {
		cur := d.flag.Load()
		if f.Version < cur.Version {
			return false
		}
		if d.flag.CompareAndSwap(cur, &f) {
			return true
		}
	}
}

// Replace makes f the current flag whatever its version. Poller uses it
// when the store's version went backwards (a store that was wiped).
func (d *Decider) Replace(f Flag) { d.flag.Store(&f) }

// Uniform reports the side every request is on, when the flag puts all of
// them on one side and no override or header can change it, so that
// callers can skip reading the request's identity.
func (d *Decider) Uniform() (Side, bool) {
	if d.opts.AllowHeader || len(d.opts.Overrides) > 0 {
		return SideNew, false
	}
	switch p := d.flag.Load().Percentage; {
	case p >= 100:
		return SideNew, true
	case p <= 0:
		return SideLegacy, true
	}
	return SideNew, false
}

// Decide returns the side for a request from id. sideHeader is the value of
// X-Cato-Side ("" when absent); it is honoured only when the options allow
// it. Overrides come next, then the identity's bucket: a bucket below
// Percentage*100 is on the new side, so raising the percentage only ever
// moves users from legacy to new. A request with neither user nor session
// is drawn at random against the percentage.
func (d *Decider) Decide(id Identity, sideHeader string) Decision {
	f := d.flag.Load()
	dec := Decision{Bucket: -1, Percentage: f.Percentage}
	if d.opts.AllowHeader && sideHeader != "" {
		if s, err := ParseSide(sideHeader); err == nil {
			dec.Side, dec.Reason = s, ReasonHeader
			return dec
		}
	}
	if len(d.opts.Overrides) > 0 {
		if s, ok := d.opts.Overrides[id.Tenant+"/"+id.User]; ok && id.User != "" {
			dec.Side, dec.Reason = s, ReasonOverride
			return dec
		}
		if s, ok := d.opts.Overrides[id.Tenant]; ok {
			dec.Side, dec.Reason = s, ReasonOverride
			return dec
		}
	}
	b, ok := id.Bucket()
	dec.Reason = ReasonBucket
	if ok {
		dec.Bucket = int(b)
	} else {
		b, dec.Reason = rand.Uint32N(Buckets), ReasonRandom
	}
	if b < f.threshold() {
		dec.Side = SideNew
	}
	return dec
}
