package app

import (
	"net"
	"net/http"
	"time"

	"github.com/cato-gateway/cato/internal/backoff"
	"github.com/cato-gateway/cato/internal/breaker"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/bedrock"
	"github.com/cato-gateway/cato/internal/provider/sagemaker"
)

// newUpstreamClient returns the HTTP client shared by every adapter that
// speaks HTTP. It keeps many idle connections per host, since one busy model
// endpoint may carry thousands of concurrent calls, and speaks HTTP/2 where
// configured. Per-call timeouts come from contexts, not from the client.
func newUpstreamClient(u config.Upstream) *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: u.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          0, // no global cap; the per-host cap applies
		MaxIdleConnsPerHost:   u.MaxIdleConnsPerHost,
		MaxConnsPerHost:       maxConnsPerHost(u.MaxConnsPerHost, openFileLimit()),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     u.HTTP2 != "off",
	}
	switch u.HTTP2 {
	case "h2c":
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
		tr.Protocols.SetHTTP2(true)
	case "off":
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetHTTP1(true)
	}
	return &http.Client{Transport: tr}
}

// minConnsPerHost is the least per-host cap derived from the open-file
// limit, so that a small limit still lets calls through in parallel.
const minConnsPerHost = 64

// maxConnsPerHost returns the transport's per-host connection cap for
// upstream.max_conns_per_host: the configured cap when positive, none
// when negative, and when zero a quarter of the open-file limit (at least
// minConnsPerHost): each call in flight holds a client's descriptor and an
// upstream one, so a cap under half the limit leaves room for the clients,
// the store and the listeners, and calls beyond it wait in the transport's
// queue, within their own time, instead of failing to dial with EMFILE.
// nofile zero means unknown: no cap.
func maxConnsPerHost(configured int, nofile uint64) int {
	switch {
	case configured > 0:
		return configured
	case configured < 0 || nofile == 0:
		return 0
	}
	return int(max(nofile/4, minConnsPerHost))
}

// modelConcurrency returns the cap on calls in flight to model m and the
// queue of calls that may wait for a slot: max_concurrency and max_queue
// when max_concurrency is positive, no cap when it is negative, and when it
// is zero (the default), for a model reached over the network, conns (the
// upstream connection cap per host, upstream.max_conns_per_host or
// derived; zero means none) with a queue of as many calls, unless
// max_queue sets one. A call past the connection cap would only wait in
// the transport's queue, which has no bound; the model's own queue bounds
// it, and a call refused there (503 model_overloaded) goes to the
// fallback at once. A simulated model has no upstream and no default cap.
func modelConcurrency(m config.Model, conns int) (limit, queue int) {
	switch {
	case m.MaxConcurrency > 0:
		return m.MaxConcurrency, m.MaxQueue
	case m.MaxConcurrency < 0 || m.Provider == config.ProviderSimulated || conns <= 0:
		return 0, 0
	}
	queue = m.MaxQueue
	if queue == 0 {
		queue = conns
	}
	return conns, queue
}

// guardConfig returns the guard and breaker settings of model: its timeout
// (else upstream.timeout), its concurrency limit and queue
// (modelConcurrency), the retries,
// and its entry under breakers (else the "default" entry), whose statuses
// are the guard's failure statuses. OnCallDone is left nil.
func guardConfig(cfg *config.Config, model string) (provider.GuardConfig, breaker.Config) {
	m := cfg.Models[model]
	timeout := m.Timeout
	if timeout == 0 {
		timeout = cfg.Upstream.Timeout
	}
	b, ok := cfg.Breakers[model]
	if !ok {
		b = cfg.Breakers["default"]
	}
	idle := cfg.Upstream.StreamIdleTimeout
	if idle < 0 {
		idle = 0
	}
	gc := provider.GuardConfig{
		Timeout:           timeout,
		StreamIdleTimeout: idle,
		MaxAttempts:       cfg.Retries.MaxAttempts,
		Backoff:           backoff.Policy{Base: cfg.Retries.Base, Max: cfg.Retries.Max},
		FailureStatuses:   b.Statuses,
	}
	gc.MaxConcurrency, gc.MaxQueue = modelConcurrency(m, maxConnsPerHost(cfg.Upstream.MaxConnsPerHost, openFileLimit()))
	bc := breaker.Config{
		Failures:       b.Failures,
		FailureRate:    b.FailureRate,
		MinRequests:    b.MinRequests,
		Window:         b.Window,
		Cooldown:       b.Cooldown,
		HalfOpenProbes: b.HalfOpenProbes,
	}
	return gc, bc
}

// bedrockOptions maps a bedrock model's configuration.
func bedrockOptions(m config.Model) bedrock.Options {
	return bedrock.Options{ModelID: m.ModelID, API: m.API, Region: m.Region, Endpoint: m.Endpoint}
}

// sagemakerOptions maps a sagemaker model's configuration.
func sagemakerOptions(m config.Model) sagemaker.Options {
	return sagemaker.Options{
		EndpointName: m.EndpointName, Variant: m.Variant, HiddenStatesVariant: m.HiddenStatesVariant,
		Payload: m.Payload, ModelID: m.ModelID, Region: m.Region, Endpoint: m.Endpoint,
		HiddenStates: sagemaker.HiddenStates{Layer: m.HiddenStates.Layer, Pooling: m.HiddenStates.Pooling, MaxDim: m.HiddenStates.MaxDim},
	}
}
