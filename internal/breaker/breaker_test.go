package breaker

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a clock the test moves by hand. Safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// step is one action of a breaker script.
type step struct {
	op string // call, refused, hold, finish, advance, state
	o  Outcome
	d  time.Duration
	i  int // which held call finish completes
	s  State
}

func call(o Outcome) step           { return step{op: "call", o: o} }
func calls(n int, o Outcome) []step { s := make([]step, n); fillSteps(s, call(o)); return s }
func refused() step                 { return step{op: "refused"} }
func hold() step                    { return step{op: "hold"} }
func finish(i int, o Outcome) step  { return step{op: "finish", i: i, o: o} }
func advance(d time.Duration) step  { return step{op: "advance", d: d} }
func wantState(s State) step        { return step{op: "state", s: s} }

func fillSteps(s []step, v step) {
	for i := range s {
		s[i] = v
	}
}

func script(parts ...any) []step {
	var out []step
	for _, p := range parts {
		switch p := p.(type) {
		case step:
			out = append(out, p)
		case []step:
			out = append(out, p...)
		default:
			panic(fmt.Sprintf("script: %T", p))
		}
	}
	return out
}

func TestStateMachine(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{
			name: "opens after five consecutive failures by default",
			steps: script(calls(4, Failure), wantState(Closed),
				call(Failure), wantState(Open), refused(), refused()),
		},
		{
			name:  "success resets the consecutive count",
			steps: script(calls(4, Failure), call(Success), calls(4, Failure), wantState(Closed), call(Failure), wantState(Open)),
		},
		{
			name:  "ignored results neither count nor reset",
			steps: script(calls(4, Failure), calls(3, Ignored), wantState(Closed), call(Failure), wantState(Open)),
		},
		{
			name:  "custom failure threshold",
			cfg:   Config{Failures: 2},
			steps: script(call(Failure), wantState(Closed), call(Failure), wantState(Open)),
		},
		{
			name: "stays open for the cooldown then half-opens",
			cfg:  Config{Cooldown: 10 * time.Second},
			steps: script(calls(5, Failure), advance(9*time.Second), refused(), wantState(Open),
				advance(time.Second), wantState(HalfOpen), call(Success), wantState(Closed), call(Success)),
		},
		{
			name: "half-open probe failure reopens for a new cooldown",
			cfg:  Config{Cooldown: 10 * time.Second},
			steps: script(calls(5, Failure), advance(10*time.Second), call(Failure), wantState(Open),
				advance(9*time.Second), refused(), advance(time.Second), wantState(HalfOpen), call(Success), wantState(Closed)),
		},
		{
			name: "half-open lets only the configured probes through",
			cfg:  Config{Cooldown: time.Second, HalfOpenProbes: 2},
			steps: script(calls(5, Failure), advance(time.Second), hold(), hold(), refused(), wantState(HalfOpen),
				finish(0, Success), wantState(HalfOpen), refused(), finish(1, Success), wantState(Closed)),
		},
		{
			name: "every probe must succeed",
			cfg:  Config{Cooldown: time.Second, HalfOpenProbes: 3},
			steps: script(calls(5, Failure), advance(time.Second), call(Success), call(Success), wantState(HalfOpen),
				call(Failure), wantState(Open)),
		},
		{
			name: "an ignored probe gives its slot back",
			cfg:  Config{Cooldown: time.Second},
			steps: script(calls(5, Failure), advance(time.Second), hold(), refused(), finish(0, Ignored),
				wantState(HalfOpen), call(Success), wantState(Closed)),
		},
		{
			name: "a result from before a transition is not counted",
			cfg:  Config{Cooldown: time.Second},
			steps: script(hold(), hold(), calls(5, Failure), wantState(Open),
				finish(0, Success), wantState(Open), advance(time.Second), wantState(HalfOpen),
				finish(1, Failure), wantState(HalfOpen), call(Success), wantState(Closed)),
		},
		{
			// 20 calls in flight are volume: 5 failures in a row of a
			// burst are left to the rate rule.
			name: "calls in flight count as volume for the consecutive rule",
			steps: script(hold(), hold(), hold(), hold(), hold(), hold(), hold(), hold(), hold(), hold(),
				hold(), hold(), hold(), hold(), hold(), hold(), hold(), hold(), hold(), hold(),
				calls(5, Failure), wantState(Closed)),
		},
		{
			name:  "closing forgets old failures",
			cfg:   Config{Cooldown: time.Second},
			steps: script(calls(5, Failure), advance(time.Second), call(Success), calls(4, Failure), wantState(Closed)),
		},
		{
			name: "failure rate opens once the sample is large enough",
			cfg:  Config{Failures: -1, FailureRate: 0.5, MinRequests: 10, Window: 10 * time.Second},
			steps: script(
				call(Failure), call(Success), call(Failure), call(Success), call(Failure),
				call(Success), call(Failure), call(Success), call(Failure), wantState(Closed), // 5 of 9
				call(Success), wantState(Open)), // 5 of 10
		},
		{
			name:  "failure rate below the threshold stays closed",
			cfg:   Config{Failures: -1, FailureRate: 0.5, MinRequests: 4, Window: 10 * time.Second},
			steps: script(call(Failure), calls(3, Success), calls(20, Success), call(Failure), call(Success), wantState(Closed)),
		},
		{
			name: "failures slide out of the window",
			cfg:  Config{Failures: -1, FailureRate: 0.5, MinRequests: 10, Window: 10 * time.Second},
			steps: script(calls(8, Failure), wantState(Closed), advance(11*time.Second),
				calls(4, Success), wantState(Closed), call(Failure), call(Failure), call(Success), call(Success), wantState(Closed)),
		},
		{
			name:  "disabled consecutive rule never opens on its own",
			cfg:   Config{Failures: -1, FailureRate: -1},
			steps: script(calls(50, Failure), wantState(Closed)),
		},
		{
			name:  "at volume a few consecutive failures do not open it",
			cfg:   Config{},
			steps: script(calls(30, Success), calls(6, Failure), wantState(Closed), call(Success), calls(10, Failure), wantState(Closed)),
		},
		{
			name:  "by default a failure rate of one half opens it at volume",
			cfg:   Config{},
			steps: script(calls(20, Success), calls(19, Failure), wantState(Closed), call(Failure), wantState(Open)),
		},
		{
			name:  "a disabled rate leaves the consecutive rule at any volume",
			cfg:   Config{FailureRate: -1},
			steps: script(calls(30, Success), calls(4, Failure), wantState(Closed), call(Failure), wantState(Open)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			b := New("m", tt.cfg, Options{Now: clk.Now})
			var held []func(Outcome)
			for i, s := range tt.steps {
				switch s.op {
				case "call", "hold":
					done, err := b.Allow()
					if err != nil {
						t.Fatalf("step %d: Allow() = %v; want nil (state %v)", i, err, b.State())
					}
					if s.op == "hold" {
						held = append(held, done)
					} else {
						done(s.o)
					}
				case "refused":
					if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
						t.Fatalf("step %d: Allow() = %v; want ErrOpen", i, err)
					}
				case "finish":
					held[s.i](s.o)
				case "advance":
					clk.Advance(s.d)
				case "state":
					if got := b.State(); got != s.s {
						t.Fatalf("step %d: State() = %v; want %v", i, got, s.s)
					}
				}
			}
		})
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Closed: "closed", Open: "open", HalfOpen: "half_open", State(9): "State(9)"} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q; want %q", int32(s), got, want)
		}
		if got, _ := s.MarshalText(); string(got) != want {
			t.Errorf("State(%d).MarshalText() = %q; want %q", int32(s), got, want)
		}
	}
}

