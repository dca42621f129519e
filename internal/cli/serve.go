package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/cato-gateway/cato/internal/app"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/requestid"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	path := fs.String("config", os.Getenv("CATO_CONFIG_FILE"), "YAML configuration file (default: the built-in embedded default; env CATO_CONFIG_FILE)")
	pprofAddr := fs.String("pprof", "", "serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6060; keep it off public interfaces")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path, os.Environ())
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(stderr, cfg.Log)
	if *pprofAddr != "" {
		stop, err := servePprof(*pprofAddr, log)
		if err != nil {
			return fmt.Errorf("pprof: %w", err)
		}
		defer stop()
	}
	a, err := app.New(ctx, cfg, os.Environ(), log)
	if err != nil {
		return fmt.Errorf("starting: %w", err)
	}
	return a.Run(ctx)
}

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(requestid.Handler{Handler: slog.NewJSONHandler(w, opts)})
	}
	return slog.New(requestid.Handler{Handler: slog.NewTextHandler(w, opts)})
}
