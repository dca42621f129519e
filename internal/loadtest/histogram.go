package loadtest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry: microseconds from 1µs to one hour. Three significant
// figures (0.1% error) for the run's main histograms; two (1%) for the many
// small ones (per model, per second of the timeline), which keeps each near
// 25 KiB.
const (
	histMaxMicros = int64(time.Hour / time.Microsecond)
	fineFigures   = 3
	coarseFigures = 2
)

// Histogram is a latency distribution (HdrHistogram, in microseconds).
// Durations above one hour are recorded as one hour. In JSON it is the
// HdrHistogram V2 compressed base64 encoding, so that worker processes can
// hand theirs to the parent to merge. It is not safe for concurrent use.
type Histogram struct {
	h *hdrhistogram.Histogram
}

func newHistogram(figures int) *Histogram {
	return &Histogram{h: hdrhistogram.New(1, histMaxMicros, figures)}
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	us := max(int64(d/time.Microsecond), 1)
	_ = h.h.RecordValue(min(us, histMaxMicros)) // in range by construction
}

// Count returns the number of durations recorded.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Quantile returns the duration at percentile p (0 to 100): the largest
// recorded value that p percent of the values are at or below, to the
// histogram's precision. It is 0 for an empty histogram.
func (h *Histogram) Quantile(p float64) time.Duration {
	return time.Duration(h.h.ValueAtQuantile(p)) * time.Microsecond
}

// Max returns the largest recorded duration, to the histogram's precision.
func (h *Histogram) Max() time.Duration {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return time.Duration(h.h.Max()) * time.Microsecond
}

// Min returns the smallest recorded duration, to the histogram's precision.
func (h *Histogram) Min() time.Duration {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return time.Duration(h.h.Min()) * time.Microsecond
}

// Mean returns the mean recorded duration.
func (h *Histogram) Mean() time.Duration {
	return time.Duration(h.h.Mean() * float64(time.Microsecond))
}

// Merge adds other's values to h.
func (h *Histogram) Merge(other *Histogram) {
	if other != nil {
		h.h.Merge(other.h)
	}
}

// bars returns the non-empty buckets of h: [from, to] in microseconds, and
// their counts.
func (h *Histogram) bars() []hdrhistogram.Bar {
	var out []hdrhistogram.Bar
	for _, b := range h.h.Distribution() {
		if b.Count > 0 {
			out = append(out, b)
		}
	}
	return out
}

// MarshalJSON encodes h as an HdrHistogram V2 compressed base64 string.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	enc, err := h.h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, fmt.Errorf("encoding histogram: %w", err)
	}
	return json.Marshal(string(enc))
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (h *Histogram) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("decoding histogram: %w", err)
	}
	dec, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return fmt.Errorf("decoding histogram: %w", err)
	}
	h.h = dec
	return nil
}