func TestDoneCountsOnce(t *testing.T) {
	b := New("m", Config{Failures: 2}, Options{Now: newFakeClock().Now})
	done, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	done(Failure)
	done(Failure)
	if got := b.State(); got != Closed {
		t.Errorf("after one call's done twice, State() = %v; want closed", got)
	}
}

func TestErrOpenNamesModel(t *testing.T) {
	b := New("bedrock_sonnet", Config{Failures: 1}, Options{Now: newFakeClock().Now})
	done, _ := b.Allow()
	done(Failure)
	_, err := b.Allow()
	if !errors.Is(err, ErrOpen) || err.Error() != "model bedrock_sonnet: circuit breaker is open" {
		t.Errorf("Allow() = %v; want ErrOpen naming the model", err)
	}
}

// TestOpenErrorSaysWhenToRetry: a refusal tells how long until the
// breaker half-opens, for the client's Retry-After.
func TestOpenErrorSaysWhenToRetry(t *testing.T) {
	clock := newFakeClock()
	b := New("m", Config{Failures: 1, Cooldown: 30 * time.Second, HalfOpenProbes: 1}, Options{Now: clock.Now})
	done, _ := b.Allow()
	done(Failure)
	clock.Advance(12 * time.Second)
	_, err := b.Allow()
	var oe *OpenError
	if !errors.As(err, &oe) || !errors.Is(err, ErrOpen) || oe.RetryIn != 18*time.Second {
		t.Fatalf("Allow() = %#v; want an OpenError wrapping ErrOpen with 18s left", err)
	}
	clock.Advance(18 * time.Second)
	if _, err := b.Allow(); err != nil { // the probe
		t.Fatal(err)
	}
	_, err = b.Allow()
	if !errors.As(err, &oe) || oe.RetryIn != 0 {
		t.Errorf("half open with its probe taken: Allow() = %#v; want RetryIn 0", err)
	}
}

