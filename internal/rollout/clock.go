package rollout

import "time"

// clock tells the time; tests give Stats and Guard a fake one.
type clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
