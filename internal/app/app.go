package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/cato-gateway/cato/internal/api"
	"github.com/cato-gateway/cato/internal/breaker"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/lograte"
	"github.com/cato-gateway/cato/internal/metrics"
	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/bedrock"
	"github.com/cato-gateway/cato/internal/provider/openaicompat"
	"github.com/cato-gateway/cato/internal/provider/sagemaker"
	"github.com/cato-gateway/cato/internal/provider/simulated"
	"github.com/cato-gateway/cato/internal/redact"
	"github.com/cato-gateway/cato/internal/router"
	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/simulator"
	"github.com/cato-gateway/cato/internal/store"
	"github.com/cato-gateway/cato/internal/telemetry"
	"github.com/cato-gateway/cato/internal/version"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

// App is one running Cato gateway.
type App struct {
	cfg *config.Config
	log *slog.Logger
	// reqLog is log for the request path and the store's background
	// loops, repeated warnings rate-limited.
	reqLog  *slog.Logger
	metrics *metrics.Metrics
	api     *api.Server
	// handler is api behind the server span of each request when
	// tracing is on, else api itself.
	handler http.Handler
	// tracing exports traces; nil when tracing is off.
	tracing  *telemetry.Tracing
	upstream *http.Client
	// background runs for as long as the gateway serves; each returns when
	// its context ends.
	background []func(ctx context.Context) error
	closers    []func() error
	// migration is the rollout's running parts.
	migration *migration
	// ratings is the feedback's running parts; nil when feedback is off.
	ratings *ratings
	// now is the clock of the rollout's window and guard; nil means
	// time.Now.
	now func() time.Time
	// recallSeconds times long-term memory's recall.
	recallSeconds prometheus.Histogram
	// limits are server.max_in_flight, server.max_connections_per_ip and
	// server.max_connections as resolved against the open-file and
	// memory limits.
	limits overloadLimits
	// memLimit is the soft memory limit, read once at New; Run sets it.
	memLimit memoryLimit
}

// New builds the gateway described by cfg. environ is the process
// environment (os.Environ()), where keys named by *_env settings are read.
// On error, whatever New had opened (the store, a simulated legacy server)
// is closed again.
func New(ctx context.Context, cfg *config.Config, environ []string, log *slog.Logger) (*App, error) {
	return newApp(ctx, cfg, environ, log, nil)
}

