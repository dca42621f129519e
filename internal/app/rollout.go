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
	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/provider/awsenv"
	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/rollout/appconfig"
	"github.com/cato-gateway/cato/internal/session"
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
	// appconfig polls the flag from AWS AppConfig; nil when not configured.
	appconfig *appconfig.Source
}

// newMigration builds the rollout from cfg over store; every setting of
// the rollout section is mapped to rollout's options here, and what the
// file leaves out takes rollout's defaults. A simulated legacy model is
// served by an in-process simulator on a loopback port, so that the
// default configuration has a legacy side to migrate from. dualWrite, if
// set, records the turns the legacy side answers.
func (a *App) newMigration(ctx context.Context, cfg *config.Config, store rollout.FlagStore, env map[string]string, chatModels []string, dualWrite func(context.Context, rollout.Exchange)) (*migration, error) {
	rc := cfg.Rollout
	host, _ := os.Hostname()
	flag, err := rollout.Seed(ctx, store, float64(*rc.Percentage), "config@"+host)
	if err != nil {
		return nil, err
	}
	dopts, err := deciderOptions(rc)
	if err != nil {
		return nil, err
	}
	dec := rollout.NewDecider(flag, dopts)
	ar := rc.AutoRollback
	stats := rollout.NewStats(rollout.StatsOptions{Window: ar.Window, SlowAfter: ar.P99, Now: a.now})
	m := &migration{
		store:  store,
		poller: rollout.NewPoller(store, dec, rc.Poll, a.reqLog),
		api: &api.Rollout{
			Decider: dec, Stats: stats, LegacyModel: rc.Legacy,
			Admin: rollout.NewAdmin(rollout.AdminOptions{Store: store, Decider: dec, Log: a.log}),
		},
	}
	if ar.Enabled {
		m.guard = rollout.NewGuard(rollout.GuardOptions{
			Enabled: true, ErrorRate: ar.ErrorRate, MinRequests: ar.MinRequests, Satisfaction: satisfactionRule(ar, a.ratings),
			Store: store, Decider: dec, Stats: stats, Actor: "cato@" + host, Log: a.log, Now: a.now,
		})
	}
	if rc.Legacy != "" {
		lm := cfg.Models[rc.Legacy]
		lo := legacyOptions(lm, env)
		if lm.Provider == config.ProviderSimulated {
			base, err := a.serveSimulator(rc.Legacy, lm.Simulate)
			if err != nil {
				return nil, fmt.Errorf("rollout.legacy: %w", err)
			}
			lo.BaseURL = base
		}
		lo.Transport = a.upstream.Transport
		lo.Log = a.reqLog
		lo.RewriteModels = slices.Concat([]string{"auto", "cato"}, chatModels)
		if *rc.DualWrite {
			lo.OnExchange = dualWrite
		}
		legacy, err := rollout.NewLegacy(lo)
		if err != nil {
			return nil, fmt.Errorf("rollout.legacy: %w", err)
		}
		a.closers = append(a.closers, legacy.Close)
		m.api.Legacy = legacy
	}
	if rc.Shadow.Percentage > 0 {
		sh := rollout.NewShadow(rollout.ShadowOptions{Percentage: rc.Shadow.Percentage, MaxConcurrent: rc.Shadow.MaxConcurrent, Log: a.log})
		a.closers = append(a.closers, sh.Close)
		m.api.Shadow = sh
	}
	if ac := rc.AppConfig; ac.Application != "" {
		awsCfg, err := awsenv.Load(ctx, ac.Region, ac.Endpoint, a.upstream)
		if err != nil {
			return nil, fmt.Errorf("rollout.appconfig: %w", err)
		}
		target := appconfig.Target{Application: ac.Application, Environment: ac.Environment, Profile: ac.Profile, Region: ac.Region, Endpoint: ac.Endpoint}
		m.appconfig = appconfig.New(appconfig.Options{
			Target: target, Poll: ac.Poll, Client: appconfig.NewClient(awsCfg, target), Store: store, Decider: dec, Log: a.log,
		})
	}
	m.report = rollout.Report{Decider: dec, Stats: stats, Shadow: m.api.Shadow, Guard: m.guard, Poller: m.poller}
	if a.ratings != nil {
		m.report.Satisfaction = a.ratings.tally.Snapshot
	}
	a.registerRolloutMetrics(m)
	return m, nil
}

// deciderOptions reads rollout.side_header and rollout.overrides.
func deciderOptions(c config.Rollout) (rollout.DeciderOptions, error) {
	opts := rollout.DeciderOptions{AllowHeader: c.SideHeader, Overrides: make(map[string]rollout.Side, len(c.Overrides))}
	for k, v := range c.Overrides {
		s, err := rollout.ParseSide(v)
		if err != nil {
			return rollout.DeciderOptions{}, fmt.Errorf("rollout.overrides.%s: %w", k, err)
		}
		opts.Overrides[k] = s
	}
	return opts, nil
}

// legacyOptions fills BaseURL, APIKey (read from env by api_key_env) and
// ModelID from the legacy model's configuration.
func legacyOptions(m config.Model, env map[string]string) rollout.LegacyOptions {
	o := rollout.LegacyOptions{BaseURL: m.BaseURL, ModelID: m.ModelID}
	if m.Price != (config.Price{}) {
		o.Price = &rollout.Price{InputPerMTok: m.Price.InputPerMTok, OutputPerMTok: m.Price.OutputPerMTok}
	}
	if m.APIKeyEnv != "" {
		o.APIKey = env[m.APIKeyEnv]
	}
	return o
}

// dualWriter returns the hook that saves turns the legacy side answered to
// working memory (by session) and long-term memory (by user), so that
// users moved to the new side keep their context and what they said.
func dualWriter(mem *session.Memory, ltm *memory.Memory, legacyModel string, log *slog.Logger) func(context.Context, rollout.Exchange) {
	return rollout.DualWrite(legacyModel, func(ctx context.Context, t rollout.Turn) error {
		if t.User != "" {
			ltm.Record(memory.Interaction{Tenant: t.Tenant, User: t.User, SessionID: t.Session, Query: t.Question, Response: t.Answer, Model: t.Model, Source: "legacy"})
		}
		if t.Session == "" {
			return nil
		}
		return mem.Record(ctx, session.Key{Tenant: t.Tenant, ID: t.Session}, session.Exchange{Question: t.Question, Answer: t.Answer, Model: t.Model})
	}, log)
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
	if leg := m.api.Legacy; leg != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cato_rollout_dual_write_dropped_total", Help: "Legacy turns not saved to working memory because dual-write was at its limit of calls in flight.",
		}, func() float64 { return float64(leg.ExchangesDropped()) }))
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
	o := simulatorOptions(s)
	sim := simulator.NewServer(o, map[string]simulator.Options{name: o}, a.log)
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
