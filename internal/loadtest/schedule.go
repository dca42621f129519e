package loadtest

import (
	"math"
	"time"
)

// arrivalOffset returns when request i (counting from 0) of an open-loop
// run is due, measured from the run's start. The rate climbs linearly from 0
// to rate (per second) over ramp, then stays: during the ramp the number of
// requests due by time t is rate·t²/(2·ramp), after it rate·(t - ramp/2).
func arrivalOffset(i int64, rate float64, ramp time.Duration) time.Duration {
	n := float64(i)
	r := ramp.Seconds()
	var t float64
	if rampN := rate * r / 2; n < rampN {
		t = math.Sqrt(2 * r * n / rate)
	} else {
		t = r + (n-rampN)/rate
	}
	return time.Duration(t * float64(time.Second))
}

// userStart returns when closed-loop user k of n starts: users start evenly
// spread over the ramp, the first at once.
func userStart(k, n int, ramp time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(int64(ramp) / int64(n) * int64(k))
}

// niceSteps are the timeline bucket widths a report may use.
var niceSteps = []time.Duration{
	100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
}

// timelineBuckets is about how many buckets a run's timeline has: enough
// for a plot's shape, few enough that each holds many requests.
const timelineBuckets = 150

// bucketWidth returns the timeline bucket width for a run of duration d:
// the smallest nice step that gives at most about timelineBuckets buckets.
func bucketWidth(d time.Duration) time.Duration {
	for _, s := range niceSteps {
		if d <= s*timelineBuckets {
			return s
		}
	}
	return niceSteps[len(niceSteps)-1]
}
