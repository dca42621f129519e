package api

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/router"
)

// sprintfRouteHeader is routeHeader as first written, with fmt.
func sprintfRouteHeader(d router.Decision) string {
	v := fmt.Sprintf("%s; complexity=%.2f; reason=%s", d.Primary, d.Complexity, d.Reason)
	v = asciiSigns.Replace(v)
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '_'
		}
		return r
	}, v)
}

func TestSetCatoHeaders(t *testing.T) {
	d := router.Decision{Primary: "m", Complexity: 0.125, Reason: "rule: short\n"}
	w := httptest.NewRecorder()
	(&Server{}).setCatoHeaders(w, "m", "miss", d)
	want := http.Header{}
	want.Set("X-Cato-Model", "m")
	want.Set("X-Cato-Cache", "miss")
	want.Set("X-Cato-Route", "m; complexity=0.12; reason=rule: short_")
	if diff := cmp.Diff(want, w.Header()); diff != "" {
		t.Errorf("headers mismatch (-want +got):\n%s", diff)
	}
	w.Header().Add("X-Cato-Model", "other")
	if got := w.Header().Values("X-Cato-Cache"); !cmp.Equal(got, []string{"miss"}) {
		t.Errorf("adding to one header changed another: X-Cato-Cache = %q", got)
	}
}

// FuzzRouteHeader checks routeHeader against the fmt.Sprintf form.
func FuzzRouteHeader(f *testing.F) {
	for _, c := range []struct {
		p, r string
		x    float64
	}{
		{"m", "rule", 0.5}, {"", "", 0}, {"é\x00", "a\nb", -1.005}, {"m", "complexity ≥ 0.5…", 0.7},
		{"m", "r", math.NaN()}, {"m", "r", math.Inf(1)}, {"m", "r", 1e300},
	} {
		f.Add(c.p, c.r, c.x)
	}
	f.Fuzz(func(t *testing.T, primary, reason string, complexity float64) {
		d := router.Decision{Primary: primary, Reason: reason, Complexity: complexity}
		if got, want := routeHeader(d), sprintfRouteHeader(d); got != want {
			t.Fatalf("routeHeader = %q, want %q", got, want)
		}
	})
}
