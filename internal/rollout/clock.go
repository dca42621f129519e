package rollout

import "time"

// clock tells the time; tests give Stats and Guard a fake one.
type clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// funcClock is a clock read from a function, as options give it.
type funcClock func() time.Time

func (f funcClock) Now() time.Time { return f() }

// clockOf returns now as a clock; nil means the real clock.
func clockOf(now func() time.Time) clock {
	if now == nil {
		return realClock{}
	}
	return funcClock(now)
}
