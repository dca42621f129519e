package backoff

import (
	"math/rand/v2"
	"time"
)

// Defaults of a zero Policy.
const (
	// DefaultBase is small enough that one retry of a blip costs little
	// latency, large enough that a throttled upstream sees a gap.
	DefaultBase = 100 * time.Millisecond
	// DefaultMax keeps any one wait well under a user's patience.
	DefaultMax = 2 * time.Second
)

// Policy says how long to wait before a retry. The zero Policy is valid and
// uses DefaultBase and DefaultMax. A Policy is a value; it is safe for
// concurrent use.
type Policy struct {
	// Base is the cap of the first retry's delay. Zero means DefaultBase.
	Base time.Duration
	// Max caps every delay. Zero means DefaultMax.
	Max time.Duration
}

// Delay returns how long to wait before retry n (1-based: n=1 is the wait
// after the first failed attempt): a random duration in [0, min(Max,
// Base·2ⁿ⁻¹)] ("full jitter"), so replicas that failed together do not
// retry together. rnd supplies the randomness; nil uses the
// concurrency-safe global source. n < 1 is treated as 1.
func (p Policy) Delay(n int, rnd *rand.Rand) time.Duration {
	ceiling := p.Ceiling(n)
	if ceiling <= 0 {
		return 0
	}
	if rnd == nil {
		return time.Duration(rand.Int64N(int64(ceiling) + 1))
	}
	return time.Duration(rnd.Int64N(int64(ceiling) + 1))
}

// Ceiling returns the largest delay Delay(n, …) can return: min(Max,
// Base·2ⁿ⁻¹).
func (p Policy) Ceiling(n int) time.Duration {
	base, maxDelay := p.Base, p.Max
	if base <= 0 {
		base = DefaultBase
	}
	if maxDelay <= 0 {
		maxDelay = DefaultMax
	}
	if n < 1 {
		n = 1
	}
	d := base
	for i := 1; i < n; i++ {
		if d >= maxDelay/2 {
			return maxDelay // also stops the doubling before it overflows
		}
		d *= 2
	}
	return min(d, maxDelay)
}

// MaxDelay returns Max, or DefaultMax when Max is zero: the longest wait
// Delay returns, and the longest Retry-After hint a caller should honour
// before it gives up on the same upstream.
func (p Policy) MaxDelay() time.Duration {
	if p.Max <= 0 {
		return DefaultMax
	}
	return p.Max
}

// After returns how long to wait before retry n when the upstream sent a
// Retry-After hint: the hint itself when it is positive (the upstream said
// not to come back sooner, so no jitter shortens it, and Max does not cap
// it), else Delay(n, rnd). Callers decide whether a wait that long still
// fits their deadline.
func (p Policy) After(n int, hint time.Duration, rnd *rand.Rand) time.Duration {
	if hint > 0 {
		return hint
	}
	return p.Delay(n, rnd)
}
