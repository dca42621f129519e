package api

import (
	"errors"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/semaphore"
)

// Codes of the answers that shed load.
const (
	// codeOverloaded: the gateway is serving server.max_in_flight client
	// requests, or the request bodies in flight hold the body budget.
	codeOverloaded = "overloaded"
	// codeSlowBody: the request body arrived slower than
	// server.body_min_rate allows.
	codeSlowBody = "request_timeout"
	// codeShuttingDown: the request was still in flight when the
	// gateway's shutdown_timeout ran out (ErrShutdown).
	codeShuttingDown = "shutting_down"
)

// Overload are a Server's limits on the work it takes on at once. The zero
// value limits nothing.
type Overload struct {
	// MaxInFlight caps the client requests (every route a client key may
	// call) served at once; past it a request is answered 503 with
	// Retry-After at once. Health, metrics and the admin API are not
	// counted. Zero or less means no cap.
	MaxInFlight int64
	// BodyBudgetBytes caps the bytes of request bodies being read or held
	// at once: each body reserves its Content-Length (MaxBodyBytes when
	// it has none) until its request ends, and one that does not fit is
	// answered 503 with Retry-After before it is read. Zero or less means
	// no budget.
	BodyBudgetBytes int64
	// BodyGrace and BodyMinRate bound how long a body may take to arrive:
	// after n bytes, the next ones must come before BodyGrace plus n over
	// BodyMinRate (bytes per second) has passed since the body began, or
	// the request is answered 408 and the connection closed. BodyMinRate
	// zero or less sets no such deadline.
	BodyGrace   time.Duration
	BodyMinRate int64
}

// admit counts a client request in, or answers it 503 when MaxInFlight
// requests are being served; the caller runs done when it was admitted.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (done func(), ok bool) {
	limit := s.opt.Overload.MaxInFlight
	if limit <= 0 {
		return func() {}, true
	}
	if s.clientInFlight.Add(1) > limit {
		s.clientInFlight.Add(-1)
		s.writeError(w, r, s.overloaded("in_flight", "the gateway is serving as many requests as it allows (server.max_in_flight)"))
		return nil, false
	}
	return func() { s.clientInFlight.Add(-1) }, true
}

// overloaded is the failure of a request Cato refuses to take on, counted
// under reason: 503, Retry-After: 1, the error code "overloaded".
func (s *Server) overloaded(reason, msg string) error {
	s.opt.Metrics.Shed.WithLabelValues(reason).Inc()
	return fail(codeOverloaded, msg+"; retry shortly")
}

// reserveBody takes the request's share of the body budget until the
// request ends, or fails when the share does not fit now.
func (s *Server) reserveBody(w http.ResponseWriter, r *http.Request) error {
	if s.bodies == nil {
		return nil
	}
	n := r.ContentLength
	if n < 0 || n > s.opt.MaxBodyBytes {
		// Unknown: as much as it may be. Too large: MaxBytesReader
		// refuses it after MaxBodyBytes.
		n = s.opt.MaxBodyBytes
	}
	if n == 0 {
		return nil
	}
	if !s.bodies.TryAcquire(n) {
		return s.overloaded("body_budget", "the request bodies in flight fill the gateway's budget (server.body_budget_bytes)")
	}
	responseOf(w).onDone(func() { s.bodies.Release(n) })
	return nil
}

// newBodyBudget returns the body budget's semaphore; nil for none.
func newBodyBudget(bytes int64) *semaphore.Weighted {
	if bytes <= 0 {
		return nil
	}
	return semaphore.NewWeighted(bytes)
}

// pacedBody reads a request body under a read deadline that moves with
// what has arrived: before reading past byte n it is start + grace +
// n/rate, so a client that sends slower than rate is cut off within grace
// of falling behind, whatever the body's size. Once the body is read the
// deadline is lifted, for the rest of the request.
type pacedBody struct {
	r     io.Reader
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  int64
	// size is the body's Content-Length; -1 when unknown.
	size int64
	n    int64
}

func (p *pacedBody) Read(b []byte) (int, error) {
	next := p.n + int64(len(b))
	if p.size >= 0 && next > p.size {
		next = p.size
	}
	allow := p.grace + time.Duration(float64(next)/float64(p.rate)*float64(time.Second))
	if err := p.rc.SetReadDeadline(p.start.Add(allow)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, err
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}

// Close does nothing: the server closes the request's body.
func (p *pacedBody) Close() error { return nil }

// done lifts the deadline: the rest of the request is bounded by the
// server's own timeouts and the client's context, not by the body's pace.
func (p *pacedBody) done() { _ = p.rc.SetReadDeadline(time.Time{}) }
