package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Modes of a run.
const (
	// ModeOpen sends requests at a fixed arrival rate whatever the answers
	// do, and measures latency from each request's scheduled start, so a
	// slow server cannot hide its slowness by slowing the generator
	// (coordinated omission).
	ModeOpen = "open"
	// ModeClosed runs N users that each send a request, wait for the
	// answer, and send the next.
	ModeClosed = "closed"
)

// Defaults and bounds of Options.
const (
	DefaultTimeout = 30 * time.Second
	// defaultH2InFlight caps open-loop in-flight requests over h2c, where
	// the cost of one is a goroutine and a stream, not a file.
	defaultH2InFlight = 100_000
	// reservedFiles are open files kept for everything but client
	// connections (the binary, stdio, the workload, listeners in tests).
	reservedFiles = 128
	// portsPerSource is about how many connections one source address can
	// hold to one destination: Linux's default ephemeral range
	// 32768-60999 less some slack.
	portsPerSource = 25_000
	// streamsPerConn is how many concurrent h2c streams the defaults put on
	// one connection; Cato allows 10,000 and Go's server 250 (the
	// transport opens more connections when the server's limit is hit).
	streamsPerConn = 4_000
)

// Options configures a run. Set exactly one of Rate and Concurrency.
// Options travel to worker processes as JSON, so every field that a worker
// needs is exported and the rest are tagged out.
type Options struct {
	// URL is the target's base URL (scheme, host, port), e.g.
	// http://127.0.0.1:8080. Required.
	URL string
	// Workload is what to send. Required.
	Workload *Workload
	// Rate, when positive, runs an open loop at this many requests per
	// second.
	Rate float64
	// Concurrency, when positive, runs a closed loop of this many users.
	Concurrency int
	// Duration bounds the time requests are started in. Required.
	// Requests in flight at the end get up to Timeout to finish.
	Duration time.Duration
	// Ramp is how long the rate (or the number of users) takes to climb
	// from zero to its target. Zero: no ramp. Must not exceed Duration.
	Ramp time.Duration
	// MaxRequests, when positive, bounds the number of requests sent.
	MaxRequests int64
	// MaxInFlight caps concurrent requests in open loop; a request due
	// while the cap is reached waits, and the wait counts in its latency.
	// Zero: 100,000 over h2c, and what the open file limit allows over
	// HTTP/1.1.
	MaxInFlight int
	// Timeout bounds each request, from sending it to the end of its
	// answer. Zero means DefaultTimeout.
	Timeout time.Duration
	// H2C sends HTTP/2 without TLS (prior knowledge) instead of HTTP/1.1.
	H2C bool
	// Conns is, over h2c, the number of connections to start with (more
	// open if the server's stream limit is reached); zero means one per
	// 4,000 planned concurrent requests, at least 1 and at most 16. Over
	// HTTP/1.1 it caps the connections; zero means no cap (one per
	// concurrent request).
	Conns int
	// SourceAddrs is how many loopback source addresses HTTP/1.1
	// connections are spread over (127.0.0.2 on), to hold more than one
	// address's ephemeral ports; used only for a 127.x target. Zero means
	// one per 25,000 planned concurrent requests; 1 means the kernel's
	// choice.
	SourceAddrs int
	// SourceOffset shifts the first source address (worker processes each
	// take their own range).
	SourceOffset int
	// APIKey is sent as a bearer token when the workload names no tenants.
	APIKey string
	// Seed seeds the choice of queries, users and streams.
	Seed uint64
	// RunID starts every session id, so that runs do not share sessions.
	// Empty: "lt".
	RunID string
	// Worker numbers this process among worker processes (from 0); it
	// goes into session ids.
	Worker int
	// Workers is the number of worker processes sharing the run, for the
	// report. Zero: one process.
	Workers int

	// Progress, when set, is called from Run's own goroutine every
	// ProgressEvery with the run's progress.
	Progress func(Progress) `json:"-"`
	// ProgressEvery is how often Progress is called. Zero means 1s. Worker
	// processes get it too, so that they report at the pace of the merge.
	ProgressEvery time.Duration `json:"progress_every,omitempty"`
}

// Mode returns ModeOpen or ModeClosed.
func (o *Options) Mode() string {
	if o.Rate > 0 {
		return ModeOpen
	}
	return ModeClosed
}

