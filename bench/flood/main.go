// Command flood measures how Cato serves its health probe and ordinary
// clients while many slow clients hold connections open.
//
// A quiet phase first sends chat completions at a fixed rate and probes
// health, then slow connections are opened: each sends the headers of a
// POST with a large Content-Length and then one body byte every
// -byte-every. A connection the server closes is dialled again after
// -redial-after, so the number held stays near -conns as an attacker
// would keep it. The same
// figures are then measured during the flood. Connections come from
// 127.0.0.(2+offset) … so that per-address limits apply as they would to
// many clients.
//
//	go run ./bench/flood -url http://127.0.0.1:9302 -conns 10000 -pid $(pidof cato)
//
// With -slow-only it only holds the slow connections for -hold (after
// -wait), so that a second process can add to the flood past one
// process's open-file limit. bench/flood.sh runs the whole measurement.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	url        string
	adminURL   string
	conns      int
	sources    int
	offset     int
	byteEvery  time.Duration
	redial     time.Duration
	length     int
	rate       int
	healthRate int
	quiet      time.Duration
	settle     time.Duration
	measure    time.Duration
	timeout    time.Duration
	pid        int
	slowOnly   bool
	wait       time.Duration
	hold       time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:9302", "Cato's base URL")
	flag.StringVar(&o.adminURL, "admin-url", "", "base URL of Cato's admin listener (server.admin_listen), whose health is probed too; empty: none")
	flag.IntVar(&o.conns, "conns", 10000, "slow connections this process holds")
	flag.IntVar(&o.sources, "sources", 100, "source addresses the slow connections are spread over")
	flag.IntVar(&o.offset, "source-offset", 0, "first source address is 127.0.0.(2+offset)")
	flag.DurationVar(&o.byteEvery, "byte-every", 2*time.Second, "a slow connection sends one body byte this often")
	flag.DurationVar(&o.redial, "redial-after", time.Second, "a slow connection the server closed is dialled again after this long (Cato's Retry-After is 1 s)")
	flag.IntVar(&o.length, "content-length", 1<<20, "Content-Length a slow connection announces")
	flag.IntVar(&o.rate, "rate", 50, "normal clients' chat completions per second")
	flag.IntVar(&o.healthRate, "health-rate", 20, "health probes per second")
	flag.DurationVar(&o.quiet, "quiet", 10*time.Second, "length of the quiet measurement")
	flag.DurationVar(&o.settle, "settle", 10*time.Second, "time given to open the slow connections before measuring")
	flag.DurationVar(&o.measure, "measure", 20*time.Second, "length of the measurement during the flood")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request timeout of the measured requests")
	flag.IntVar(&o.pid, "pid", 0, "Cato's process id, to count its open files")
	flag.BoolVar(&o.slowOnly, "slow-only", false, "only hold slow connections (-wait, then -hold)")
	flag.DurationVar(&o.wait, "wait", 0, "-slow-only: wait this long before opening connections")
	flag.DurationVar(&o.hold, "hold", 30*time.Second, "-slow-only: hold the connections this long")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	u, err := url.Parse(o.url)
	if err != nil {
		return err
	}
	if o.slowOnly {
		time.Sleep(o.wait)
		ctx, cancel := context.WithTimeout(context.Background(), o.hold)
		defer cancel()
		f := newFlood(u.Host, o)
		f.run(ctx)
		fmt.Println(f.summary())
		return nil
	}

	fmt.Printf("quiet: %d chat/s and %d health/s for %s\n", o.rate, o.healthRate, o.quiet)
	quiet := measure(o, o.quiet)
	quietFiles := openFiles(o.pid)

	ctx, cancel := context.WithCancel(context.Background())
	f := newFlood(u.Host, o)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); f.run(ctx) }()
	fmt.Printf("flood: opening %d slow connections, measuring after %s\n", o.conns, o.settle)
	time.Sleep(o.settle)
	var maxFiles atomic.Int64
	sampleCtx, stopSample := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			if n := int64(openFiles(o.pid)); n > maxFiles.Load() {
				maxFiles.Store(n)
			}
			select {
			case <-sampleCtx.Done():
				return
			case <-t.C:
			}
		}
	}()
	flooded := measure(o, o.measure)
	heldAtEnd := f.open.Load()
	stopSample()
	cancel()
	wg.Wait()

	fmt.Println()
	fmt.Printf("%-22s %12s %12s %12s %12s %8s %8s\n", "", "quiet p50", "quiet p99", "flood p50", "flood p99", "p99 ×", "failed")
	for _, k := range kinds(o) {
		q, fl := quiet[k], flooded[k]
		fmt.Printf("%-22s %9.2f ms %9.2f ms %9.2f ms %9.2f ms %8.2f %8s\n", k,
			q.pct(50), q.pct(99), fl.pct(50), fl.pct(99), fl.pct(99)/q.pct(99),
			fmt.Sprintf("%d/%d", fl.failed, fl.sent))
		if len(fl.errs) > 0 {
			fmt.Printf("%-22s %s\n", "", fl.errSummary())
		}
	}
	fmt.Println()
	for _, k := range kinds(o) {
		fl := flooded[k]
		switch {
		case k == "chat":
			fmt.Printf("aim, %s p99 within 2× of quiet: %s (%.2f×, %d failed)\n", k, verdict(fl.failed == 0 && fl.pct(99) <= 2*quiet[k].pct(99)), fl.pct(99)/quiet[k].pct(99), fl.failed)
		default:
			fmt.Printf("aim, %s p99 under 100 ms: %s (%.2f ms, %d failed)\n", k, verdict(fl.failed == 0 && fl.pct(99) < 100), fl.pct(99), fl.failed)
		}
	}
	fmt.Printf("slow connections (this process): %s; open when the measurement ended %d\n", f.summary(), heldAtEnd)
	if o.pid > 0 {
		fmt.Printf("cato open files: quiet %d, flood peak %d\n", quietFiles, maxFiles.Load())
	}
	return nil
}

