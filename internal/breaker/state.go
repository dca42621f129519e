package breaker

import "fmt"

// State is where a Breaker stands. Its String form (closed, open,
// half_open) is the name used in /status, metrics and logs.
type State int32

// The values rise with severity (closed 0, half_open 1, open 2), so that a
// gauge can export a State as a number.
const (
	// Closed lets every call through and counts failures.
	Closed State = iota
	// HalfOpen lets a limited number of probe calls through; their results
	// close the breaker again or reopen it.
	HalfOpen
	// Open refuses every call with ErrOpen until the cool-down has passed.
	Open
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half_open"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// MarshalText writes the State's name, so that JSON shows "half_open".
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Outcome is the result of one call that a Breaker let through.
type Outcome int

const (
	// Success is a call the model answered.
	Success Outcome = iota
	// Failure is a call that says the model is unwell: a timeout, a 5xx,
	// throttling, a broken connection.
	Failure
	// Ignored is a call whose result says nothing about the model's health
	// (the client went away, the request was rejected as invalid). It is not
	// counted, and a half-open probe slot it held is given back.
	Ignored
)

func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Ignored:
		return "ignored"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}