// Validate reports every problem with o, joined.
func (o *Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url %q: want http://host:port", o.URL)
	} else if o.H2C && u.Scheme != "http" {
		bad("h2c is HTTP/2 without TLS: use an http:// url")
	}
	if o.Workload == nil {
		bad("no workload")
	}
	switch {
	case o.Rate > 0 && o.Concurrency > 0:
		bad("set a rate (open loop) or a concurrency (closed loop), not both")
	case !(o.Rate > 0) && o.Concurrency <= 0:
		bad("set a rate (open loop) or a concurrency (closed loop)")
	}
	if o.Rate < 0 || o.Concurrency < 0 || o.MaxRequests < 0 || o.MaxInFlight < 0 || o.Conns < 0 || o.SourceAddrs < 0 || o.Timeout < 0 {
		bad("rate, concurrency, max requests, max in flight, conns, source addresses and timeout cannot be negative")
	}
	if o.Duration <= 0 {
		bad("duration must be positive: every run is bounded in time")
	}
	if o.Ramp < 0 || o.Ramp > o.Duration {
		bad("ramp %v: want between 0 and the duration %v", o.Ramp, o.Duration)
	}
	return errors.Join(errs...)
}

// resolved is Options with the defaults filled in.
type resolved struct {
	Options
	base     *url.URL
	sources  []net.IP // source addresses; nil: the kernel's choice
	inFlight int      // planned concurrent requests
	warnings []string
}

// resolve fills in the defaults of o, given the open file limit (0:
// unknown), and says what will not fit.
func resolve(o Options, limit uint64) (*resolved, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	r := &resolved{Options: o}
	var err error
	if r.base, err = url.Parse(strings.TrimRight(o.URL, "/")); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	if r.RunID == "" {
		r.RunID = "lt"
	}
	files := func(n int) int { return n + reservedFiles }
	switch {
	case r.Mode() == ModeClosed:
		r.inFlight = r.Concurrency
	case r.MaxInFlight > 0:
		r.inFlight = r.MaxInFlight
	case r.H2C || limit == 0:
		r.inFlight = defaultH2InFlight
	default:
		r.inFlight = max(int(min(limit, 1<<30))-reservedFiles, 1)
	}
	if r.Mode() == ModeOpen {
		r.MaxInFlight = r.inFlight
	}
	if r.H2C {
		if r.Conns == 0 {
			r.Conns = min(max((r.inFlight+streamsPerConn-1)/streamsPerConn, 1), 16)
		}
		if r.SourceAddrs == 0 {
			r.SourceAddrs = 1
		}
		if limit > 0 && uint64(files(r.Conns)) > limit {
			r.warn("h2c with %d connections needs about %d open files but the limit is %d: use fewer --conns", r.Conns, files(r.Conns), limit)
		}
	} else {
		conns := r.inFlight
		if r.Conns > 0 {
			conns = min(conns, r.Conns)
		}
		if r.SourceAddrs == 0 {
			r.SourceAddrs = (conns + portsPerSource - 1) / portsPerSource
		}
		if limit > 0 && uint64(files(conns)) > limit {
			workers := (files(conns) + int(limit) - reservedFiles - 1) / max(int(limit)-reservedFiles, 1)
			r.warn("HTTP/1.1 with %d concurrent requests needs about %d open files but the limit is %d: "+
				"use --h2c, or --workers %d (each worker process has its own limit), or fewer --conns",
				conns, files(conns), limit, max(workers, 2))
		}
	}
	if r.sources, err = sourceAddrs(r.base, r.SourceAddrs, r.SourceOffset); err != nil {
		return nil, err
	}
	if r.SourceAddrs > 1 && len(r.sources) == 0 {
		r.warn("source addresses apply to a 127.x.x.x target only; dialing from the kernel's choice")
		r.SourceAddrs = 1
	}
	if !r.H2C && r.SourceAddrs <= 1 && r.inFlight > portsPerSource && isLoopback(r.base) {
		r.warn("%d HTTP/1.1 connections from one source address may run out of ephemeral ports: use --source-addrs %d",
			r.inFlight, (r.inFlight+portsPerSource-1)/portsPerSource)
	}
	return r, nil
}

func isLoopback(u *url.URL) bool {
	h := u.Hostname()
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}

func (r *resolved) warn(format string, args ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
}

func (r *resolved) plan() Plan {
	p := Plan{
		URL:         r.base.String(),
		Workload:    r.Workload.Name,
		Endpoint:    r.Workload.Endpoint,
		Mode:        r.Mode(),
		Rate:        r.Rate,
		Concurrency: r.Concurrency,
		Duration:    r.Duration,
		Ramp:        r.Ramp,
		MaxRequests: r.MaxRequests,
		Protocol:    "http/1.1",
		Conns:       r.Conns,
		SourceAddrs: r.SourceAddrs,
		Workers:     r.Workers,
	}
	if r.Mode() == ModeOpen {
		p.MaxInFlight = r.MaxInFlight
	}
	if r.H2C {
		p.Protocol = "h2c"
	}
	return p
}

