package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"syscall"
)

// errPoolWait is the cause given to an attempt that ran out of time while it
// waited for a connection of Cato's own pool, before any dial started.
var errPoolWait = errors.New("no upstream connection became free in time (the per-host connection cap is reached)")

// IsLocal reports whether err is a failure of Cato's own making rather than
// the model's, so that it must never count against the model's breaker:
//
//   - the process is out of file descriptors (EMFILE, ENFILE), socket
//     buffers or memory (ENOBUFS, ENOMEM), or local ports (EADDRNOTAVAIL);
//   - Cato's own limits refused or timed out the call: the model's queue is
//     full (ErrOverloaded), or the call waited for a pooled connection past
//     its time;
//   - the call was cancelled from Cato's side: the client went away or the
//     gateway is shutting down (context.Canceled).
//
// It is the one place these are classified; Guard uses it for every
// attempt and for streams that end early.
func IsLocal(err error) bool {
	if err == nil {
		return false
	}
	if pe := (*Error)(nil); errors.As(err, &pe) && (pe.Code == CodeTimeout || pe.Code == CodeStreamIdle) {
		return false // the model's silence, whatever cancelled the read
	}
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.EADDRNOTAVAIL} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return errors.Is(err, ErrOverloaded) || errors.Is(err, errPoolWait) || errors.Is(err, context.Canceled)
}

// localError returns err as the Error of a local failure: 503, retryable
// (another attempt, or another model, may find a free descriptor or
// connection), code local_resource_exhausted. A cancellation is returned as
// it is: there is no one to answer.
func localError(model string, err error) error {
	if errors.Is(err, context.Canceled) && !errors.Is(err, errPoolWait) {
		return err
	}
	var pe *Error
	if errors.As(err, &pe) && (pe.Code == CodeLocalExhausted || pe.Code == CodeModelOverloaded) {
		return err
	}
	return &Error{Model: model, StatusCode: http.StatusServiceUnavailable, Code: CodeLocalExhausted, Retryable: true,
		Err: fmt.Errorf("local failure, not the model's: %w", err)}
}

// poolTrace watches one HTTP attempt: whether it asked the transport for a
// connection, and whether it then got one or started dialling. An attempt
// that asked and did neither waited in the transport's per-host queue (Cato's
// own cap), so running out of time there is not the model's fault.
//
// A trace's hooks are closures made once, and a trace whose attempt cannot
// hear from the transport any more is reused (see done): building the
// hooks for every attempt cost five allocations a request (BenchmarkProxy
// in internal/app).
type poolTrace struct {
	asked, progressed atomic.Bool
	// gets counts GetConn calls, idleGets GotConn calls with a connection
	// that was idle in the pool: when every call was answered so, no dial
	// was started for the attempt, and no hook can run after it.
	gets, idleGets atomic.Int32
	dialed         atomic.Bool
	// once is set for a trace composed with one already in the context:
	// WithClientTrace wove the other's hooks into this one's.
	once  bool
	trace httptrace.ClientTrace
}

var poolTraces = sync.Pool{New: func() any { return newPoolTrace() }}

func newPoolTrace() *poolTrace {
	t := &poolTrace{}
	t.trace = httptrace.ClientTrace{
		GetConn: func(string) {
			t.asked.Store(true)
			t.gets.Add(1)
		},
		GotConn: func(info httptrace.GotConnInfo) {
			t.progressed.Store(true)
			if info.WasIdle {
				t.idleGets.Add(1)
			}
		},
		ConnectStart: func(string, string) {
			t.progressed.Store(true)
			t.dialed.Store(true)
		},
	}
	return t
}

// startPoolTrace returns a trace for one attempt and ctx carrying it. The
// caller calls done once the attempt's result is classified.
func startPoolTrace(ctx context.Context) (*poolTrace, context.Context) {
	var t *poolTrace
	if httptrace.ContextClientTrace(ctx) != nil {
		t = newPoolTrace()
		t.once = true
	} else {
		t = poolTraces.Get().(*poolTrace)
	}
	return t, httptrace.WithClientTrace(ctx, &t.trace)
}

// waitedForPool reports whether the attempt asked for a connection and
// never got or dialled one.
func (t *poolTrace) waitedForPool() bool {
	return t.asked.Load() && !t.progressed.Load()
}

// done ends the attempt's use of t. t is reused only when the transport
// cannot call its hooks any more: every connection the attempt asked for
// came at once from the idle pool, so no dial (whose ConnectStart could
// come late, from the dial's goroutine) was started for it. Any other
// trace is left to the garbage collector. It reports whether t was put
// back for reuse.
func (t *poolTrace) done() bool {
	if t.once || t.dialed.Load() {
		return false
	}
	if n := t.gets.Load(); n == 0 || n != t.idleGets.Load() {
		return false
	}
	t.asked.Store(false)
	t.progressed.Store(false)
	t.gets.Store(0)
	t.idleGets.Store(0)
	poolTraces.Put(t)
	return true
}
