package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync"
	"time"
)

// Worker processes let HTTP/1.1 runs hold more connections than one
// process's open file limit: RunWorkers starts n processes, each running
// ServeWorker on a shard of the load, and merges what they measured.
//
// The protocol, one JSON object per line: the parent writes the worker's
// Options to its stdin; the worker writes {"progress": Progress} lines while
// it runs and one {"result": Result} line at the end on its stdout. Its
// stderr is for people.

// workerLine is one line a worker writes.
type workerLine struct {
	Progress *Progress `json:"progress,omitempty"`
	Result   *Result   `json:"result,omitempty"`
}

// maxWorkerLine bounds one line from a worker; a result with a long
// timeline of histograms is a few MiB at most.
const maxWorkerLine = 256 << 20

// ServeWorker runs the worker side of RunWorkers: it reads Options from in,
// runs them, and writes progress and the result to out. It returns when the
// run is over; ctx done (SIGINT from the parent) ends the run early with the
// result so far.
func ServeWorker(ctx context.Context, in io.Reader, out io.Writer, log *slog.Logger) error {
	var opts Options
	if err := json.NewDecoder(in).Decode(&opts); err != nil {
		return fmt.Errorf("reading worker options: %w", err)
	}
	enc := json.NewEncoder(out) // Progress and the final write never overlap: Run stops progress first
	opts.Progress = func(p Progress) { _ = enc.Encode(workerLine{Progress: &p}) }
	res, err := Run(ctx, opts, log)
	if err != nil {
		return err
	}
	if err := enc.Encode(workerLine{Result: res}); err != nil {
		return fmt.Errorf("writing worker result: %w", err)
	}
	return nil
}

// StartWorker returns a command that, once started, runs ServeWorker with
// its stdin and stdout. It must be made with exec.CommandContext(ctx, ...);
// RunWorkers sets its Stdin, Stdout, Cancel and WaitDelay, and leaves
// Stderr as the function set it.
type StartWorker func(ctx context.Context) *exec.Cmd

// shard returns worker i's share of o among n workers: the rate, users,
// request cap, in-flight cap and connections are divided (remainders to the
// first workers), and the seed and session ids differ per worker.
func (o Options) shard(i, n int) Options {
	split := func(v int64) int64 {
		s := v / int64(n)
		if int64(i) < v%int64(n) {
			s++
		}
		return s
	}
	s := o
	s.Progress = nil
	s.Rate = o.Rate / float64(n)
	s.Concurrency = int(split(int64(o.Concurrency)))
	s.MaxRequests = split(o.MaxRequests)
	s.MaxInFlight = int(split(int64(o.MaxInFlight)))
	if o.Conns > 0 {
		s.Conns = max(int(split(int64(o.Conns))), 1)
	}
	s.Worker, s.Workers = i, n
	return s
}

