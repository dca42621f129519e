package app

import (
	"io/fs"
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

// memLimitShare is the part of the container's memory limit given to the
// Go runtime as its soft limit (GOMEMLIMIT); the rest covers what the
// runtime does not count (thread stacks, the binary, page cache charged
// to the container).
const memLimitShare = 0.9

// memoryLimit is the runtime's soft memory limit that Cato runs under.
type memoryLimit struct {
	// soft is the limit in bytes: GOMEMLIMIT's as the runtime read it
	// (math.MaxInt64 when it is off), or memLimitShare of the container's
	// (cgroup) limit; 0 when there is neither.
	soft int64
	// fromContainer: the operator did not set GOMEMLIMIT, so Cato sets
	// soft itself (tuneMemoryLimit).
	fromContainer bool
}

// processMemoryLimit reads the soft memory limit of this process, once.
func processMemoryLimit() memoryLimit {
	if os.Getenv("GOMEMLIMIT") != "" {
		return memoryLimit{soft: debug.SetMemoryLimit(-1)}
	}
	c, ok := cgroupMemoryLimit(os.DirFS("/sys/fs/cgroup"))
	if !ok {
		return memoryLimit{}
	}
	return memoryLimit{soft: int64(float64(c) * memLimitShare), fromContainer: true}
}

// tuneMemoryLimit sets the runtime's soft memory limit to m when it comes
// from the container's limit, so that the collector works harder near the
// limit instead of the process being killed. An operator's GOMEMLIMIT, or
// no limit, changes nothing.
func tuneMemoryLimit(m memoryLimit, log *slog.Logger) {
	if !m.fromContainer {
		return
	}
	debug.SetMemoryLimit(m.soft)
	log.Info("memory limit set from the container's", "gomemlimit_bytes", m.soft)
}

// cgroupMemoryLimit reads the memory limit of the cgroup mounted at
// cgroupFS: cgroup v2's memory.max, else v1's memory/memory.limit_in_bytes.
// It reports false when neither is there or when there is no limit ("max",
// or v1's near-2^63 stand-in for none).
func cgroupMemoryLimit(cgroupFS fs.FS) (int64, bool) {
	for _, name := range []string{"memory.max", "memory/memory.limit_in_bytes"} {
		b, err := fs.ReadFile(cgroupFS, name)
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || v <= 0 || v >= 1<<62 {
			return 0, false // "max", or no limit
		}
		return v, true
	}
	return 0, false
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