// Run drives the load that opts describes until its duration has passed,
// MaxRequests have been sent, or ctx is done, then waits for the requests
// in flight (up to their timeout; at once when ctx is done, counting them as
// canceled) and returns what it measured. A run cut short by ctx returns
// its result so far, marked Interrupted, and no error. Warnings (too few
// open files, ignored options) are logged and kept in the result.
func Run(ctx context.Context, opts Options, log *slog.Logger) (*Result, error) {
	r, err := resolve(opts, fileLimit())
	if err != nil {
		return nil, err
	}
	for _, w := range r.warnings {
		log.Warn("loadtest: " + w)
	}
	pool := newClientPool(transportConfig{h2c: r.H2C, conns: r.Conns, sources: r.sources, idle: r.inFlight})
	defer pool.close()

	w := r.Workload
	prefix := fmt.Sprintf("%s-w%d-s", r.RunID, r.Worker)
	rn := &runner{
		opts:  r,
		gen:   newGenerator(w, r.APIKey, prefix, r.Seed+uint64(r.Worker)),
		pool:  pool,
		x:     &exchanger{base: r.base.String(), timeout: r.Timeout, extras: w.extras(), answers: w.Sessions.History == HistoryClient && w.Sessions.Share > 0},
		start: time.Now(),
	}
	rn.deadline = rn.start.Add(r.Duration)
	rn.rec = newRecorder(r.plan(), rn.start, bucketWidth(r.Duration))

	stopProgress := rn.startProgress()
	if r.Mode() == ModeOpen {
		rn.openLoop(ctx)
	} else {
		rn.closedLoop(ctx)
	}
	stopProgress()

	res := rn.rec.finish(time.Now())
	res.Interrupted = ctx.Err() != nil
	res.Warnings = append(res.Warnings, r.warnings...)
	return res, nil
}

// runner is one run in progress.
type runner struct {
	opts     *resolved
	gen      *generator
	pool     *clientPool
	x        *exchanger
	rec      *recorder
	start    time.Time
	deadline time.Time // no request starts at or after it
}

// one sends one request due at due and records it.
func (rn *runner) one(ctx context.Context, due time.Time) {
	req := rn.gen.next()
	rn.rec.begin(due)
	s, answer := rn.x.do(ctx, rn.pool.get(), req, due)
	rn.rec.end(&s)
	rn.gen.done(req, answer)
}

// openLoop starts requests on the arrival schedule, each in its own
// goroutine, and returns when they have all finished.
func (rn *runner) openLoop(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, rn.opts.MaxInFlight)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := int64(0); rn.opts.MaxRequests == 0 || i < rn.opts.MaxRequests; i++ {
		if ctx.Err() != nil {
			return
		}
		due := rn.start.Add(arrivalOffset(i, rn.opts.Rate, rn.opts.Ramp))
		if !due.Before(rn.deadline) {
			return
		}
		// Wake once per due time, or not at all when behind: requests that
		// fell due while asleep go out at once, in a burst.
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Go(func() {
			defer func() { <-slots }()
			rn.one(ctx, due)
		})
	}
}

// closedLoop runs the users, each sending its next request when the
// previous one is answered, and returns when they have all stopped.
func (rn *runner) closedLoop(ctx context.Context) {
	var (
		wg     sync.WaitGroup
		issued atomic.Int64
		n      = rn.opts.Concurrency
	)
	for k := range n {
		wg.Go(func() {
			if !sleepUntil(ctx, rn.start.Add(userStart(k, n, rn.opts.Ramp))) {
				return
			}
			for ctx.Err() == nil {
				now := time.Now()
				if !now.Before(rn.deadline) {
					return
				}
				if rn.opts.MaxRequests > 0 && issued.Add(1) > rn.opts.MaxRequests {
					return
				}
				rn.one(ctx, now)
			}
		})
	}
	wg.Wait()
}

// sleepUntil waits until t and reports whether ctx is still live.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// startProgress calls opts.Progress every ProgressEvery from a goroutine
// that the returned function stops and waits for.
func (rn *runner) startProgress() (stop func()) {
	return tickProgress(rn.opts.Options, func(now time.Time) Progress { return rn.rec.progress(now) })
}

// tickProgress calls opts.Progress with progress(now) every ProgressEvery
// (default 1s) from a goroutine that the returned stop ends and waits for.
func tickProgress(opts Options, progress func(now time.Time) Progress) (stop func()) {
	if opts.Progress == nil {
		return func() {}
	}
	every := opts.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				opts.Progress(progress(now))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