// sample holds one kind of request's latencies and failures.
type sample struct {
	mu     sync.Mutex
	ms     []float64
	sent   int
	failed int
	errs   map[string]int
}

func (s *sample) add(d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent++
	if err != nil {
		s.failed++
		if s.errs == nil {
			s.errs = map[string]int{}
		}
		s.errs[err.Error()]++
		return
	}
	s.ms = append(s.ms, float64(d.Microseconds())/1000)
}

// pct is the p-th percentile of the successful requests' latencies, in ms.
func (s *sample) pct(p float64) float64 {
	if len(s.ms) == 0 {
		return 0
	}
	v := slices.Clone(s.ms)
	slices.Sort(v)
	i := int(float64(len(v))*p/100+0.5) - 1
	return v[max(0, min(i, len(v)-1))]
}

func (s *sample) errSummary() string {
	var parts []string
	for e, n := range s.errs {
		parts = append(parts, fmt.Sprintf("%d× %s", n, e))
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

const chatBody = `{"model":"auto","max_tokens":32,"messages":[{"role":"user","content":"What is the capital of France?"}]}`

// measure sends chat completions at o.rate and health probes at
// o.healthRate for d (to the admin listener too, with -admin-url), each
// from the ordinary address 127.0.0.1 over keep-alive connections, and
// returns their samples by kind.
func measure(o options, d time.Duration) map[string]*sample {
	client := &http.Client{
		Timeout:   o.timeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true},
	}
	defer client.CloseIdleConnections()
	out := map[string]*sample{}
	for _, k := range kinds(o) {
		out[k] = &sample{}
	}
	var wg sync.WaitGroup
	fire := func(kind string, rate int, do func() error) {
		defer wg.Done()
		if rate <= 0 {
			return
		}
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		end := time.After(d)
		for {
			select {
			case <-end:
				return
			case <-t.C:
				wg.Add(1)
				go func() {
					defer wg.Done()
					start := time.Now()
					err := do()
					out[kind].add(time.Since(start), err)
				}()
			}
		}
	}
	get := func(base, method, path, body string) func() error {
		return func() error {
			req, err := http.NewRequest(method, base+path, strings.NewReader(body))
			if err != nil {
				return err
			}
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := client.Do(req)
			if err != nil {
				if e, ok := err.(interface{ Timeout() bool }); ok && e.Timeout() {
					return fmt.Errorf("timeout")
				}
				return fmt.Errorf("transport error")
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return fmt.Errorf("body read error")
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}
	}
	wg.Add(2)
	go fire(healthClient, o.healthRate, get(o.url, http.MethodGet, "/api/admin/cato/health", ""))
	go fire("chat", o.rate, get(o.url, http.MethodPost, "/v1/chat/completions", chatBody))
	if o.adminURL != "" {
		wg.Add(1)
		go fire(healthAdmin, o.healthRate, get(o.adminURL, http.MethodGet, "/api/admin/cato/health", ""))
	}
	wg.Wait()
	return out
}

// The kinds of measured requests: health on the client listener and,
// with -admin-url, on the admin listener, and chat completions.
const (
	healthClient = "health (client port)"
	healthAdmin  = "health (admin port)"
)

func kinds(o options) []string {
	if o.adminURL != "" {
		return []string{healthClient, healthAdmin, "chat"}
	}
	return []string{healthClient, "chat"}
}

// flood holds slow connections to one address and counts what becomes of
// them.
type flood struct {
	addr string
	o    options

	dialed     atomic.Int64 // connections the dial succeeded for
	dialFailed atomic.Int64
	open       atomic.Int64 // connections held now
	peak       atomic.Int64
	answered   sync.Map     // status line → *atomic.Int64: closed after a response
	silent     atomic.Int64 // closed without a response
}

func newFlood(addr string, o options) *flood { return &flood{addr: addr, o: o} }

// run keeps o.conns slow connections open until ctx ends; it opens them
// from 256 dialling goroutines, over about 3 s.
func (f *flood) run(ctx context.Context) {
	var wg sync.WaitGroup
	const dialers = 256
	gap := 3 * time.Second * dialers / time.Duration(max(f.o.conns, 1))
	for w := range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Dialler w owns connections w, w+dialers, …; each slot is
			// redialled when the server closes it.
			var slots sync.WaitGroup
			for i := w; i < f.o.conns; i += dialers {
				slots.Add(1)
				go func() { defer slots.Done(); f.slot(ctx, i) }()
				time.Sleep(gap) // spread the dials over about 3 s
			}
			slots.Wait()
		}()
	}
	wg.Wait()
}