// RunWorkers runs opts split over n worker processes made by start and
// returns their results merged. opts.Progress, if set, gets the workers'
// progress summed (p99: the highest of theirs) every ProgressEvery. A worker
// that fails is reported as a warning in the result as long as one worker
// succeeds. Cancelling ctx sends the workers SIGINT, so they stop and
// report what they have.
func RunWorkers(ctx context.Context, opts Options, n int, start StartWorker, log *slog.Logger) (*Result, error) {
	if n < 1 {
		return nil, fmt.Errorf("workers %d: want at least 1", n)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Concurrency > 0 && opts.Concurrency < n {
		return nil, fmt.Errorf("concurrency %d is less than the %d workers", opts.Concurrency, n)
	}
	if opts.MaxRequests > 0 && opts.MaxRequests < int64(n) {
		return nil, fmt.Errorf("max requests %d is less than the %d workers", opts.MaxRequests, n)
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	shards := make([]Options, n)
	offset := opts.SourceOffset
	for i := range shards {
		shards[i] = opts.shard(i, n)
		// Resolve each shard here to give it its own source addresses.
		r, err := resolve(shards[i], fileLimit())
		if err != nil {
			return nil, fmt.Errorf("worker %d: %w", i, err)
		}
		n := r.SourceAddrs
		if opts.SourceAddrs == 0 && !opts.H2C && isLoopback(r.base) {
			// One address would mean the kernel's choice, the same for every
			// worker: the workers together could run out of its ports.
			n = max(n, 2)
		}
		shards[i].SourceAddrs, shards[i].SourceOffset = n, offset
		if n > 1 {
			offset += n
		}
		if _, err := resolve(shards[i], fileLimit()); err != nil { // the addresses must fit
			return nil, fmt.Errorf("worker %d: %w", i, err)
		}
	}

	progress := make([]Progress, n) // guarded by mu
	var mu sync.Mutex
	stopProgress := startMergedProgress(opts, func() []Progress {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(progress)
	})

	results := make([]*Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = runWorker(ctx, start, shards[i], opts.Timeout, func(p Progress) {
				mu.Lock()
				progress[i] = p
				mu.Unlock()
			})
		})
	}
	wg.Wait()
	stopProgress()

	var merged *Result
	var warnings []string
	for i, res := range results {
		if res == nil {
			err := errs[i]
			if err == nil {
				err = errors.New("no result")
			}
			log.Error("loadtest: worker failed", slog.Int("worker", i), slog.Any("err", err))
			warnings = append(warnings, fmt.Sprintf("worker %d failed (%v): its requests are missing from this report", i, err))
			continue
		}
		if merged == nil {
			merged = res
			continue
		}
		merged.Plan.MaxInFlight += res.Plan.MaxInFlight
		merged.Plan.Conns += res.Plan.Conns
		merged.Plan.SourceAddrs += res.Plan.SourceAddrs
		merged.Merge(res)
	}
	if merged == nil {
		return nil, fmt.Errorf("all %d workers failed: %w", n, errors.Join(errs...))
	}
	merged.Plan.Rate, merged.Plan.Concurrency, merged.Plan.MaxRequests = opts.Rate, opts.Concurrency, opts.MaxRequests
	merged.Plan.Workers = n
	if !opts.H2C && opts.SourceAddrs == 1 && merged.Plan.MaxInFlight+opts.Concurrency > portsPerSource {
		warnings = append(warnings, "--source-addrs 1: every worker dials from the kernel's choice of address, "+
			"whose ephemeral ports the workers share; leave --source-addrs unset to give each its own")
	}
	merged.Warnings = append(merged.Warnings, warnings...)
	return merged, nil
}

// runWorker runs one worker process to the end and returns its result.
func runWorker(ctx context.Context, start StartWorker, opts Options, timeout time.Duration, progress func(Progress)) (*Result, error) {
	in, err := json.Marshal(opts)
	if err != nil {
		return nil, fmt.Errorf("encoding worker options: %w", err)
	}
	cmd := start(ctx)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	// After SIGINT a worker cancels its requests and reports at once; kill
	// it if it does not.
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("starting worker: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting worker: %w", err)
	}
	var res *Result
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 0, 64<<10), maxWorkerLine)
	for sc.Scan() {
		var line workerLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			continue // not ours: a stray print must not lose the result
		}
		if line.Progress != nil {
			progress(*line.Progress)
		}
		if line.Result != nil {
			res = line.Result
		}
	}
	scanErr := sc.Err()
	if scanErr != nil {
		_, _ = io.Copy(io.Discard, out) // let the worker finish writing
	}
	waitErr := cmd.Wait()
	switch {
	case res != nil:
		return res, nil
	case scanErr != nil:
		return nil, fmt.Errorf("reading worker output: %w", scanErr)
	case waitErr != nil:
		return nil, fmt.Errorf("worker: %w", waitErr)
	}
	return nil, errors.New("worker exited without a result")
}

// startMergedProgress calls opts.Progress with the sum of the workers'
// progress every ProgressEvery, until the returned function is called.
func startMergedProgress(opts Options, snapshot func() []Progress) (stop func()) {
	began := time.Now()
	return tickProgress(opts, func(now time.Time) Progress { return sumProgress(now.Sub(began), snapshot()) })
}

// sumProgress adds up the workers' progress; p99 is the highest of theirs.
func sumProgress(elapsed time.Duration, ps []Progress) Progress {
	sum := Progress{Elapsed: elapsed}
	for _, p := range ps {
		sum.Sent += p.Sent
		sum.Done += p.Done
		sum.Failed += p.Failed
		sum.InFlight += p.InFlight
		sum.P99 = max(sum.P99, p.P99)
	}
	return sum
}
