package app

import (
	"net"
	"net/netip"
	"syscall"

	"github.com/cato-gateway/cato/internal/api"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/connlimit"
)

// fdReserve is the file descriptors kept back from max_in_flight for the
// store, the log, idle upstream connections and the listener itself.
const fdReserve = 256

// overloadLimits are the limits in force for server.max_in_flight,
// server.max_connections_per_ip and server.max_connections; zero means
// none.
type overloadLimits struct {
	inFlight int
	perIP    int
	conns    int
}

// deriveOverload resolves the server's overload settings against nofile,
// the open-file limit Cato runs under (0 when unknown: 65536 is assumed).
// A setting of zero is derived: half of what is left after fdReserve for
// requests in flight, since an HTTP/1.1 request holds a client and an
// upstream socket, and a quarter of the limit for one client address; -1
// means no limit.
func deriveOverload(s config.Server, nofile uint64) overloadLimits {
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
	return overloadLimits{
		inFlight: pick(s.MaxInFlight, inFlight, 64),
		perIP:    pick(s.MaxConnectionsPerIP, nofile/4, 16),
		conns:    pick(s.MaxConnections, nofile/2, 64),
	}
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
	return o
}

// limitConnections wraps ln with the per-address connection cap, each
// connection refused counted in cato_shed_total{reason="connections_per_ip"},
// and then with the cap on connections in total, each refused counted in
// cato_shed_total{reason="connections"}. A connection refused for its
// address never takes one of the total's slots.
func (a *App) limitConnections(ln net.Listener) net.Listener {
	ln = connlimit.New(ln, a.limits.perIP, func(netip.Addr) {
		a.metrics.Shed.WithLabelValues("connections_per_ip").Inc()
	})
	return connlimit.NewTotal(ln, a.limits.conns, func(netip.Addr) {
		a.metrics.Shed.WithLabelValues("connections").Inc()
	})
}
