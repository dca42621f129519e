package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/cato-gateway/cato/internal/openai"
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
			// Health answers anyone: it names the component, and the
			// cause (addresses, driver errors) goes to the log.
			failing[name] = "unavailable"
			s.opt.Log.WarnContext(r.Context(), "health check failed", slog.String("check", name), slog.Any("err", err))
		}
	}
	if len(failing) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "failing": failing, "request_id": requestID(r.Context())})
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

// purgeCache deletes cache entries by tenant, model or both, on every
// replica: {"tenant": "team-a", "model": "bedrock_haiku"}. A body that
// names neither is refused with 400: purging the whole cache is not
// offered, so that an empty or mistyped body cannot do it by accident.
func (s *Server) purgeCache(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var f struct {
		Tenant string `json:"tenant"`
		Model  string `json:"model"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			s.writeError(w, r, &openai.RequestError{Message: "the body must be {\"tenant\": …, \"model\": …}: " + err.Error()})
			return
		}
	}
	if f.Tenant == "" && f.Model == "" {
		s.writeError(w, r, &openai.RequestError{Message: "name what to purge: \"tenant\", \"model\" or both, as in {\"tenant\": \"team-a\"}; the whole cache cannot be purged at once"})
		return
	}
	n, err := s.opt.Orchestrator.PurgeCache(r.Context(), f.Tenant, f.Model)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"purged": n})
}
