package loadtest

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzHistogramJSON checks the histogram form a worker process sends its
// parent: any string is refused or read, and what is read writes a form
// that reads to the same counts and quantiles.
func FuzzHistogramJSON(f *testing.F) {
	h := newHistogram(fineFigures)
	for _, d := range []time.Duration{time.Microsecond, 3 * time.Millisecond, 2 * time.Second} {
		h.Record(d)
	}
	b, err := json.Marshal(h)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	empty, _ := json.Marshal(newHistogram(fineFigures))
	for _, s := range []string{string(empty), `""`, `"HISTFAAAAB94nJNpmSzMwMDAwQABzFCaEUrzMDCwMIQA"`, `"not base64"`, `null`, `42`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Histogram
		if err := json.Unmarshal(data, &h); err != nil || h.h == nil {
			return
		}
		enc, err := json.Marshal(&h)
		if err != nil {
			return
		}
		var back Histogram
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("%q read, written as %s, does not read back: %v", data, enc, err)
		}
		if back.Count() != h.Count() || back.Max() != h.Max() || back.Min() != h.Min() || back.Quantile(50) != h.Quantile(50) {
			t.Fatalf("round trip changed the histogram: count %d→%d, max %v→%v", h.Count(), back.Count(), h.Max(), back.Max())
		}
	})
}
