package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"time"

	"github.com/cato-gateway/cato/internal/loadtest"
)

func runLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadtest", stderr)
	var (
		opts      loadtest.Options
		workload  = fs.String("workload", "", "workload `file` (YAML; see bench/workloads/). Required")
		workers   = fs.Int("workers", 1, "run the load in `N` processes (for HTTP/1.1 beyond one process's open file limit)")
		jsonOut   = fs.String("json", "", "also write the report as JSON to `file`")
		htmlOut   = fs.String("html", "", "also write the report as an HTML page with plots to `file`")
		quiet     = fs.Bool("quiet", false, "no progress line on stderr")
		worker    = fs.Bool("worker", false, "internal: run as a worker of --workers (options on stdin, results on stdout)")
		seed      = fs.Uint64("seed", 1, "seed for the choice of queries, users and streams")
		defaultKy = os.Getenv("CATO_API_KEY")
	)
	fs.StringVar(&opts.URL, "url", "http://127.0.0.1:8080", "target base `URL` (Cato or any OpenAI-compatible server)")
	fs.Float64Var(&opts.Rate, "rate", 0, "open loop: start `N` requests per second whatever the answers do")
	fs.IntVar(&opts.Concurrency, "concurrency", 0, "closed loop: `N` users, each sending its next request when answered")
	fs.DurationVar(&opts.Duration, "duration", 30*time.Second, "how long to start requests for")
	fs.DurationVar(&opts.Ramp, "ramp", 0, "climb to the rate or concurrency over this `duration`")
	fs.Int64Var(&opts.MaxRequests, "max-requests", 0, "stop after `N` requests (0: no limit but the duration)")
	fs.IntVar(&opts.MaxInFlight, "max-in-flight", 0, "open loop: cap on concurrent requests (0: 100,000 over h2c, the open file limit over HTTP/1.1)")
	fs.DurationVar(&opts.Timeout, "timeout", loadtest.DefaultTimeout, "per-request timeout")
	fs.BoolVar(&opts.H2C, "h2c", false, "use HTTP/2 without TLS, many streams per connection (default HTTP/1.1)")
	fs.IntVar(&opts.Conns, "conns", 0, "h2c: connections to start with (0: one per 4,000 concurrent requests, at most 16); HTTP/1.1: cap on connections (0: none)")
	fs.IntVar(&opts.SourceAddrs, "source-addrs", 0, "HTTP/1.1 to a 127.x target: spread connections over `N` source addresses from 127.0.0.2 (0: one per 25,000 connections)")
	fs.StringVar(&opts.APIKey, "api-key", defaultKy, "bearer `key` when the workload names no tenants (default $CATO_API_KEY)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if *worker {
		return loadtest.ServeWorker(ctx, os.Stdin, stdout, log)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *workload == "" {
		return usageError{"--workload is required"}
	}
	if *workers < 1 {
		return usageError{"--workers must be at least 1"}
	}
	if *jsonOut != "" && *jsonOut == *htmlOut {
		return usageError{"--json and --html name the same file"}
	}
	w, err := loadtest.LoadWorkload(*workload, nil)
	if err != nil {
		return err
	}
	opts.Workload = w
	opts.Seed = *seed
	opts.RunID = fmt.Sprintf("lt%06x", rand.Uint32()&0xffffff)
	if err := opts.Validate(); err != nil {
		return usageError{err.Error()}
	}

	if limit, err := loadtest.RaiseFileLimit(); err != nil {
		log.Warn("loadtest: could not raise the open file limit", slog.Any("err", err))
	} else {
		fmt.Fprintf(stderr, "open file limit: %d\n", limit)
	}
	if !*quiet {
		opts.Progress = loadtest.ProgressPrinter(stderr)
	}

	var res *loadtest.Result
	if *workers > 1 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding this program to start workers: %w", err)
		}
		start := func(ctx context.Context) *exec.Cmd {
			cmd := exec.CommandContext(ctx, exe, "loadtest", "--worker")
			cmd.Stderr = stderr
			return cmd
		}
		res, err = loadtest.RunWorkers(ctx, opts, *workers, start, log)
		if err != nil {
			return err
		}
	} else if res, err = loadtest.Run(ctx, opts, log); err != nil {
		return err
	}

	rep := loadtest.NewReport(res)
	if !*quiet {
		fmt.Fprintln(stderr)
	}
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if *jsonOut != "" {
		if err := writeFile(*jsonOut, rep.WriteJSON); err != nil {
			return err
		}
	}
	if *htmlOut != "" {
		if err := writeFile(*htmlOut, rep.WriteHTML); err != nil {
			return err
		}
	}
	return nil
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	return nil
}
