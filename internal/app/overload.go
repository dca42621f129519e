package app

import (
	"cmp"
	"context"
	"math"
	"net"
	"net/http"
	"net/netip"
	"syscall"

	"github.com/cato-gateway/cato/internal/api"
	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/connlimit"
)

// fdReserve is the file descriptors kept back from max_in_flight for the
// store, the log, idle upstream connections and the listener itself.
const fdReserve = 256

// Memory that bounds the derived max_in_flight: what the process needs
// before its first request (binary, sentence encoder, indexes, buffers)
// and what one request in flight holds (two HTTP exchanges, their
// goroutines and buffers: 50,000 in flight over h2c took ~2 GiB in
// bench/RESULTS.md's S-concurrency run, under 40 KiB each).
const (
	memBase       = 128 << 20
	memPerRequest = 48 << 10
)

// overloadLimits are the limits in force for server.max_in_flight,
// server.max_connections_per_ip and server.max_connections; zero means
// none.
type overloadLimits struct {
	inFlight int
	perIP    int
	conns    int
}

// deriveOverload resolves the server's overload settings against nofile,
// the open-file limit Cato runs under (0 when unknown: 65536 is assumed),
// and mem, the bytes requests in flight may use (0: no memory limit). A
// setting of zero is derived: for requests in flight, half of what is left
// after fdReserve, since an HTTP/1.1 request holds a client and an
// upstream socket, and no more than mem holds at memPerRequest each (over
// HTTP/2 the file limit does not bind, and a burst past the memory limit
// would be an OOM kill, not a 503); a quarter of the file limit for one
// client address, half for connections; -1 means no limit.
func deriveOverload(s config.Server, nofile uint64, mem int64) overloadLimits {
	if nofile == 0 {
		nofile = wantOpenFiles
	}
	nofile = min(nofile, 1<<20) // "unlimited" is no guide
	pick := func(set int, derived uint64, floor int) int {
		switch {
		case set > 0:
			return set
		case set < 0:
			return 0
		}
		return max(int(derived), floor)
	}
	var inFlight uint64
	if nofile > fdReserve {
		inFlight = (nofile - fdReserve) / 2
	}
	if mem > 0 {
		inFlight = min(inFlight, uint64(mem/memPerRequest))
	}
	return overloadLimits{
		inFlight: pick(s.MaxInFlight, inFlight, 64),
		perIP:    pick(s.MaxConnectionsPerIP, nofile/4, 16),
		conns:    pick(s.MaxConnections, nofile/2, 64),
	}
}

// requestMemory returns the bytes requests in flight may use: the soft
// memory limit (processMemoryLimit) less memBase and the semantic cache's
// budget; 0 when there is no limit.
func requestMemory(cfg *config.Config, softLimit int64) int64 {
	if softLimit <= 0 || softLimit == math.MaxInt64 {
		return 0
	}
	limit := softLimit - memBase
	if c := cfg.Cache; c.Enabled == nil || *c.Enabled {
		limit -= cmp.Or(c.MaxBytes, cache.DefaultMaxBytes)
	}
	return max(limit, 1) // a limit below what Cato needs still limits
}

// hardFileLimit returns the hard open-file limit, which checkLimits
// raises the soft one to before serving; 0 if unknown.
func hardFileLimit() uint64 {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return 0
	}
	return rl.Max
}

// apiOverload is the api's view of the overload settings.
func apiOverload(s config.Server, l overloadLimits) api.Overload {
	o := api.Overload{MaxInFlight: int64(l.inFlight), BodyGrace: s.BodyReadGrace}
	if s.BodyMinRate > 0 {
		o.BodyMinRate = s.BodyMinRate
	}
	if s.BodyBudgetBytes > 0 {
		o.BodyBudgetBytes = s.BodyBudgetBytes
	}
	o.Arrived = requestArrived
	return o
}

// connKey is the context key of the client connection a request came on
// (connContext).
type connKey struct{}

// connContext is the client server's ConnContext: it keeps the connection
// in its requests' context, for requestArrived.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if sc, ok := c.(*connlimit.ShedConn); ok {
		return context.WithValue(ctx, connKey{}, sc)
	}
	return ctx
}

// requestArrived tells the connection of r, when the total cap sheds
// connections, that its request has arrived: it is not shed while its
// answer is served.
func requestArrived(r *http.Request) {
	if sc, ok := r.Context().Value(connKey{}).(*connlimit.ShedConn); ok {
		sc.Arrived()
	}
}

// connState is the client server's ConnState: it tells a shedding cap's
// connections when a request begins and when they fall idle.
func connState(c net.Conn, st http.ConnState) {
	sc, ok := c.(*connlimit.ShedConn)
	if !ok {
		return
	}
	switch st {
	case http.StateActive:
		sc.Receiving()
	case http.StateIdle:
		sc.Idle()
	}
}

// limitConnections wraps ln with the per-address connection cap, each
// connection refused counted in cato_shed_total{reason="connections_per_ip"},
// and then with the cap on connections in total: at it, Cato stops
// accepting until a connection closes, each such pause counted in
// cato_shed_total{reason="connections"}; with
// server.shed_slow_connections it instead closes the newcomer (counted
// the same) or an open connection to make room (reason="slow_connection").
// A connection refused for its address never takes one of the total's
// slots.
func (a *App) limitConnections(ln net.Listener) net.Listener {
	ln = connlimit.New(ln, a.limits.perIP, func(netip.Addr) {
		a.metrics.Shed.WithLabelValues("connections_per_ip").Inc()
	})
	full := a.metrics.Shed.WithLabelValues("connections")
	if a.cfg.Server.ShedSlowConnections {
		return connlimit.NewShedding(ln, a.limits.conns, func(netip.Addr) { full.Inc() }, func(netip.Addr) {
			a.metrics.Shed.WithLabelValues("slow_connection").Inc()
		}, nil)
	}
	return connlimit.NewTotal(ln, a.limits.conns, full.Inc)
}
