package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/metrics"
	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/requestid"
	"github.com/cato-gateway/cato/internal/telemetry"
	"golang.org/x/sync/semaphore"
)

// Options are a Server's collaborators and settings.
type Options struct {
	Orchestrator *orchestrator.Orchestrator
	Metrics      *metrics.Metrics
	Log          *slog.Logger
	// Auth decides who is asking.
	Auth *Auth
	// MaxBodyBytes caps request bodies. Zero means 4 MiB.
	MaxBodyBytes int64
	// Models lists the configured chat models for /v1/models.
	Models []string
	// Version is reported by /status.
	Version string
	// Checks are the readiness checks of /health, by name; each returns
	// nil when its dependency is usable.
	Checks map[string]func(context.Context) error
	// Rollout splits traffic between the new side and the legacy upstream;
	// nil serves everything on the new side.
	Rollout *Rollout
	// PayloadTenants lists the tenants whose requests and answers are
	// logged, at info level under the message "payload" (config
	// log.payloads). Nil logs no payload: by default the log carries no
	// prompt, answer, key or hidden state.
	PayloadTenants map[string]bool
	// Status adds sections to /status (breakers, cache, rollout…); each
	// function returns the section's JSON value.
	Status map[string]func() any
	// Memory is long-term memory, behind /api/cato/memory/; nil leaves
	// those paths out.
	Memory longTermMemory
	// Overload limits the work taken on at once; the zero value limits
	// nothing.
	Overload Overload
	// Feedback remembers answers and serves /api/cato/feedback; nil:
	// neither.
	Feedback *Feedback
}

// Server is Cato's HTTP handler. Create it with New; it is safe for
// concurrent use.
type Server struct {
	opt      Options
	mux      *http.ServeMux
	start    time.Time
	draining atomic.Bool
	inFlight atomic.Int64
	// clientInFlight counts the client requests Overload.MaxInFlight caps.
	clientInFlight atomic.Int64
	// bodies is the body budget; nil for none.
	bodies *semaphore.Weighted
}

// New returns a Server.
func New(opt Options) *Server {
	if opt.MaxBodyBytes == 0 {
		opt.MaxBodyBytes = 4 << 20
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.New()
	}
	if opt.Auth == nil {
		opt.Auth = &Auth{Anonymous: true}
	}
	s := &Server{opt: opt, mux: http.NewServeMux(), start: time.Now(), bodies: newBodyBudget(opt.Overload.BodyBudgetBytes)}
	s.mount(s.routes())
	return s
}

// SetDraining marks the server as shutting down: /health answers 503 so
// that balancers stop sending traffic, while requests in flight finish.
func (s *Server) SetDraining() { s.draining.Store(true) }

// ErrShutdown is the cause with which the gateway cancels the requests
// still in flight when server.shutdown_timeout runs out. A request ended
// by it is answered 503 shutting_down, and a stream that already began ends
// with that error as its last event rather than being cut.
var ErrShutdown = errors.New("the gateway is shutting down")

// shutDown reports whether ctx was cancelled by the gateway's shutdown.
func shutDown(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), ErrShutdown)
}

// Draining reports whether SetDraining was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// InFlight returns the number of requests being served.
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

// Admitted returns the number of client requests holding one of
// Overload.MaxInFlight's slots: those past admission, their bodies read.
func (s *Server) Admitted() int64 { return s.clientInFlight.Load() }

// route is one path of Cato's HTTP API: who may call it, and the handler
// of each method it answers.
type route struct {
	path     string
	access   access
	handlers map[string]http.HandlerFunc
}