// newApp is New with the rollout's clock: now, or time.Now when nil.
func newApp(ctx context.Context, cfg *config.Config, environ []string, log *slog.Logger, now func() time.Time) (_ *App, err error) {
	env := envMap(environ)
	memLimit := processMemoryLimit()
	limits := deriveOverload(cfg.Server, hardFileLimit(), requestMemory(cfg, memLimit.soft))
	a := &App{cfg: cfg, log: log, metrics: metrics.New(), now: now, limits: limits, memLimit: memLimit}
	defer func() {
		if err != nil {
			a.close()
		}
	}()

	if err := a.startTracing(ctx, cfg, environ); err != nil {
		return nil, err
	}
	log = a.log
	// reqLog logs what happens on the request path, where one sick
	// dependency warns on every request, and in the store's background
	// loops (cache feed, memory queue, sessions, rollout poller), which warn
	// on every retry: one line per message per 10s, with the count of the
	// others.
	reqLog := slog.New(lograte.New(log.Handler(), lograte.Options{}))
	a.reqLog = reqLog
	auth, cfgKeys, err := buildAuth(cfg, env, log)
	if err != nil {
		return nil, err
	}
	hc := newUpstreamClient(cfg.Upstream)
	hc.Transport = a.tracing.Transport(hc.Transport)
	a.upstream = hc
	backend, err := store.Open(ctx, cfg.Store, log)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	a.closers = append(a.closers, backend.Close)
	if auth.Keys, err = keys.New(keys.Options{Store: backend.Keys(), Timeout: cfg.Auth.StoreTimeout, Now: now, Log: reqLog}, cfgKeys); err != nil {
		return nil, err
	}
	models := map[string]provider.Provider{}
	for _, name := range sortedKeys(cfg.Models) {
		m := cfg.Models[name]
		p, err := newProvider(ctx, name, m, hc, env, log)
		if err != nil {
			return nil, fmt.Errorf("models.%s: %w", name, err)
		}
		if p != nil && a.tracing != nil {
			p = tracedProvider{tr: a.tracing, model: name, next: p}
		}
		if p != nil {
			models[name] = p
		}
	}
	prices := map[string]config.Price{}
	for name, m := range cfg.Models {
		prices[name] = m.Price
	}
	configure := func(model string) (provider.GuardConfig, breaker.Config) { return guardConfig(cfg, model) }
	guards := provider.NewGuards(models, configure, provider.GuardHooks{
		OnCallDone:    a.observeCall,
		OnStateChange: a.observeBreaker,
	}, log)
	for name := range guards {
		a.metrics.BreakerState.WithLabelValues(name).Set(0)
	}
	emb, err := newEmbedder(ctx, cfg.Embeddings, hc, env)
	if err != nil {
		return nil, fmt.Errorf("embeddings: %w", err)
	}
	rt, err := router.New(ctx, routerConfig(cfg.Routing), emb, reqLog)
	if err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	cacheStore := backend.Cache()
	if a.tracing != nil {
		cacheStore = tracedCacheStore{tr: a.tracing, kind: string(backend.Kind()), next: cacheStore}
	}
	semCache := a.newCache(cfg, emb, cacheStore)
	var summary provider.Provider
	if g, ok := guards[cfg.Session.SummaryModel]; ok {
		summary = g
	}
	tok, err := session.NewTokenizer()
	if err != nil {
		return nil, fmt.Errorf("session tokenizer: %w", err)
	}
	mem, err := a.newMemory(cfg, backend, summary, tok)
	if err != nil {
		return nil, err
	}
	ltm, err := a.newLongTermMemory(ctx, cfg, backend, emb, guards, tok.Count)
	if err != nil {
		return nil, err
	}
	var flagAt func() time.Time // set once the migration's Decider exists
	a.ratings = a.newRatings(cfg, backend, func() time.Time { return flagAt() })
	mig, err := a.newMigration(ctx, cfg, backend.Flags(), env, sortedKeys(models), dualWriter(mem, ltm, cfg.Rollout.Legacy, reqLog))
	if err != nil {
		return nil, err
	}
	a.background = append(a.background, mig.run)
	a.migration = mig
	flagAt = func() time.Time { return mig.report.Decider.Flag().At }
	var fbAPI *api.Feedback
	if a.ratings != nil {
		a.background = append(a.background, a.ratings.run)
		fbAPI = a.ratings.api
	}
	fallback := provider.NewFallback(provider.Lookup(guards), cfg.Retries.Budget, reqLog)
	orchOpts := orchestrator.Options{
		Models:    sortedKeys(models),
		Caller:    fallback,
		Fallbacks: cfg.Routing.Fallbacks,
		Router:    rt,
		Cache:     semCache,
		Sessions:  mem,
		Responses: mem.Responses(),
		Memory:    ltm,
		Forget: func(ctx context.Context, tenant, id string) error {
			return errors.Join(semCache.DeleteSession(ctx, tenant, id), ltm.ForgetSession(ctx, tenant, id))
		},
		Cost:    func(model string, u llm.Usage) float64 { return roundUSD(provider.Price(prices[model]).Cost(u)) },
		Metrics: a.metrics,
		Log:     reqLog,
	}
	if a.tracing != nil {
		orchOpts.Caller = tracedCaller{tr: a.tracing, next: fallback}
		orchOpts.Router = tracedRouter{tr: a.tracing, next: rt}
		orchOpts.Cache = tracedCache{tr: a.tracing, next: semCache}
		orchOpts.Sessions = tracedSessions{tr: a.tracing, next: mem}
	}
	orch := orchestrator.New(orchOpts)
	a.api = api.New(api.Options{
		Orchestrator:   orch,
		Memory:         ltm,
		Metrics:        a.metrics,
		Log:            reqLog,
		Auth:           auth,
		MaxBodyBytes:   cfg.Server.MaxBodyBytes,
		Models:         sortedKeys(models),
		Version:        version.String(),
		Rollout:        mig.api,
		PayloadTenants: payloadTenants(cfg.Log.Payloads),
		Overload:       apiOverload(cfg.Server, a.limits),
		Feedback:       fbAPI,
		Checks:         map[string]func(context.Context) error{"store": backend.Ping},
		Status: map[string]func() any{
			"breakers": func() any { return breakerStatus(guards) },
			"rollout":  func() any { return mig.report.Status() },
			"cache":    func() any { return semCache.Stats() },
			"memory":   func() any { return memoryStatus(cfg, ltm) },
			"store": func() any {
				return map[string]any{"kind": backend.Kind(), "sessions_healthy": mem.Healthy()}
			},
			"satisfaction": a.ratings.status,
		},
	})
	a.handler = a.tracing.Handler(a.api)
	return a, nil
}

// Handler returns the gateway's HTTP handler.
func (a *App) Handler() http.Handler { return a.handler }