// slot keeps one slow connection open, dialling it again whenever it
// closes, until ctx ends.
func (f *flood) slot(ctx context.Context, i int) {
	src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+f.o.offset+i%f.o.sources))}
	d := net.Dialer{LocalAddr: src, Timeout: 5 * time.Second}
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp", f.addr)
		if err != nil {
			if ctx.Err() == nil {
				f.dialFailed.Add(1)
				select { // back off, as a client whose dial failed would
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		f.dialed.Add(1)
		if n := f.open.Add(1); n > f.peak.Load() {
			f.peak.Store(n) // racy maximum: good enough for a report
		}
		f.hold(ctx, c)
		f.open.Add(-1)
		c.Close()
		select {
		case <-ctx.Done():
		case <-time.After(f.o.redial):
		}
	}
}

// hold sends the headers and then a body byte every byteEvery until the
// server closes the connection or ctx ends.
func (f *flood) hold(ctx context.Context, c net.Conn) {
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	head := fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", f.addr, f.o.length)
	if _, err := io.WriteString(c, head); err != nil {
		f.closed(nil)
		return
	}
	buf := make([]byte, 512)
	for {
		c.SetReadDeadline(time.Now().Add(f.o.byteEvery))
		n, err := c.Read(buf)
		if ctx.Err() != nil {
			return
		}
		if n > 0 || err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() && n == 0 {
				if _, err := c.Write([]byte{' '}); err != nil {
					f.closed(nil)
					return
				}
				continue
			}
			f.closed(buf[:n])
			return
		}
	}
}

// closed counts a connection the server closed, by the status it answered
// before (if any).
func (f *flood) closed(resp []byte) {
	if len(resp) == 0 {
		f.silent.Add(1)
		return
	}
	status := "other"
	if line, _, err := bufio.NewReader(bytes.NewReader(resp)).ReadLine(); err == nil {
		if parts := strings.Fields(string(line)); len(parts) >= 2 {
			if code, err := strconv.Atoi(parts[1]); err == nil {
				status = strconv.Itoa(code)
			}
		}
	}
	v, _ := f.answered.LoadOrStore(status, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (f *flood) summary() string {
	var answered []string
	f.answered.Range(func(k, v any) bool {
		answered = append(answered, fmt.Sprintf("%s %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	slices.Sort(answered)
	return fmt.Sprintf("accepted %d (dial failures %d), held at peak %d, now %d; closed by the server after an answer [%s], without one %d",
		f.dialed.Load(), f.dialFailed.Load(), f.peak.Load(), f.open.Load(), strings.Join(answered, ", "), f.silent.Load())
}

// openFiles counts the entries of /proc/PID/fd (0 when pid is 0 or
// unreadable).
func openFiles(pid int) int {
	if pid <= 0 {
		return 0
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0
	}
	return len(ents)
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "NOT met"
}
