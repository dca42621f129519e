package simulator

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"sync"

	"github.com/cato-gateway/cato/internal/openai"
)

// Server serves simulated models over HTTP. Requests for a model without
// its own settings use the default settings under the requested name. It is
// safe for concurrent use.
type Server struct {
	log *slog.Logger
	def Options
	mux *http.ServeMux

	mu      sync.Mutex // guards engines
	engines map[string]*Engine
}

// NewServer returns a server whose models answer with def unless models
// gives a model its own settings.
func NewServer(def Options, models map[string]Options, log *slog.Logger) *Server {
	s := &Server{log: log, def: def, mux: http.NewServeMux(), engines: map[string]*Engine{}}
	for name, cfg := range models {
		s.engines[name] = NewEngine(name, cfg)
	}
	s.routes()
	return s
}

// routes registers every wire the simulator speaks.
func (s *Server) routes() {
	s.mux.HandleFunc("POST /v1/chat/completions", s.chatCompletions)
	s.mux.HandleFunc("GET /v1/models", s.listModels)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s.bedrockRoutes()
	s.sagemakerRoutes()
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Engine returns the engine answering as name.
func (s *Server) Engine(name string) *Engine {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.engines[name]
	if !ok {
		e = NewEngine(name, s.def)
		s.engines[name] = e
	}
	return e
}

func (s *Server) listModels(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	names := make([]string, 0, len(s.engines))
	for n := range s.engines {
		names = append(names, n)
	}
	s.mu.Unlock()
	sort.Strings(names)
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		OwnedBy string `json:"owned_by"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	for _, n := range names {
		out.Data = append(out.Data, model{ID: n, Object: "model", OwnedBy: "cato-simulator"})
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	typ := openai.TypeServer
	switch {
	case status == http.StatusTooManyRequests:
		typ = openai.TypeRateLimit
		w.Header().Set("Retry-After", "1")
	case status < 500:
		typ = openai.TypeInvalidRequest
	}
	writeJSON(w, status, openai.NewError(typ, code, "", msg))
}
