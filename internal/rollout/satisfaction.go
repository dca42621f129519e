package rollout

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cato-gateway/cato/internal/feedback"
)

// SatisfactionRule has the Guard roll back on what users say: when the new
// side's share of negative ratings exceeds the legacy side's by more than
// Margin, both sides having at least MinRatings ratings. The ratings are
// those Read counts: a feedback.Tally, which reads them from the shared
// store (every replica's ratings) over its window, from the start of the
// rollout's current step at the earliest.
type SatisfactionRule struct {
	// Margin is how far, as a share (0.05 is five points), the new side's
	// negative share may exceed the legacy side's. It must be above 0.
	Margin float64
	// MinRatings is how many ratings each side needs before the rule may
	// trip. Zero means DefaultMinRatings.
	MinRatings int
	// Read returns the satisfaction counted last (feedback.Tally.Snapshot).
	// Required.
	Read func() feedback.Snapshot
}

// DefaultMinRatings is SatisfactionRule's default sample: with 50 ratings
// a side, a difference of ten points in negative share is about two
// standard errors, so a margin of that size is rarely crossed by chance.
const DefaultMinRatings = 50

// judgeSatisfaction returns the reason to roll back on satisfaction, and
// the sides' figures, or "" when the rule is off, the counts predate the
// flag cur (the step being judged), a side has too few ratings, or the
// new side is within the margin.
func (g *Guard) judgeSatisfaction(cur Flag) (string, map[string]feedback.Satisfaction) {
	r := g.opts.Satisfaction
	if r == nil || r.Read == nil || r.Margin <= 0 {
		return "", nil
	}
	snap := r.Read()
	if snap.Until.IsZero() || snap.Since.Before(cur.At) {
		return "", nil // read before this step began: wait for a fresh read
	}
	least := uint64(r.MinRatings)
	if least == 0 {
		least = DefaultMinRatings
	}
	n, l := snap.Sides[feedback.SideNew], snap.Sides[feedback.SideLegacy]
	if n.Ratings < least || l.Ratings < least {
		return "", nil
	}
	if n.NegativeShare-l.NegativeShare <= r.Margin {
		return "", nil
	}
	reason := fmt.Sprintf("new side negative ratings %.1f%% of %d, legacy %.1f%% of %d: more than %.1f points worse since %s",
		100*n.NegativeShare, n.Ratings, 100*l.NegativeShare, l.Ratings, 100*r.Margin, snap.Since.UTC().Format(time.RFC3339))
	g.opts.Log.Warn("new side users less satisfied than legacy ones",
		slog.Float64("new_negative_share", n.NegativeShare), slog.Uint64("new_ratings", n.Ratings),
		slog.Float64("legacy_negative_share", l.NegativeShare), slog.Uint64("legacy_ratings", l.Ratings))
	return reason, map[string]feedback.Satisfaction{feedback.SideNew: n, feedback.SideLegacy: l}
}
