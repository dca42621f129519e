package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cato-gateway/cato/internal/metrics"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/requestid"
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
	// Status adds sections to /status (breakers, cache, rollout…); each
	// function returns the section's JSON value.
	Status map[string]func() any
}

// Server is Cato's HTTP handler. Create it with New; it is safe for
// concurrent use.
type Server struct {
	opt      Options
	mux      *http.ServeMux
	start    time.Time
	draining atomic.Bool
	inFlight atomic.Int64
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
	s := &Server{opt: opt, mux: http.NewServeMux(), start: time.Now()}
	s.routes()
	return s
}

// SetDraining marks the server as shutting down: /health answers 503 so
// that balancers stop sending traffic, while requests in flight finish.
func (s *Server) SetDraining() { s.draining.Store(true) }

// Draining reports whether SetDraining was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// InFlight returns the number of requests being served.
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

// Handle registers h for pattern on the server's mux, behind the same
// middleware, so that other packages' endpoints share auth and logging.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

func (s *Server) routes() {
	s.mux.Handle("/v1/chat/completions", methods{http.MethodPost: s.client(s.chatCompletions)})
	s.mux.Handle("/v1/models", methods{http.MethodGet: s.client(s.listModels)})
	s.mux.Handle("/api/cato/query", methods{http.MethodPost: s.client(s.query)})
	s.mux.Handle("/api/cato/route", methods{http.MethodPost: s.client(s.route)})
	s.mux.Handle("/api/cato/sessions/{id}", methods{http.MethodGet: s.client(s.getSession), http.MethodDelete: s.client(s.deleteSession)})
	s.mux.Handle("/api/admin/cato/health", methods{http.MethodGet: http.HandlerFunc(s.health)})
	s.mux.Handle("/api/admin/cato/status", methods{http.MethodGet: s.admin(s.status)})
	s.mux.Handle("/api/admin/cato/cache/purge", methods{http.MethodPost: s.admin(s.purgeCache)})
	s.mux.Handle("/metrics", methods{http.MethodGet: s.opt.Metrics.Handler()})
	s.mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errBody(http.StatusNotFound, "not_found", "no route for "+r.Method+" "+r.URL.Path))
	}))
}

// ServeHTTP implements http.Handler: request id, in-flight count and panic
// recovery around the mux.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if !validRequestID(id) {
		id = newRequestID()
	}
	w.Header().Set("X-Request-Id", id)
	s.inFlight.Add(1)
	s.opt.Metrics.InFlight.Inc()
	defer func() {
		s.inFlight.Add(-1)
		s.opt.Metrics.InFlight.Dec()
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.opt.Log.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path, "panic", v)
			writeJSON(w, http.StatusInternalServerError, errBody(http.StatusInternalServerError, "internal_error", "internal error"))
		}
	}()
	r = r.WithContext(requestid.With(r.Context(), id))
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
type methods map[string]http.Handler

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h.ServeHTTP(w, r)
		return
	}
	if r.Method == http.MethodHead {
		if h, ok := m[http.MethodGet]; ok {
			h.ServeHTTP(w, r)
			return
		}
	}
	allow := slices.Sorted(maps.Keys(m))
	if _, ok := m[http.MethodGet]; ok {
		allow = append(allow, http.MethodHead)
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeJSON(w, http.StatusMethodNotAllowed, errBody(http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here"))
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// WriteString writes s without converting it to a byte slice when the
// underlying writer can.
func (w *statusWriter) WriteString(s string) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return io.WriteString(w.ResponseWriter, s)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func codeText(status int) string {
	if status == 0 {
		status = StatusClientClosed
	}
	return strconv.Itoa(status)
}