// newProvider builds the adapter for one model; nil for models that are not
// chat models.
func newProvider(ctx context.Context, name string, m config.Model, hc *http.Client, env map[string]string, log *slog.Logger) (provider.Provider, error) {
	switch m.Provider {
	case config.ProviderBedrock:
		return bedrock.New(ctx, name, bedrockOptions(m), hc, log)
	case config.ProviderSageMaker:
		return sagemaker.New(ctx, name, sagemakerOptions(m), hc, log)
	case config.ProviderSimulated:
		return simulated.New(simulator.NewEngine(name, simulatorOptions(m.Simulate))), nil
	case config.ProviderOpenAI:
		key := ""
		if m.APIKeyEnv != "" {
			var ok bool
			if key, ok = env[m.APIKeyEnv]; !ok {
				return nil, fmt.Errorf("api_key_env: the environment variable %s is not set", m.APIKeyEnv)
			}
		}
		return openaicompat.New(openaicompat.Options{Name: name, BaseURL: m.BaseURL, ModelID: m.ModelID, APIKey: key, HTTP: hc}), nil
	case config.ProviderNLI:
		return nil, nil
	}
	return nil, fmt.Errorf("provider %q is not available in this build", m.Provider)
}

// buildAuth reads the admin key and the keys of auth.keys from env; the
// caller gives auth its keys.Gate, with those keys, once the store is open.
func buildAuth(cfg *config.Config, env map[string]string, log *slog.Logger) (*api.Auth, []keys.ConfigKey, error) {
	auth := &api.Auth{}
	var errs []error
	var cfgKeys []keys.ConfigKey
	for i, k := range cfg.Auth.Keys {
		key := env[k.KeyEnv]
		if key == "" {
			errs = append(errs, fmt.Errorf("auth.keys[%d].key_env: the environment variable %s is not set or empty", i, k.KeyEnv))
			continue
		}
		cfgKeys = append(cfgKeys, keys.ConfigKey{Secret: key, Tenant: k.Tenant, Limits: keys.Limits{
			Models: k.Models, RPM: k.RPM, TPM: k.TPM, BudgetUSD: k.BudgetUSD, BudgetPeriod: keys.Period(k.BudgetPeriod),
		}})
	}
	auth.SetAdminKey(env[cfg.Auth.AdminKeyEnv])
	if len(cfg.Auth.Keys) == 0 {
		if !isLoopback(cfg.Listen) {
			errs = append(errs, fmt.Errorf("auth.keys: no client keys are configured and listen (%s) is not a loopback address; add keys or listen on 127.0.0.1", cfg.Listen))
		}
		if al := cfg.Server.AdminListen; al != "" && !isLoopback(al) {
			// Without client keys and an admin key the admin API is open.
			errs = append(errs, fmt.Errorf("auth.keys: no client keys are configured and server.admin_listen (%s) is not a loopback address; add keys or listen on 127.0.0.1", al))
		}
		auth.Anonymous = true
		log.Warn("no client keys configured: accepting anonymous requests, on loopback only", "listen", cfg.Listen)
	}
	return auth, cfgKeys, errors.Join(errs...)
}

func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Run serves on cfg.Listen (and server.admin_listen, when set) until ctx
// ends, then stops accepting, turns /health to 503 and lets requests in
// flight finish within server.shutdown_timeout.
func (a *App) Run(ctx context.Context) error {
	checkLimits(a.log)
	tuneGC(a.cfg.Server.GCPercent, a.log)
	tuneMemoryLimit(a.memLimit, a.log)
	ln, err := listen(ctx, a.cfg.Listen, a.cfg.Server.ReusePort)
	if err != nil {
		return err
	}
	return a.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened; the admin listener, when
// server.admin_listen is set, Serve opens itself.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	var adminLn net.Listener
	if addr := a.cfg.Server.AdminListen; addr != "" {
		var err error
		if adminLn, err = listen(ctx, addr, a.cfg.Server.ReusePort); err != nil {
			_ = ln.Close()
			a.close()
			return fmt.Errorf("server.admin_listen: %w", err)
		}
	}
	return a.serve(ctx, ln, adminLn)
}

// ServeOn is Serve with the admin listener opened by the caller too:
// health, /metrics and the admin API are served on adminLn when it is not
// nil, whatever server.admin_listen says, and on no listener of their own
// when it is.
func (a *App) ServeOn(ctx context.Context, ln, adminLn net.Listener) error {
	return a.serve(ctx, ln, adminLn)
}

