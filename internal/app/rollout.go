package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/cato-gateway/cato/internal/api"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/provider/awsenv"
	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/rollout/appconfig"
	"github.com/cato-gateway/cato/internal/simulator"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

// migration is the rollout's running parts.
type migration struct {
	api    *api.Rollout
	store  rollout.FlagStore
	poller *rollout.Poller
	guard  *rollout.Guard
	report rollout.Report
	admin  *rollout.Admin
	// appconfig polls the flag from AWS AppConfig; nil when not configured.
	appconfig *appconfig.Source
}

// newMigration builds the rollout from cfg over store. A simulated legacy
// model is served by an in-process simulator on a loopback port, so that
// the default configuration has a legacy side to migrate from.
func (a *App) newMigration(ctx context.Context, cfg *config.Config, store rollout.FlagStore, env map[string]string, chatModels []string) (*migration, error) {
	host, _ := os.Hostname()
	flag, err := rollout.Seed(ctx, store, float64(*cfg.Rollout.Percentage), "config@"+host)
	if err != nil {
		return nil, err
	}
	dopts, err := rollout.DeciderOptionsFrom(cfg.Rollout)
	if err != nil {
		return nil, fmt.Errorf("rollout: %w", err)
	}
	dec := rollout.NewDecider(flag, dopts)
	ar := cfg.Rollout.AutoRollback
	stats := rollout.NewStats(rollout.StatsOptions{Window: ar.Window, SlowAfter: ar.P99, Now: a.now})
	m := &migration{
		store:  store,
		poller: rollout.NewPoller(store, dec, cfg.Rollout.Poll, a.log),
		admin:  rollout.NewAdmin(rollout.AdminOptions{Store: store, Decider: dec, Log: a.log}),
		api:    &api.Rollout{Decider: dec, Stats: stats, LegacyModel: cfg.Rollout.Legacy},
	}
	if ar.Enabled {
		m.guard = rollout.NewGuard(rollout.GuardOptions{Config: ar, Store: store, Decider: dec, Stats: stats, Actor: "cato@" + host, Log: a.log, Now: a.now})
	}
	if cfg.Rollout.Legacy != "" {
		lm := cfg.Models[cfg.Rollout.Legacy]
		lo := rollout.LegacyOptionsFrom(lm, func(k string) string { return env[k] })
		if lm.Provider == config.ProviderSimulated {
			base, err := a.serveSimulator(cfg.Rollout.Legacy, lm.Simulate)
			if err != nil {
				return nil, fmt.Errorf("rollout.legacy: %w", err)
			}
			lo.BaseURL = base
		}
		lo.Transport = a.upstream.Transport
		lo.Log = a.log
		lo.RewriteModels = slices.Concat([]string{"auto", "cato"}, chatModels)
		if *cfg.Rollout.DualWrite && a.dualWrite != nil {
			lo.OnExchange = a.dualWrite
		}
		legacy, err := rollout.NewLegacy(lo)
		if err != nil {
			return nil, fmt.Errorf("rollout.legacy: %w", err)
		}
		a.closers = append(a.closers, legacy.Close)
		m.api.Legacy = legacy
	}
	if cfg.Rollout.Shadow.Percentage > 0 {
		sh := rollout.NewShadow(rollout.ShadowOptions{Percentage: cfg.Rollout.Shadow.Percentage, MaxConcurrent: cfg.Rollout.Shadow.MaxConcurrent, Log: a.log})
		a.closers = append(a.closers, sh.Close)
		m.api.Shadow = sh
	}
	if ac := cfg.Rollout.AppConfig; ac.Application != "" {
		awsCfg, err := awsenv.Load(ctx, ac.Region, ac.Endpoint, a.upstream)
		if err != nil {
			return nil, fmt.Errorf("rollout.appconfig: %w", err)
		}
		m.appconfig = appconfig.New(appconfig.Options{
			Config: ac, Client: appconfig.NewClient(awsCfg, ac), Store: store, Decider: dec, Log: a.log,
		})
	}
	m.report = rollout.Report{Decider: dec, Stats: stats, Shadow: m.api.Shadow, Guard: m.guard, Poller: m.poller}
	a.registerRolloutMetrics(m)
	return m, nil
}

// registerRolloutMetrics exports the rollout's own counters to Prometheus.
func (a *App) registerRolloutMetrics(m *migration) {
	reg := a.metrics.Registry()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cato_rollout_percentage", Help: "Share of users on the new orchestrator.",
	}, func() float64 { return m.report.Decider.Flag().Percentage }))
	if m.guard != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cato_rollout_auto_rollbacks_total", Help: "Automatic rollbacks to 0%.",
		}, func() float64 { return float64(m.guard.Stats().Trips) }))
	}
	if sh := m.api.Shadow; sh != nil {
		for outcome, get := range map[string]func(rollout.ShadowStats) uint64{
			"sent":           func(s rollout.ShadowStats) uint64 { return s.Sent },
			"dropped":        func(s rollout.ShadowStats) uint64 { return s.Dropped },
			"completed":      func(s rollout.ShadowStats) uint64 { return s.Completed },
			"shadow_error":   func(s rollout.ShadowStats) uint64 { return s.ShadowErrors },
			"error_mismatch": func(s rollout.ShadowStats) uint64 { return s.ErrorMismatch },
			"low_similarity": func(s rollout.ShadowStats) uint64 { return s.LowSimilarity },
		} {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "cato_shadow_requests_total", Help: "Shadow requests by outcome.", ConstLabels: prometheus.Labels{"outcome": outcome},
			}, func() float64 { return float64(get(sh.Stats())) }))
		}
	}
}

// run runs the rollout's background work until ctx ends.
func (m *migration) run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return m.poller.Run(ctx) })
	if m.guard != nil {
		g.Go(func() error { return m.guard.Run(ctx) })
	}
	if m.appconfig != nil {
		g.Go(func() error { return m.appconfig.Run(ctx) })
	}
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// serveSimulator serves a simulated model on a loopback port for as long as
// the App lives and returns its OpenAI-compatible base URL.
func (a *App) serveSimulator(name string, s config.Simulate) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	sim := simulator.NewServer(s, map[string]config.Simulate{name: s}, a.log)
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelDebug)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	a.closers = append(a.closers, func() error {
		err := srv.Close()
		<-done
		return err
	})
	a.log.Info("simulated legacy upstream", "model", name, "url", "http://"+ln.Addr().String()+"/v1")
	return "http://" + ln.Addr().String() + "/v1", nil
}
