package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
)

// Rollout holds the migration's collaborators. With a nil *Rollout, or a
// nil Legacy, every request is served by the new side.
type Rollout struct {
	// Decider decides each request's side. Required.
	Decider *rollout.Decider
	// Legacy proxies requests that fall on the legacy side.
	Legacy *rollout.Legacy
	// LegacyModel names the legacy side in answers of /api/cato/query.
	LegacyModel string
	// Shadow mirrors a share of traffic to the other side; nil: none.
	Shadow *rollout.Shadow
	// Stats counts each side's outcomes for /status and the guard; nil:
	// not counted.
	Stats *rollout.Stats
	// Admin serves /api/admin/cato/rollout; nil: no such route.
	Admin *rollout.Admin
}

// legacyChatPath is the legacy server's path for a chat completion: where
// a query is sent on the legacy side, and a new-side answer is mirrored.
const legacyChatPath = "/v1/chat/completions"

// twoSided puts the rollout in front of one endpoint. For each request it
// reads the request, decides its side, and has that side answer; then,
// once the answer is written, it counts the outcome per side (Stats and
// metrics), mirrors a sampled share to the other side (Shadow), and has
// ServeHTTP abort a legacy answer that broke off after it began. The
// sides' handlers only answer: the new side reports its model, text and
// error in an answered, the status is read from the response. T is the
// request as read.
type twoSided[T any] struct {
	s *Server
	// route labels the endpoint in cato_requests_total.
	route string
	// read reads and checks the request before its side is decided, and
	// returns it with its chat completions body: the identity that decides
	// the side is read from that body, and the legacy side is sent it. A
	// request read fails is answered on neither side.
	read func(w http.ResponseWriter, r *http.Request) (T, []byte, error)
	// legacy answers on the legacy side; when it returns an error having
	// written nothing, twoSided answers the error. Nil means the request
	// is proxied as it came, with its body, by Legacy.Proxy.
	legacy func(w http.ResponseWriter, r *http.Request, req T, chat []byte, id rollout.Identity) rollout.Answer
	// answer answers on the new side.
	answer func(w http.ResponseWriter, r *http.Request, req T) answered
	// shadow answers req on the new side for the shadow comparison of a
	// legacy answer, writing to no client and leaving no state behind. Nil
	// means legacy answers are not mirrored.
	shadow func(ctx context.Context, tenant string, req T) rollout.Answer
}

// answered is what a new-side handler reports about the answer it wrote.
type answered struct {
	// model is the model that answered; empty when none did.
	model string
	// text is the answer's text, for the shadow comparison.
	text string
	// err is the error that ended the request, nil when it succeeded,
	// whether it was answered with an error status or broke a stream off.
	err error
	// cached reports a cache hit; cost is the answer's cost in US dollars
	// (zero when no model answered). Both feed the rollout's per-side
	// figures, and cost the key's budget.
	cached bool
	cost   float64
	// tokens is what the answer used, as the key's limits count them
	// (tokensOf); zero when no model answered.
	tokens int64
}

// answeredBy reports a complete answer whose text is text.
func answeredBy(ans *orchestrator.Answer, text string) answered {
	return answered{model: ans.Model, text: text, cached: ans.Cached, cost: ans.CostUSD, tokens: tokensOf(ans.Response.Usage, ans.Cached)}
}

func (e *twoSided[T]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := responseOf(w)
	model := "-"
	req, chat, err := e.read(rw, r)
	var text string
	served := "" // the side that served the request; none when it was not read
	var ticket keys.Ticket
	if err == nil {
		ticket, err = e.s.admitKey(r, chat)
	}
	if err != nil {
		e.s.writeError(rw, r, err)
	} else if side, id := e.s.tracedSide(r, chat); side == rollout.SideLegacy {
		// The legacy side reports no usage: the estimate Admit counted
		// stands, and nothing is spent.
		model, served = "legacy", side.String()
		text = e.serveLegacy(rw, r, req, chat, id)
		e.s.remember(r, rw, rollout.SideLegacy.String(), model, e.route, start)
	} else {
		served = side.String()
		res := e.serveNew(rw, r, req, chat, start)
		if res.model != "" {
			model = res.model
		}
		text = res.text
		ticket.Settle(r.Context(), res.tokens, res.cost)
		e.s.remember(r, rw, rollout.SideNew.String(), model, e.route, start)
	}
	took := time.Since(start)
	e.s.opt.Metrics.ObserveRequest(e.route, model, codeText(rw.status), took)
	if served != "" {
		e.s.opt.Metrics.RolloutDuration.WithLabelValues(served).Observe(took.Seconds())
	}
	if tenant := tenantOf(r.Context()); err == nil && e.s.opt.PayloadTenants[tenant] {
		e.s.opt.Log.InfoContext(r.Context(), "payload", slog.String("tenant", tenant), slog.String("route", e.route),
			slog.String("model", model), slog.Int("status", rw.status), slog.String("request", string(chat)), slog.String("answer", text))
	}
}

