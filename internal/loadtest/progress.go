package loadtest

import (
	"fmt"
	"io"
	"time"
)

// ProgressPrinter returns a function that writes one line per Progress to
// w: elapsed time, the completion rate since the previous line, requests in
// flight, errors and the p99 latency so far. Its result is not safe for
// concurrent use; Run calls it from one goroutine.
func ProgressPrinter(w io.Writer) func(Progress) {
	var prev Progress
	return func(p Progress) {
		rate := 0.0
		if dt := (p.Elapsed - prev.Elapsed).Seconds(); dt > 0 {
			rate = float64(p.Done-prev.Done) / dt
		}
		prev = p
		fmt.Fprintln(w, progressLine(p, rate))
	}
}

// progressLine formats one progress line.
func progressLine(p Progress, rate float64) string {
	errPct := 0.0
	if p.Done > 0 {
		errPct = 100 * float64(p.Failed) / float64(p.Done)
	}
	return fmt.Sprintf("%7.1fs  sent %s  rate %s/s  in flight %s  errors %s (%.2f%%)  p99 %s",
		p.Elapsed.Seconds(), count(p.Sent), count(int64(rate+0.5)), count(p.InFlight),
		count(p.Failed), errPct, fmtDuration(p.P99))
}

// count formats n with thousands separators.
func count(n int64) string {
	if n < 0 {
		return "-" + count(-n)
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// fmtDuration formats d with three significant figures in a unit that
// suits it: 812µs, 12.3ms, 1.25s.
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return sig3(float64(d)/float64(time.Millisecond)) + "ms"
	default:
		return sig3(d.Seconds()) + "s"
	}
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