// routes is Cato's HTTP API, the one table of its paths. Every path is
// here, with who may call it (auth.go) and, for each method, its handler;
// /v1/chat/completions, /v1/responses and /api/cato/query go through the
// rollout (rollout.go), which may answer them on the legacy side.
func (s *Server) routes() []route {
	rs := []route{
		{"/v1/chat/completions", client, map[string]http.HandlerFunc{http.MethodPost: s.chatEndpoint().ServeHTTP}},
		{"/v1/responses", client, map[string]http.HandlerFunc{http.MethodPost: s.responsesEndpoint().ServeHTTP}},
		{"/v1/models", client, map[string]http.HandlerFunc{http.MethodGet: s.listModels}},
		{"/api/cato/query", client, map[string]http.HandlerFunc{http.MethodPost: s.queryEndpoint().ServeHTTP}},
		{"/api/cato/route", client, map[string]http.HandlerFunc{http.MethodPost: s.route}},
		{"/api/cato/sessions/{id}", client, map[string]http.HandlerFunc{http.MethodGet: s.getSession, http.MethodDelete: s.deleteSession}},
		{"/api/admin/cato/health", public, map[string]http.HandlerFunc{http.MethodGet: s.health}},
		{"/api/admin/cato/status", admin, map[string]http.HandlerFunc{http.MethodGet: s.status}},
		{"/api/admin/cato/cache/purge", admin, map[string]http.HandlerFunc{http.MethodPost: s.purgeCache}},
		{"/metrics", public, map[string]http.HandlerFunc{http.MethodGet: s.opt.Metrics.Handler().ServeHTTP}},
	}
	rs = append(rs, s.pageRoutes()...) // the operator's page, /admin (page.go)
	if s.opt.Memory != nil {
		rs = append(rs,
			route{"/api/cato/memory/interactions", client, map[string]http.HandlerFunc{http.MethodPost: s.postInteraction}},
			route{"/api/cato/memory/facts", client, map[string]http.HandlerFunc{http.MethodGet: s.getFacts}},
			route{"/api/cato/memory/episodes", client, map[string]http.HandlerFunc{http.MethodGet: s.getEpisodes}},
			route{"/api/cato/memory/users/{user}", client, map[string]http.HandlerFunc{http.MethodDelete: s.deleteMemoryUser}},
		)
	}
	if s.opt.Feedback != nil {
		rs = append(rs, route{"/api/cato/feedback", client, map[string]http.HandlerFunc{http.MethodPost: s.postFeedback}})
	}
	if s.opt.Auth.Keys != nil {
		rs = append(rs,
			route{"/api/admin/cato/keys", admin, map[string]http.HandlerFunc{http.MethodGet: s.listKeys, http.MethodPost: s.createKey}},
			route{"/api/admin/cato/keys/{id}", admin, map[string]http.HandlerFunc{http.MethodDelete: s.revokeKey}},
		)
	}
	if ro := s.opt.Rollout; ro != nil && ro.Admin != nil {
		rs = append(rs, route{"/api/admin/cato/rollout", admin, map[string]http.HandlerFunc{http.MethodGet: s.getRollout, http.MethodPut: s.putRollout}})
	}
	return rs
}

// mount registers the routes on the mux, each method's handler behind the
// route's access check, and answers any other path with 404.
func (s *Server) mount(rs []route) {
	for _, rt := range rs {
		m := methods{s: s, path: rt.path, h: make(map[string]http.Handler, len(rt.handlers))}
		for method, h := range rt.handlers {
			m.h[method] = s.guard(rt.access, h)
		}
		s.mux.Handle(rt.path, m)
	}
	s.mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, fail(codeNotFound, "no route for "+r.Method+" "+r.URL.Path))
	}))
}

// ServeHTTP implements http.Handler: request id, in-flight count and panic
// recovery around the mux. It is the outermost handler, so it is where an
// answer that broke off after it began (a legacy stream the upstream cut)
// is aborted: it panics with http.ErrAbortHandler, which net/http defines
// as "abort the response" (an HTTP/1 connection is closed, an HTTP/2 stream
// reset, nothing logged), so that the client sees a broken stream rather
// than a clean end. No other code of Cato's panics to end a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &response{ResponseWriter: w}
	s.serve(rw, r)
	if rw.aborted {
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) serve(w *response, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if !validRequestID(id) {
		id = newRequestID()
	}
	w.idValue[0] = id
	w.Header()["X-Request-Id"] = w.idValue[:] // as Header.Set, without its allocation
	s.inFlight.Add(1)
	s.opt.Metrics.InFlight.Inc()
	defer func() {
		w.release(s)
		s.inFlight.Add(-1)
		s.opt.Metrics.InFlight.Dec()
		defer func() { telemetry.Status(r.Context(), w.status) }() // after a panic's answer
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { // a handler's own abort, as net/http reads it
				w.aborted = true
				return
			}
			s.opt.Log.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path, "panic", v)
			status, body, _ := describe(errors.New("panic"), requestID(r.Context()))
			switch {
			case w.status == 0:
				writeJSON(w, status, body)
			case strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream"):
				// The stream has begun: a JSON document would be read as
				// garbage, so it ends with an error event, as a failed
				// upstream ends it.
				if b, err := json.Marshal(body); err == nil {
					_ = openai.WriteEvent(w, b)
					_ = http.NewResponseController(w).Flush()
				}
			default:
				// Another answer broke off: the client must see it broken.
				w.aborted = true
			}
		}
	}()
	w.id = id
	// The context carries the response, which has the id (and, once
	// guard has authenticated the request, its key: keyOf), in one value.
	r = r.WithContext(requestid.WithSource(r.Context(), w))
	if !readsBody(r) {
		s.arrived(r)
	}
	s.mux.ServeHTTP(w, r)
}

