package loadtest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// testWorker starts this test binary as a worker process.
func testWorker(t *testing.T) StartWorker {
	return func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), workerEnv+"=1")
		cmd.Stderr = t.Output()
		return cmd
	}
}

func TestRunWorkers(t *testing.T) {
	fake := newFakeCato(t)
	fake.failEvery = 7
	fake.delay = 30 * time.Millisecond // 301 requests, 9 at a time: about a second, many progress ticks
	srv := fake.start(false)
	var mu sync.Mutex
	var seen []Progress
	opts := Options{
		URL: srv.URL, Workload: mustWorkload(t, e2eWorkload), Concurrency: 9, Duration: 10 * time.Second,
		MaxRequests: 301, Timeout: 5 * time.Second, // source addresses: 2 per worker by default
		ProgressEvery: 20 * time.Millisecond,
		Progress: func(p Progress) {
			mu.Lock()
			seen = append(seen, p)
			mu.Unlock()
		},
	}
	res, err := RunWorkers(t.Context(), opts, 3, testWorker(t), discard())
	if err != nil {
		t.Fatalf("RunWorkers: %v", err)
	}
	checkInvariants(t, res)
	if res.Sent != 301 || fake.requests.Load() != 301 {
		t.Errorf("sent %d, server saw %d; want 301 (split 101+100+100)", res.Sent, fake.requests.Load())
	}
	if res.Failed != fake.failed.Load() {
		t.Errorf("failed %d; server sent %d errors", res.Failed, fake.failed.Load())
	}
	if res.Plan.Workers != 3 || res.Plan.Concurrency != 9 || res.Plan.SourceAddrs != 6 {
		t.Errorf("plan %+v; want 3 workers, concurrency 9, 6 source addresses (2 each by default)", res.Plan)
	}

	// The merged progress must show the workers' requests while they run,
	// never go backwards, and never count more than the run sends.
	mu.Lock()
	defer mu.Unlock()
	var prev Progress
	steps := 0 // reports whose Done moved on: workers report at ProgressEvery, not once a second
	for i, p := range seen {
		if p.Elapsed < prev.Elapsed || p.Sent < prev.Sent || p.Done < prev.Done || p.Failed < prev.Failed {
			t.Errorf("progress %d went backwards: %+v after %+v", i, p, prev)
		}
		if p.Sent > res.Sent || p.Done > res.Sent || p.Failed > p.Done || p.InFlight < 0 {
			t.Errorf("progress %d = %+v; impossible for a run of %d requests", i, p, res.Sent)
		}
		if p.Done > prev.Done {
			steps++
		}
		prev = p
	}
	// With workers reporting once a second, as they did when they were not
	// told ProgressEvery, Done moves about once per worker (3 times); at
	// 20ms it moves about 50 times.
	if steps < 10 {
		t.Errorf("%d progress reports, the count of requests done moved in %d of them; want at least 10: the workers' progress merged as they run", len(seen), steps)
	}
}

func TestRunWorkersInterrupted(t *testing.T) {
	fake := newFakeCato(t)
	fake.delay = 50 * time.Millisecond
	srv := fake.start(true)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(700*time.Millisecond, cancel)
	began := time.Now()
	res, err := RunWorkers(ctx, Options{
		URL: srv.URL, Workload: mustWorkload(t, e2eWorkload), Rate: 200, Duration: 30 * time.Second, H2C: true, Timeout: 10 * time.Second,
	}, 2, testWorker(t), discard())
	if err != nil {
		t.Fatalf("RunWorkers: %v", err)
	}
	if took := time.Since(began); took > 8*time.Second {
		t.Errorf("took %v; want the workers to stop soon after the interrupt", took)
	}
	checkInvariants(t, res)
	if !res.Interrupted || res.Sent == 0 {
		t.Errorf("interrupted %v, sent %d; want an interrupted run with requests", res.Interrupted, res.Sent)
	}
}

func TestRunWorkersFailing(t *testing.T) {
	opts := Options{URL: "http://127.0.0.1:1", Workload: mustWorkload(t, e2eWorkload), Concurrency: 2, Duration: time.Second}
	broken := func(ctx context.Context) *exec.Cmd { return exec.CommandContext(ctx, os.Args[0], "-test.run=^$") } // not a worker: prints nothing
	if _, err := RunWorkers(t.Context(), opts, 2, broken, discard()); err == nil {
		t.Error("RunWorkers with workers that report nothing = nil error; want one")
	}
	if _, err := RunWorkers(t.Context(), opts, 3, testWorker(t), discard()); err == nil {
		t.Error("RunWorkers with fewer users than workers = nil error; want one")
	}
}

func TestShard(t *testing.T) {
	o := Options{Rate: 900, MaxRequests: 10, MaxInFlight: 5, Conns: 4, Seed: 1}
	var reqs, inFl, conns int64
	for i := range 3 {
		s := o.shard(i, 3)
		if s.Rate != 300 || s.Worker != i || s.Workers != 3 {
			t.Errorf("shard %d: rate %v worker %d of %d; want 300, %d of 3", i, s.Rate, s.Worker, s.Workers, i)
		}
		reqs, inFl, conns = reqs+s.MaxRequests, inFl+int64(s.MaxInFlight), conns+int64(s.Conns)
	}
	if reqs != 10 || inFl != 5 || conns != 4 {
		t.Errorf("shards add up to %d requests, %d in flight, %d conns; want 10, 5, 4", reqs, inFl, conns)
	}
}

func TestSumProgress(t *testing.T) {
	got := sumProgress(3*time.Second, []Progress{
		{Sent: 10, Done: 8, Failed: 1, InFlight: 2, P99: 5 * time.Millisecond},
		{Sent: 20, Done: 15, Failed: 0, InFlight: 5, P99: 9 * time.Millisecond},
	})
	want := Progress{Elapsed: 3 * time.Second, Sent: 30, Done: 23, Failed: 1, InFlight: 7, P99: 9 * time.Millisecond}
	if got != want {
		t.Errorf("sumProgress = %+v; want %+v", got, want)
	}
}