// serve serves clients on ln and, when adminLn is not nil, health,
// /metrics and the admin API on adminLn, until ctx ends. The admin
// listener is shut down after the client one has drained, so that probes
// see health answer 503 throughout the drain.
func (a *App) serve(ctx context.Context, ln, adminLn net.Listener) error {
	s := a.cfg.Server
	// Requests live on a context of their own, not ctx: a signal only
	// starts the drain. They are cancelled, with api.ErrShutdown, when
	// the drain's deadline passes.
	reqCtx, endRequests := context.WithCancelCause(context.WithoutCancel(ctx))
	defer endRequests(nil)
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: s.ReadHeaderTimeout,
			ReadTimeout:       s.ReadTimeout,
			WriteTimeout:      s.WriteTimeout,
			IdleTimeout:       s.IdleTimeout,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
			BaseContext:       func(net.Listener) context.Context { return reqCtx },
		}
	}
	srv := newServer(a.handler)
	srv.ConnContext, srv.ConnState = connContext, connState
	if *s.HTTP2 {
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true)
		srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: s.MaxConcurrentStreams}
	}
	ln = a.limitConnections(ln)
	adminAddr := ""
	if adminLn != nil {
		adminAddr = adminLn.Addr().String()
	}
	a.log.Info("cato serving", "listen", ln.Addr().String(), "version", version.String(), "store", redact.URL(a.cfg.Store), "h2c", *s.HTTP2,
		"max_in_flight", a.limits.inFlight, "max_connections_per_ip", a.limits.perIP, "max_connections", a.limits.conns, "admin_listen", adminAddr)
	bg, stopBG := context.WithCancel(ctx)
	bgDone := make(chan error, 1)
	go func() { bgDone <- a.runBackground(bg) }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// adminSrv and adminErrc stay nil without an admin listener; a nil
	// channel is never ready.
	var adminSrv *http.Server
	var adminErrc chan error
	if adminLn != nil {
		adminSrv = newServer(adminOnly(a.handler))
		adminErrc = make(chan error, 1)
		go func() { adminErrc <- adminSrv.Serve(adminLn) }()
	}
	stop := func() {
		stopBG()
		if berr := <-bgDone; berr != nil {
			a.log.Warn("background work ended with an error", "err", berr)
		}
		a.close()
	}
	select {
	case err := <-errc:
		if adminSrv != nil {
			_ = adminSrv.Close()
			<-adminErrc
		}
		stop()
		return err
	case err := <-adminErrc:
		_ = srv.Close()
		<-errc
		stop()
		return fmt.Errorf("admin listener: %w", err)
	case <-ctx.Done():
	}
	a.api.SetDraining()
	a.log.Info("draining", "in_flight", a.api.InFlight(), "deadline", s.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		// The deadline passed with requests in flight: end them, so that a
		// stream's last event says why, and give them a moment to say it.
		a.log.Warn("drain deadline passed; ending the requests in flight", "in_flight", a.api.InFlight())
		endRequests(api.ErrShutdown)
		a.awaitRequests(shutdownGrace)
		_ = srv.Close()
	}
	<-errc
	if adminSrv != nil {
		// Admin requests are short: they get shutdownGrace to finish.
		actx, acancel := context.WithTimeout(context.Background(), shutdownGrace)
		if adminSrv.Shutdown(actx) != nil {
			_ = adminSrv.Close()
		}
		acancel()
		<-adminErrc
	}
	stop()
	if err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	a.log.Info("stopped")
	return nil
}

// adminOnly passes to next the requests for health, /metrics and the
// admin API, and answers any other path 404, as next answers a path it
// does not know: the admin listener never serves a client route.
func adminOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean("/" + r.URL.Path) // as the mux will read it
		if p == "/metrics" || strings.HasPrefix(p, "/api/admin/") {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := json.Marshal(openai.NewError(openai.TypeInvalidRequest, "not_found", "", "no route for "+r.Method+" "+p+" on the admin listener"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write(body)
	})
}

// shutdownGrace is how long requests ended by api.ErrShutdown get to
// write their last words before their connections are closed.
const shutdownGrace = time.Second

// awaitRequests waits until no request is in flight, or for at most d.
func (a *App) awaitRequests(d time.Duration) {
	deadline := time.Now().Add(d)
	for a.api.InFlight() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// runBackground runs the background work until ctx ends and returns the
// errors that ended any of it early.
func (a *App) runBackground(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, run := range a.background {
		g.Go(func() error {
			if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		})
	}
	return g.Wait()
}

func (a *App) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			a.log.Warn("closing", "err", err)
		}
	}
	a.closers = nil
}

// payloadTenants is the set of log.payloads; nil when empty.
func payloadTenants(tenants []string) map[string]bool {
	if len(tenants) == 0 {
		return nil
	}
	m := make(map[string]bool, len(tenants))
	for _, t := range tenants {
		m[t] = true
	}
	return m
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				m[kv[:i]] = kv[i+1:]
				break
			}
		}
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