func requestID(ctx context.Context) string { return requestid.From(ctx) }

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// methods dispatches by HTTP method and answers others with 405 in
// OpenAI's error shape.
type methods struct {
	s    *Server
	path string
	h    map[string]http.Handler
}

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	telemetry.Route(r.Context(), r.Method, m.path)
	if h, ok := m.h[r.Method]; ok {
		h.ServeHTTP(w, r)
		return
	}
	if r.Method == http.MethodHead {
		if h, ok := m.h[http.MethodGet]; ok {
			h.ServeHTTP(w, r)
			return
		}
	}
	allow := slices.Sorted(maps.Keys(m.h))
	if _, ok := m.h[http.MethodGet]; ok {
		allow = append(allow, http.MethodHead)
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	m.s.writeError(w, r, fail(codeMethodNotAllowed, r.Method+" is not allowed here"))
}

// response is the ResponseWriter every handler of a Server writes to:
// ServeHTTP makes one per request. It records the status written, for
// metrics and the rollout's stats, and whether the answer must be aborted.
type response struct {
	http.ResponseWriter
	status int
	// aborted asks ServeHTTP to abort the answer once the handlers have
	// returned.
	aborted bool
	// admitPending: the request has a body and is counted against
	// Overload.MaxInFlight only once readBody has read it.
	admitPending bool
	// What the request holds until it ends, given back by release: its
	// share of the body budget, in bytes, and whether it holds one of
	// Overload.MaxInFlight's slots. Fields rather than closures to run at
	// the end, which would cost allocations per request.
	bodyShare int64
	slot      bool
	// paced is the request body's pacing reader (readBody), kept here so
	// that it takes no allocation of its own.
	paced pacedBody
	// id is the request's id (RequestID).
	id string
	// key is the client key guard authenticated, when hasKey (keyOf).
	key    keys.Key
	hasKey bool
	// The values of the headers set on every answer, stored here so
	// that they take no allocation of their own: X-Request-Id (serve),
	// X-Cato-Model, -Cache and -Route (setCatoHeaders), Content-Type and
	// Content-Length (writeBody). Each header's slice has capacity one,
	// so that an Add to it copies rather than overwrites its neighbour;
	// setting an array's values again changes the header as Set would.
	idValue    [1]string
	catoValues [3]string
	bodyValues [2]string
}

// RequestID implements requestid.Source: the request's context carries
// its response.
func (w *response) RequestID() string { return w.id }

// release gives back what the request holds in s, once.
func (w *response) release(s *Server) {
	if w.bodyShare > 0 {
		s.bodies.Release(w.bodyShare)
		w.bodyShare = 0
	}
	if w.slot {
		s.clientInFlight.Add(-1)
		w.slot = false
	}
}

// responseOf returns the *response ServeHTTP made for the request w
// belongs to. Handlers are reached only through ServeHTTP, so there is
// one; a handler called any other way gets a fresh one, whose abort
// nobody reads.
func responseOf(w http.ResponseWriter) *response {
	for {
		switch x := w.(type) {
		case *response:
			return x
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return &response{ResponseWriter: w}
		}
	}
}

// abort has ServeHTTP abort the answer, which has begun, once the handlers
// have returned, so that the client sees it broken off.
func (w *response) abort() { w.aborted = true }

func (w *response) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *response) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// WriteString writes s without converting it to a byte slice when the
// underlying writer can.
func (w *response) WriteString(s string) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return io.WriteString(w.ResponseWriter, s)
}

func (w *response) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func codeText(status int) string {
	if status == 0 {
		status = StatusClientClosed
	}
	return strconv.Itoa(status)
}
