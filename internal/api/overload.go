package api

import (
	"errors"
	"fmt"
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
	// Retry-After at once. A request with a body is counted only once its
	// body has arrived, so that clients sending theirs slowly cannot fill
	// the slots; one without is counted as it comes in. Health, metrics
	// and the admin API are not counted. Zero or less means no cap.
	MaxInFlight int64
	// BodyBudgetBytes caps the bytes of request bodies being read or held
	// at once. A body takes its share as its bytes arrive (the buffer
	// that holds them, which grows to at most twice what has arrived),
	// never from its Content-Length before they do, and keeps it until
	// its request ends; one whose next share does not fit is answered
	// 503 with Retry-After and its connection closed, before anything of
	// it is processed. Zero or less means no budget.
	BodyBudgetBytes int64
	// BodyGrace and BodyMinRate bound how long a body may take to arrive:
	// after n bytes, the next ones must come before BodyGrace plus n over
	// BodyMinRate (bytes per second) has passed since the body began, or
	// the request is answered 408 and the connection closed. BodyMinRate
	// zero or less sets no such deadline.
	BodyGrace   time.Duration
	BodyMinRate int64
	// Arrived, when not nil, is told of each request once it has arrived
	// whole: at once for one without a body to read, once readBody has
	// read it for one with. The listener uses it to tell connections
	// still sending their request from those being answered.
	Arrived func(*http.Request)
}

// arrived reports r's arrival to Overload.Arrived.
func (s *Server) arrived(r *http.Request) {
	if f := s.opt.Overload.Arrived; f != nil {
		f(r)
	}
}

// readsBody reports whether r comes with a body its handler reads
// (readBody): a POST, PUT or PATCH with one. Client routes answer GET
// and DELETE without reading a body.
func readsBody(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	}
	return false
}

// admit counts a client request in until it ends, or answers it 503
// and reports false when MaxInFlight requests are being served. A
// request with a body its handler reads is not counted here: admitBody
// counts it once readBody has read the body, before anything of it is
// processed.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	if s.opt.Overload.MaxInFlight <= 0 {
		return true
	}
	if readsBody(r) {
		responseOf(w).admitPending = true
		return true
	}
	if err := s.takeSlot(w); err != nil {
		s.writeError(w, r, err)
		return false
	}
	return true
}

// admitBody counts in a request whose admission admit left to the end of
// its body; it fails with 503 overloaded when MaxInFlight requests are
// being served. Requests admit did not defer pass.
func (s *Server) admitBody(w http.ResponseWriter) error {
	rw := responseOf(w)
	if !rw.admitPending {
		return nil
	}
	rw.admitPending = false
	return s.takeSlot(w)
}

// takeSlot takes one of MaxInFlight's slots until the request ends.
func (s *Server) takeSlot(w http.ResponseWriter) error {
	if s.clientInFlight.Add(1) > s.opt.Overload.MaxInFlight {
		s.clientInFlight.Add(-1)
		return s.overloaded("in_flight", "the gateway is serving as many requests as it allows (server.max_in_flight)")
	}
	responseOf(w).slot = true // given back by response.release
	return nil
}

// overloaded is the failure of a request Cato refuses to take on, counted
// under reason: 503, Retry-After: 1, the error code "overloaded".
func (s *Server) overloaded(reason, msg string) error {
	s.opt.Metrics.Shed.WithLabelValues(reason).Inc()
	return fail(codeOverloaded, msg+"; retry shortly")
}

// errBodyBudget is what budgetedRead fails with when the body budget
// cannot take the body's next share.
var errBodyBudget = errors.New("the body budget is full")

// firstShare is the buffer a body is first read into, and the share of
// the budget it takes before its first byte arrives.
const firstShare = 512

// budgetedRead reads r to its end, at most limit bytes (r itself refuses
// more, as http.MaxBytesReader does), into a buffer that grows with what
// arrives: it starts at firstShare bytes and doubles when full, up to
// limit. Each growth first takes its bytes from budget (nil: none),
// and fails with errBodyBudget, having read no further, when they do not
// fit. It returns what it took, which the caller releases when the
// body is no longer held, also on error.
func budgetedRead(r io.Reader, limit int64, budget *semaphore.Weighted) (body []byte, took int64, err error) {
	grow := func(to int64) error {
		if budget != nil && !budget.TryAcquire(to-int64(cap(body))) {
			return errBodyBudget
		}
		if budget != nil {
			took += to - int64(cap(body))
		}
		nb := make([]byte, len(body), to)
		copy(nb, body)
		body = nb
		return nil
	}
	if err := grow(min(firstShare, max(limit, 1))); err != nil {
		return nil, took, err
	}
	for {
		if len(body) == cap(body) {
			if int64(cap(body)) >= limit {
				// Full: one more read sees the end, or r's refusal of
				// a body past limit.
				var one [1]byte
				n, err := r.Read(one[:])
				switch {
				case n > 0:
					return nil, took, fmt.Errorf("the body is longer than %d bytes", limit)
				case err == io.EOF:
					return body, took, nil
				case err != nil:
					return nil, took, err
				}
				continue
			}
			if err := grow(min(2*int64(cap(body)), limit)); err != nil {
				return nil, took, err
			}
		}
		n, err := r.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err == io.EOF {
			return body, took, nil
		}
		if err != nil {
			return nil, took, err
		}
	}
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
	r io.Reader
	// w is the request's ResponseWriter, whose connection's read
	// deadline moves.
	w     http.ResponseWriter
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
	if err := p.setReadDeadline(p.start.Add(allow)); err != nil && !errors.Is(err, http.ErrNotSupported) {
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
func (p *pacedBody) done() { _ = p.setReadDeadline(time.Time{}) }

// setReadDeadline sets the connection's read deadline. The controller is
// made per call: it does not escape, so it costs no allocation.
func (p *pacedBody) setReadDeadline(t time.Time) error {
	return http.NewResponseController(p.w).SetReadDeadline(t)
}
