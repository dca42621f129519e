package app

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// Operating-system settings below these make Cato fail under load long
// before its own limits: each in-flight HTTP/1.1 request holds a client
// and an upstream socket, and bursts of new connections queue in the
// listen backlog. See docs/operations.md.
const (
	wantOpenFiles   = 65536
	wantSomaxconn   = 4096
	wantPortsPerDst = 28000
)

// tuneGC applies server.gc_percent unless the operator set GOGC.
func tuneGC(percent int, log *slog.Logger) {
	if percent < 0 || os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(percent)
	log.Debug("garbage collector target set", "gc_percent", percent)
}

// checkLimits raises the soft open-file limit to the hard limit and warns
// about settings too low for heavy traffic. It changes nothing else.
func checkLimits(log *slog.Logger) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil {
		if rl.Cur < rl.Max {
			raised := rl
			raised.Cur = rl.Max
			if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
				rl = raised
			}
		}
		if rl.Cur < wantOpenFiles {
			log.Warn("open-file limit is low for heavy traffic: each in-flight HTTP/1.1 request needs two sockets; raise it (ulimit -n / LimitNOFILE) or serve clients over HTTP/2",
				"limit", rl.Cur, "want", wantOpenFiles, "max_http1_in_flight", rl.Cur/2)
		}
	}
	if v, ok := readInt("/proc/sys/net/core/somaxconn"); ok && v < wantSomaxconn {
		log.Warn("listen backlog (net.core.somaxconn) is low: bursts of new connections will be refused", "somaxconn", v, "want", wantSomaxconn)
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			lo, err1 := strconv.Atoi(f[0])
			hi, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && hi-lo < wantPortsPerDst {
				log.Warn("ephemeral port range is narrow: connections to one upstream are capped by it; widen net.ipv4.ip_local_port_range or use HTTP/2 upstreams", "range", strings.Join(f, "-"))
			}
		}
	}
}

func readInt(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return v, err == nil
}
