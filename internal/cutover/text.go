package cutover

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cato-gateway/cato/internal/rollout"
)

// WriteJSON writes r as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r for a terminal or a ticket.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Cato cutover report, %s\n", r.GeneratedAt.Format(time.RFC3339))
	fmt.Fprintf(&b, "flag: %s%% of users on the new side%s\n", pct(r.Current.Percentage), flagOrigin(r.Current))
	fmt.Fprintf(&b, "replicas: %d", len(r.Replicas))
	if !r.Consistent {
		b.WriteString(" (NOT all on the same flag version)")
	}
	fmt.Fprintf(&b, "\noutcome: %s\n\n", strings.ToUpper(r.Outcome))

	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tNEW\tLEGACY")
	row := func(label string, f func(Side) string) { fmt.Fprintf(tw, "%s\t%s\t%s\n", label, f(r.New), f(r.Legacy)) }
	row("requests", func(s Side) string { return strconv.FormatUint(s.Requests, 10) })
	row("errors", func(s Side) string { return strconv.FormatUint(s.Errors, 10) })
	row("error rate", func(s Side) string { return percent(s.ErrorRate) })
	row("p50 (window)", func(s Side) string { return msText(s.P50Ms, s.WindowRequests) })
	row("p99 (window)", func(s Side) string { return msText(s.P99Ms, s.WindowRequests) })
	row("cache hit rate", func(s Side) string { return percent(s.CacheHitRate) })
	row("cost", costText)
	row("cost per request", func(s Side) string {
		if !s.CostKnown {
			return "unknown"
		}
		return fmt.Sprintf("$%.6f", s.CostPerRequestUSD)
	})
	row("ratings", func(s Side) string {
		if s.Satisfaction == nil {
			return "no ratings"
		}
		v := s.Satisfaction
		return fmt.Sprintf("%d (+%d =%d -%d)", v.Ratings, v.Positive, v.Neutral, v.Negative)
	})
	row("negative share", func(s Side) string {
		if s.Satisfaction == nil || s.Satisfaction.Ratings == 0 {
			return "-"
		}
		return percent(s.Satisfaction.NegativeShare)
	})
	tw.Flush()

	b.WriteString("\nverdicts:\n")
	for _, v := range r.Verdicts {
		fmt.Fprintf(&b, "  %-7s %s (%s): %s\n", strings.ToUpper(v.Result), v.Name, v.Rule, v.Value)
	}

	if s := r.Shadow; s != nil {
		fmt.Fprintf(&b, "\nshadow comparison: %d sent, %d dropped, %d completed, %d compared\n", s.Sent, s.Dropped, s.Completed, s.Compared)
		fmt.Fprintf(&b, "  errors: primary %d, shadow %d, one side only %d\n", s.PrimaryErrors, s.ShadowErrors, s.ErrorMismatch)
		if s.Compared > 0 {
			fmt.Fprintf(&b, "  mean similarity %.3f (%d below 0.5), new minus legacy latency %+.0f ms, new/legacy length %.2f\n",
				s.MeanSimilarity, s.LowSimilarity, s.MeanLatencyDeltaMs, s.MeanLengthRatio)
		}
	} else {
		b.WriteString("\nshadow comparison: off\n")
	}
	for _, u := range sortedKeys(r.AutoRollback) {
		g := r.AutoRollback[u]
		fmt.Fprintf(&b, "auto-rollback on %s: enabled %v, tripped %d times", u, g.Enabled, g.Trips)
		if t := g.LastTrip; t != nil {
			fmt.Fprintf(&b, ", last %s", tripText(t))
		}
		b.WriteByte('\n')
	}

	b.WriteString("\nreplicas:\n")
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  URL\tVERSION\tFLAG\tNEW P50/P99 MS\tLEGACY P50/P99 MS")
	for _, rf := range r.Replicas {
		n, l := rf.Sides["new"], rf.Sides["legacy"]
		fmt.Fprintf(tw, "  %s\t%s\t%s%% (v%d)\t%.0f/%.0f\t%.0f/%.0f\n", rf.URL, orDash(rf.Version), pct(rf.Percentage), rf.FlagVer, n.P50Ms, n.P99Ms, l.P50Ms, l.P99Ms)
	}
	tw.Flush()

	if len(r.History) == 0 {
		b.WriteString("\nrollout changes: none\n")
	} else {
		b.WriteString("\nrollout changes, oldest first:\n")
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  WHEN\tPERCENT\tSOURCE\tWHO\tWHY")
		for _, f := range r.History {
			fmt.Fprintf(tw, "  %s\t%s%%\t%s\t%s\t%s\n", f.At.UTC().Format(time.RFC3339), pct(f.Percentage), orDash(string(f.Source)), orDash(f.Actor), orDash(f.Reason))
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func costText(s Side) string {
	if !s.CostKnown {
		return "unknown"
	}
	t := fmt.Sprintf("$%.4f", s.CostUSD)
	if s.CostUnknown > 0 {
		t += fmt.Sprintf(" (+%d unknown)", s.CostUnknown)
	}
	return t
}

func msText(v float64, n uint64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f ms", v)
}

// flagOrigin says who set f, how, when and why.
func flagOrigin(f rollout.Flag) string {
	if f.Version == 0 {
		return ""
	}
	s := fmt.Sprintf(" (version %d, set %s by %s via %s", f.Version, f.At.UTC().Format(time.RFC3339), orDash(f.Actor), orDash(string(f.Source)))
	if f.Reason != "" {
		s += ": " + f.Reason
	}
	return s + ")"
}

func pct(p float64) string { return strconv.FormatFloat(p, 'f', -1, 64) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func tripText(t *rollout.Trip) string {
	return fmt.Sprintf("%s: %s", t.At.UTC().Format(time.RFC3339), t.Reason)
}
