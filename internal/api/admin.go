package api

import (
	"context"
	"net/http"
	"sort"
	"time"
)

// health answers 200 when the server is serving and every readiness check
// passes, else 503 with the failing checks. It needs no key, so that load
// balancers and Kubernetes probes can call it.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	failing := map[string]string{}
	if s.draining.Load() {
		failing["server"] = "draining"
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	for name, check := range s.opt.Checks {
		if err := check(ctx); err != nil {
			failing[name] = err.Error()
		}
	}
	if len(failing) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "failing": failing})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// status reports what the gateway is doing.
func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	m := s.opt.Metrics
	q := m.Latency.Quantiles(0.5, 0.99)
	reqs, errs := m.Totals.Requests.Load(), m.Totals.Errors.Load()
	rate := 0.0
	if reqs > 0 {
		rate = float64(errs) / float64(reqs)
	}
	out := map[string]any{
		"version":    s.opt.Version,
		"uptime_s":   int64(time.Since(s.start).Seconds()),
		"requests":   reqs,
		"errors":     errs,
		"error_rate": rate,
		"in_flight":  s.inFlight.Load(),
		"draining":   s.draining.Load(),
		"latency_ms": map[string]float64{"p50": ms(q[0]), "p99": ms(q[1])},
		"models":     m.Book.Usage(),
	}
	names := make([]string, 0, len(s.opt.Status))
	for name := range s.opt.Status {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out[name] = s.opt.Status[name]()
	}
	writeJSON(w, http.StatusOK, out)
}
