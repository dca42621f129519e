package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/router"
)

// Rollout holds the migration's collaborators. With a nil *Rollout, or a
// nil Legacy, every request is served by the new side.
type Rollout struct {
	Decider *rollout.Decider
	// Legacy proxies requests that fall on the legacy side.
	Legacy *rollout.Legacy
	// LegacyModel names the legacy side in answers of /api/cato/query.
	LegacyModel string
	// Shadow mirrors a share of traffic to the other side; nil: none.
	Shadow *rollout.Shadow
	// Stats counts each side's outcomes for /status and the guard.
	Stats *rollout.Stats
}

// side decides which side serves a request whose body is body.
func (s *Server) side(r *http.Request, body []byte) (rollout.Side, rollout.Identity) {
	ro := s.opt.Rollout
	if ro == nil || ro.Legacy == nil {
		return rollout.SideNew, rollout.Identity{}
	}
	if side, ok := ro.Decider.Uniform(); ok && side == rollout.SideNew {
		return side, rollout.Identity{} // no need to read who is asking
	}
	id := rollout.ExtractIdentity(tenantOf(r.Context()), r.Header, body)
	return ro.Decider.Decide(id, r.Header.Get(rollout.HeaderSide)).Side, id
}

// proxyLegacy serves a chat request on the legacy side, unchanged, and
// mirrors it to the new side when shadow traffic is sampled.
func (s *Server) proxyLegacy(w http.ResponseWriter, r *http.Request, id rollout.Identity, body []byte) {
	ro := s.opt.Rollout
	s.opt.Metrics.RolloutRequests.WithLabelValues("legacy").Inc()
	ans := ro.Legacy.Proxy(w, r, id, body)
	ro.Stats.Observe(rollout.Outcome{Side: rollout.SideLegacy, Latency: ans.Latency, Status: ans.Status, Err: ans.Err})
	if ro.Shadow != nil && ro.Shadow.Sample() {
		tenant := tenantOf(r.Context())
		ro.Shadow.Mirror(rollout.SideLegacy, ans, func(ctx context.Context) rollout.Answer {
			return s.shadowNew(ctx, tenant, body)
		})
	}
	if errors.Is(ans.Err, rollout.ErrAborted) {
		// The client must see a broken stream, not a clean end.
		panic(http.ErrAbortHandler)
	}
}

// shadowNew answers a mirrored legacy request on the new side, leaving no
// state behind.
func (s *Server) shadowNew(ctx context.Context, tenant string, body []byte) rollout.Answer {
	start := time.Now()
	req, err := openai.DecodeChatRequest(body)
	if err != nil {
		return rollout.Answer{Status: http.StatusBadRequest, Err: err, Latency: time.Since(start)}
	}
	req.Stream = false
	a, err := s.opt.Orchestrator.Answer(ctx, &orchestrator.Query{
		Tenant: tenant, User: req.User, SessionID: req.SessionID, Request: &req.Request,
		Domain: req.Cato.Domain, Cache: req.Cato.Cache, Memory: req.Cato.Memory, Shadow: true,
	})
	if err != nil {
		status, _, _ := describe(err)
		return rollout.Answer{Status: status, Err: err, Latency: time.Since(start)}
	}
	return rollout.Answer{Text: a.Response.Message.Content, Status: http.StatusOK, Latency: time.Since(start)}
}

// observeNew counts a request the new side served and mirrors it to the
// legacy side when shadow traffic is sampled. Call it after the answer is
// written.
func (s *Server) observeNew(path string, body []byte, text string, status int, err error, latency time.Duration) {
	s.opt.Metrics.RolloutRequests.WithLabelValues("new").Inc()
	ro := s.opt.Rollout
	if ro == nil {
		return
	}
	ans := rollout.Answer{Text: text, Status: status, Err: err, Latency: latency}
	ro.Stats.Observe(rollout.Outcome{Side: rollout.SideNew, Latency: latency, Status: status, Err: err})
	if ro.Legacy != nil && ro.Shadow != nil && ro.Shadow.Sample() {
		ro.Shadow.Mirror(rollout.SideNew, ans, func(ctx context.Context) rollout.Answer {
			return ro.Legacy.Call(ctx, path, body)
		})
	}
}

// legacyQuery answers /api/cato/query on the legacy side: the query is
// sent to the legacy server as a chat completion and its answer returned in
// the native shape. The legacy server reports no routing, cache or cost.
func (s *Server) legacyQuery(w http.ResponseWriter, r *http.Request, q *queryRequest, body []byte) {
	ro := s.opt.Rollout
	s.opt.Metrics.RolloutRequests.WithLabelValues("legacy").Inc()
	ans := ro.Legacy.Call(r.Context(), "/v1/chat/completions", body)
	ro.Stats.Observe(rollout.Outcome{Side: rollout.SideLegacy, Latency: ans.Latency, Status: ans.Status, Err: ans.Err})
	w.Header().Set(rollout.HeaderSide, "legacy")
	w.Header().Set("X-Cato-Model", ro.LegacyModel)
	if ans.Err != nil || ans.Status/100 != 2 {
		s.writeError(w, r, errStatus(http.StatusBadGateway, openai.TypeUpstream, "legacy_unavailable", "the legacy upstream did not answer"))
		return
	}
	writeJSON(w, http.StatusOK, queryResponse{
		Response: ans.Text, Model: ro.LegacyModel, SessionID: q.SessionID,
		Routing:   routingJSON(router.Decision{Primary: ro.LegacyModel, Reason: "legacy side of the rollout"}),
		LatencyMS: ms(ans.Latency),
	})
}
