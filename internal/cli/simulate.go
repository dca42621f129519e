package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/cato-gateway/cato/internal/simulator"
)

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("simulate", stderr)
	listen := fs.String("listen", "127.0.0.1:9000", "address to serve on")
	var s simulator.Options
	fs.DurationVar(&s.Latency, "latency", 0, "time to first token")
	fs.DurationVar(&s.Jitter, "jitter", 0, "extra random latency, up to this much")
	fs.Float64Var(&s.TokensPerSecond, "tps", 0, "streamed tokens per second (0: as fast as possible)")
	fs.Float64Var(&s.ErrorRate, "error-rate", 0, "share of requests answered with -error-status")
	fs.IntVar(&s.ErrorStatus, "error-status", simulator.DefaultErrorStatus, "status of injected errors")
	fs.Float64Var(&s.ResetRate, "reset-rate", 0, "share of answers cut off mid-stream")
	fs.Float64Var(&s.StallRate, "stall-rate", 0, "share of requests that never answer")
	fs.IntVar(&s.HiddenDim, "hidden-dim", simulator.DefaultHiddenDim, "size of simulated hidden states")
	fs.IntVar(&s.AnswerTokens, "answer-tokens", 0, "pad every answer to at least this many tokens (0: natural length)")
	h2c := fs.Bool("h2c", true, "also speak HTTP/2 without TLS")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, r := range []float64{s.ErrorRate, s.ResetRate, s.StallRate} {
		if r < 0 || r > 1 {
			return usageError{"rates must be between 0 and 1"}
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	sim := simulator.NewServer(s, nil, log)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	if *h2c {
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true)
		srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 250}
	}
	fmt.Fprintf(stdout, "cato simulate: serving simulated models on http://%s (OpenAI-compatible at /v1)\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-errc
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