func TestSnapshot(t *testing.T) {
	clk := newFakeClock()
	start := clk.Now()
	b := New("m", Config{Cooldown: 10 * time.Second}, Options{Now: clk.Now})
	for _, o := range []Outcome{Success, Failure, Success, Failure, Failure, Ignored} {
		done, _ := b.Allow()
		done(o)
	}
	want := Snapshot{State: Closed, ConsecutiveFailures: 2, Requests: 5, Failures: 3, Since: start}
	if diff := cmp.Diff(want, b.Snapshot()); diff != "" {
		t.Errorf("Snapshot() mismatch (-want +got):\n%s", diff)
	}

	for range 3 {
		done, _ := b.Allow()
		done(Failure)
	}
	clk.Advance(time.Second)
	b.Allow()
	b.Allow()
	want = Snapshot{State: Open, ConsecutiveFailures: 5, Rejected: 2, Since: start}
	if diff := cmp.Diff(want, b.Snapshot()); diff != "" {
		t.Errorf("Snapshot() when open mismatch (-want +got):\n%s", diff)
	}

	clk.Advance(9 * time.Second)
	want = Snapshot{State: HalfOpen, ConsecutiveFailures: 5, Rejected: 2, Since: start.Add(10 * time.Second)}
	if diff := cmp.Diff(want, b.Snapshot()); diff != "" {
		t.Errorf("Snapshot() after cooldown mismatch (-want +got):\n%s", diff)
	}
}

func TestOnStateChange(t *testing.T) {
	clk := newFakeClock()
	t0 := clk.Now()
	var got []Transition
	var b *Breaker
	b = New("bedrock_sonnet", Config{Cooldown: 30 * time.Second}, Options{
		Now: clk.Now,
		OnStateChange: func(tr Transition) {
			got = append(got, tr)
			_ = b.Snapshot() // the hook may call back into the breaker
		},
	})
	for range 5 {
		done, _ := b.Allow()
		done(Failure)
	}
	clk.Advance(30 * time.Second)
	done, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	done(Failure)
	clk.Advance(30 * time.Second)
	done, _ = b.Allow()
	done(Success)

	t1, t2 := t0.Add(30*time.Second), t0.Add(60*time.Second)
	want := []Transition{
		{Model: "bedrock_sonnet", From: Closed, To: Open, At: t0, Reason: "5 consecutive failures"},
		{Model: "bedrock_sonnet", From: Open, To: HalfOpen, At: t1, Reason: "cooldown elapsed"},
		{Model: "bedrock_sonnet", From: HalfOpen, To: Open, At: t1, Reason: "probe failed"},
		{Model: "bedrock_sonnet", From: Open, To: HalfOpen, At: t2, Reason: "cooldown elapsed"},
		{Model: "bedrock_sonnet", From: HalfOpen, To: Closed, At: t2, Reason: "probes succeeded"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transitions mismatch (-want +got):\n%s", diff)
	}
}

func TestConcurrentCallers(t *testing.T) {
	clk := newFakeClock()
	var (
		mu    sync.Mutex
		trans []Transition
	)
	const probes = 3
	b := New("m", Config{Failures: 5, FailureRate: 0.6, MinRequests: 20, Window: time.Second, Cooldown: 50 * time.Millisecond, HalfOpenProbes: probes}, Options{
		Now: clk.Now,
		OnStateChange: func(tr Transition) {
			mu.Lock()
			trans = append(trans, tr)
			mu.Unlock()
		},
	})

	const workers, perWorker = 64, 500
	var admitted, refusedN atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var tick sync.WaitGroup
	tick.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				clk.Advance(time.Millisecond)
				_ = b.Snapshot()
			}
		}
	})
	for w := range workers {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			for range perWorker {
				done, err := b.Allow()
				if err != nil {
					if !errors.Is(err, ErrOpen) {
						t.Errorf("Allow() = %v; want nil or ErrOpen", err)
						return
					}
					refusedN.Add(1)
					continue
				}
				admitted.Add(1)
				switch r := rnd.IntN(10); {
				case r < 5:
					done(Failure)
				case r < 9:
					done(Success)
				default:
					done(Ignored)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	tick.Wait()

	if n := admitted.Load() + refusedN.Load(); n != workers*perWorker {
		t.Errorf("admitted+refused = %d; want %d", n, workers*perWorker)
	}
	b.mu.Lock()
	if b.probes < 0 || b.probes > probes {
		t.Errorf("probes = %d; want within [0, %d]", b.probes, probes)
	}
	b.mu.Unlock()

	mu.Lock()
	defer mu.Unlock()
	if len(trans) == 0 {
		t.Fatal("no transitions seen; the test did not exercise the state machine")
	}
	prev := Closed
	for i, tr := range trans {
		if tr.From != prev || tr.From == tr.To {
			t.Fatalf("transition %d = %v→%v after %v; want a chain delivered in order", i, tr.From, tr.To, prev)
		}
		prev = tr.To
	}
	if got := b.State(); got != prev {
		t.Errorf("State() = %v; last transition reported went to %v", got, prev)
	}
}

func TestHalfOpenAdmitsExactlyProbesUnderContention(t *testing.T) {
	clk := newFakeClock()
	b := New("m", Config{Failures: 1, Cooldown: time.Second, HalfOpenProbes: 3}, Options{Now: clk.Now})
	done, _ := b.Allow()
	done(Failure)
	clk.Advance(time.Second)

	var admitted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Go(func() {
			<-start
			if _, err := b.Allow(); err == nil {
				admitted.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := admitted.Load(); got != 3 {
		t.Errorf("half-open admitted %d of 200 concurrent calls; want 3", got)
	}
}