// side decides which side serves a request whose chat completions body is
// chat, and returns who asked when the legacy side may need it.
func (s *Server) side(r *http.Request, chat []byte) (rollout.Side, rollout.Identity) {
	ro := s.opt.Rollout
	if ro == nil || ro.Legacy == nil {
		return rollout.SideNew, rollout.Identity{}
	}
	if side, ok := ro.Decider.Uniform(); ok && side == rollout.SideNew {
		return side, rollout.Identity{} // no need to read who is asking
	}
	id := rollout.ExtractIdentity(tenantOf(r.Context()), r.Header, chat)
	return ro.Decider.Decide(id, r.Header.Get(rollout.HeaderSide)).Side, id
}

// tracedSide is side in a span "rollout.decide" that names the side, which
// the request's span names too.
func (s *Server) tracedSide(r *http.Request, chat []byte) (rollout.Side, rollout.Identity) {
	if !telemetry.Recording(r.Context()) {
		return s.side(r, chat)
	}
	_, span := telemetry.Start(r.Context(), "rollout.decide")
	side, id := s.side(r, chat)
	a := attribute.String("cato.side", side.String())
	span.SetAttributes(a)
	span.End()
	telemetry.Set(r.Context(), a)
	return side, id
}

// serveLegacy answers on the legacy side and returns the answer's text;
// id says who asked.
func (e *twoSided[T]) serveLegacy(w *response, r *http.Request, req T, chat []byte, id rollout.Identity) string {
	ro := e.s.opt.Rollout
	e.s.opt.Metrics.RolloutRequests.WithLabelValues("legacy").Inc()
	var ans rollout.Answer
	if e.legacy != nil {
		ans = e.legacy(w, r, req, chat, id)
	} else {
		ans = ro.Legacy.Proxy(w, r, id, chat)
	}
	if ans.Err != nil && w.status == 0 {
		w.Header().Set(rollout.HeaderSide, rollout.SideLegacy.String())
		e.s.writeError(w, r, ans.Err) // nothing for a client that went away
	}
	if ro.Stats != nil {
		ro.Stats.Observe(rollout.Outcome{Side: rollout.SideLegacy, Latency: ans.Latency, Status: ans.Status, Err: ans.Err, CostUSD: ans.CostUSD, CostKnown: ans.CostKnown})
	}
	if e.shadow != nil && ro.Shadow != nil && ro.Shadow.Sample() {
		tenant := tenantOf(r.Context())
		ro.Shadow.Mirror(rollout.SideLegacy, ans, func(ctx context.Context) rollout.Answer {
			return e.shadow(ctx, tenant, req)
		})
	}
	if errors.Is(ans.Err, rollout.ErrAborted) {
		w.abort()
	}
	return ans.Text
}

// newSide is the X-Cato-Side value of a new-side answer, shared by every
// answer (net/http only reads header values; HeaderSide is canonical, as
// Header.Set would write it), where Set allocates one per request.
var newSide = []string{rollout.SideNew.String()}

// serveNew answers on the new side and reports the answer.
func (e *twoSided[T]) serveNew(w *response, r *http.Request, req T, chat []byte, start time.Time) answered {
	w.Header()[rollout.HeaderSide] = newSide
	e.s.opt.Metrics.RolloutRequests.WithLabelValues("new").Inc()
	res := e.answer(w, r, req)
	ro := e.s.opt.Rollout
	if ro == nil {
		return res
	}
	ans := rollout.Answer{Text: res.text, Status: w.status, Err: res.err, Latency: time.Since(start), CostUSD: res.cost, CostKnown: true}
	if ro.Stats != nil {
		ro.Stats.Observe(rollout.Outcome{Side: rollout.SideNew, Latency: ans.Latency, Status: ans.Status, Err: ans.Err, Cached: res.cached, CostUSD: ans.CostUSD, CostKnown: true})
	}
	if ro.Legacy != nil && ro.Shadow != nil && ro.Shadow.Sample() {
		ro.Shadow.Mirror(rollout.SideNew, ans, func(ctx context.Context) rollout.Answer {
			return ro.Legacy.Call(ctx, legacyChatPath, chat)
		})
	}
	return res
}

// getRollout serves GET /api/admin/cato/rollout[?limit=N]: the flag and
// its latest changes.
func (s *Server) getRollout(w http.ResponseWriter, r *http.Request) {
	limit := rollout.AdminHistory
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.writeError(w, r, fail(codeInvalidLimit, "limit must be a positive integer"))
			return
		}
		limit = min(n, rollout.HistoryLimit) // the store keeps no more than that
	}
	view, err := s.opt.Rollout.Admin.View(r.Context(), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view)
}

// putRollout serves PUT /api/admin/cato/rollout: it sets the flag for
// every replica and applies it on this one at once.
func (s *Server) putRollout(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ch, err := rollout.ParseChange(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if ch.Actor == "" {
		ch.Actor = "admin@" + remoteHost(r)
	}
	admin := s.opt.Rollout.Admin
	if _, err := admin.Set(r.Context(), ch); err != nil {
		s.writeError(w, r, err)
		return
	}
	view, err := admin.View(r.Context(), rollout.AdminHistory)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view)
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
