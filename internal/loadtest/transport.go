package loadtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// Source addresses are taken from 127.0.0.0/8, starting at 127.0.0.2 so
// that 127.0.0.1 stays free for the usual traffic.
const (
	firstSourceHost = 2
	lastSourceHost  = 254
)

// transportConfig says how requests reach the target.
type transportConfig struct {
	// h2c selects HTTP/2 without TLS (prior knowledge); otherwise HTTP/1.1.
	h2c bool
	// conns is, for h2c, the number of transports, each starting with one
	// connection and adding more only when the server's stream limit is
	// reached; for HTTP/1.1, a cap on connections (0: none).
	conns int
	// sources are local addresses to dial from, in turn. Empty: the
	// kernel's choice.
	sources []net.IP
	// idle is how many idle HTTP/1.1 connections to keep for reuse.
	idle int
}

// sourceAddrs returns n loopback source addresses starting at
// 127.0.0.(2+offset), or nil when n < 2 or the target is not an IPv4
// loopback address (a source address must be able to reach the target).
func sourceAddrs(target *url.URL, n, offset int) ([]net.IP, error) {
	if n < 2 {
		return nil, nil
	}
	ip := net.ParseIP(target.Hostname())
	if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return nil, nil
	}
	first := firstSourceHost + offset
	if first+n-1 > lastSourceHost {
		return nil, fmt.Errorf("%d source addresses from 127.0.0.%d go past 127.0.0.%d", n, first, lastSourceHost)
	}
	out := make([]net.IP, n)
	for i := range out {
		out[i] = net.IPv4(127, 0, 0, byte(first+i))
	}
	return out, nil
}

// clientPool spreads requests over one or more HTTP clients. It is safe for
// concurrent use.
type clientPool struct {
	transports []*http.Transport
	clients    []*http.Client
	next       atomic.Uint64
}

func newClientPool(cfg transportConfig) *clientPool {
	dial := dialFunc(cfg.sources)
	p := &clientPool{}
	n := 1
	if cfg.h2c {
		n = max(cfg.conns, 1)
	}
	for range n {
		t := &http.Transport{
			DialContext:        dial,
			DisableCompression: true, // measure the server, not gzip
			IdleConnTimeout:    90 * time.Second,
			Protocols:          new(http.Protocols),
		}
		if cfg.h2c {
			t.Protocols.SetUnencryptedHTTP2(true)
			t.HTTP2 = &http.HTTP2Config{
				// Open another connection rather than queue when the
				// server's stream limit is reached.
				StrictMaxConcurrentRequests: false,
			}
		} else {
			t.Protocols.SetHTTP1(true)
			t.MaxIdleConnsPerHost = max(cfg.idle, 2)
			t.MaxConnsPerHost = cfg.conns
		}
		p.transports = append(p.transports, t)
		p.clients = append(p.clients, &http.Client{
			Transport: t,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a redirect is an answer to count, not to follow
			},
		})
	}
	return p
}

// get returns the client for the next request.
func (p *clientPool) get() *http.Client {
	if len(p.clients) == 1 {
		return p.clients[0]
	}
	return p.clients[p.next.Add(1)%uint64(len(p.clients))]
}

// close closes idle connections.
func (p *clientPool) close() {
	for _, t := range p.transports {
		t.CloseIdleConnections()
	}
}

// dialFunc dials from each of sources in turn, or from the kernel's choice
// when there are none.
func dialFunc(sources []net.IP) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if len(sources) == 0 {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		return d.DialContext
	}
	dialers := make([]*net.Dialer, len(sources))
	for i, ip := range sources {
		dialers[i] = &net.Dialer{KeepAlive: 30 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}
	}
	var next atomic.Uint64
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialers[next.Add(1)%uint64(len(dialers))].DialContext(ctx, network, addr)
	}
}
