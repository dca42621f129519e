package app

import (
	"net"
	"net/http"
	"time"

	"github.com/cato-gateway/cato/internal/config"
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
		MaxConnsPerHost:       u.MaxConnsPerHost,
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
