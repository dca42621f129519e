package app

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/simulator"
	"github.com/cato-gateway/cato/internal/testenv"
)

// TestReplicas runs three `cato serve` processes on loopback sharing one
// store — Redis, then PostgreSQL, then DynamoDB (dynalite) — in front of
// one simulated OpenAI-compatible upstream, and checks, under a bounded
// load of mixed traffic sent through a client-side round-robin balancer:
//
//   - changes made through one replica reach the others in time
//     (replicaPropagations: a session's turns, a cache entry, the rollout
//     percentage, measured and logged);
//   - one replica drained with SIGTERM and started again costs clients
//     nothing: the stream it was serving finishes, it exits 0, and every
//     request of the load gets its answer from a replica that is up;
//   - the restarted replica serves the sessions written while it was away.
//
// The binary is built once, without the race detector: the detector runs
// in this test's process (the balancer, the load, the upstream), and the
// gateway's code runs under it in the in-process tests; three raced
// gateways would triple the CPU the test needs on a loaded machine.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cato and runs three gateway processes")
	}
	backends := []struct {
		name  string
		store func(t *testing.T) string
	}{
		{"redis", redisPrefix},
		{"postgres", func(t *testing.T) string { return postgresSchema(t, testenv.PostgresURL(t)) }},
		{"dynamodb", dynamoTable},
	}
	bin := sync.OnceValues(func() (string, error) { return buildCato(t.TempDir()) })
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			storeURL := b.store(t) // skips, or fails with CATO_REQUIRE_SERVERS, before the build
			path, err := bin()
			if err != nil {
				t.Fatal(err)
			}
			runReplicas(t, path, storeURL)
		})
	}
}

// buildCato builds cmd/cato into dir and returns the binary's path.
func buildCato(dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building cato: %w", err)
	}
	path := filepath.Join(dir, "cato")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "build", "-o", path, "github.com/cato-gateway/cato/cmd/cato").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build cmd/cato: %v\n%s", err, out)
	}
	return path, nil
}

// redisPrefix returns the test Redis's URL with a key prefix of the test's
// own, so that its rollout flag and cache are apart from other tests'.
func redisPrefix(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("prefix", "replicas-"+randomHex(4)+":")
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// replicasConfig is the replicas' cato.yaml: every model is the simulated
// upstream at url. probe answers the cache check's question, slow_stream
// the stream that a draining replica must finish.
func replicasConfig(url string) string {
	return fmt.Sprintf(`
log: {level: warn}
server: {shutdown_timeout: 20s}
models:
  bedrock_haiku: {provider: openai, base_url: %[1]q, model_id: up-haiku}
  bedrock_sonnet: {provider: openai, base_url: %[1]q, model_id: up-sonnet}
  shadow_self: {provider: openai, base_url: %[1]q, model_id: up-shadow}
  legacy: {provider: openai, base_url: %[1]q, model_id: up-legacy}
  probe: {provider: openai, base_url: %[1]q, model_id: up-probe}
  slow_stream: {provider: openai, base_url: %[1]q, model_id: up-slow}
routing:
  simple: bedrock_haiku
  complex: bedrock_sonnet
  hidden_states: shadow_self
  fallbacks: {bedrock_sonnet: [bedrock_haiku]}
rollout: {legacy: legacy}
auth:
  admin_key_env: TEST_ADMIN_KEY
  keys:
    - {key_env: TEST_KEY_A, tenant: team-a}
`, url+"/v1")
}

// replicaUpstream is the simulator's OpenAI-compatible server, which
// answers a question holding a probe token once only: later calls for it
// get a 400, so that a replica can only answer it again from the cache
// that another replica filled, and a replica it has not reached yet
// stores no answer of its own. A 400 is the client's error to Cato's
// breaker and retries, so probe calls leave the load's models alone.
type replicaUpstream struct {
	sim *simulator.Server

	mu     sync.Mutex
	probes map[string]int // calls per probe token
}

const probeMark = "probe-"

func newReplicaUpstream() *replicaUpstream {
	slow := simulator.Options{TokensPerSecond: 20, AnswerTokens: 40}
	def := simulator.Options{Latency: 10 * time.Millisecond, Jitter: 20 * time.Millisecond}
	return &replicaUpstream{
		sim:    simulator.NewServer(def, map[string]simulator.Options{"up-slow": slow}, slog.New(slog.DiscardHandler)),
		probes: map[string]int{},
	}
}

func (u *replicaUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if i := strings.Index(string(b), probeMark); i >= 0 && i+len(probeMark)+8 <= len(b) {
		token := string(b[i : i+len(probeMark)+8])
		u.mu.Lock()
		u.probes[token]++
		n := u.probes[token]
		u.mu.Unlock()
		if n > 1 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{
				"message": "this probe was answered once already", "type": "invalid_request_error"}})
			return
		}
	}
	r.Body = io.NopCloser(strings.NewReader(string(b)))
	u.sim.ServeHTTP(w, r)
}

// replicaProc is one `cato serve` process, which keeps its address across
// restarts.
type replicaProc struct {
	name, base string
	bin, cfg   string
	env        []string
	logPath    string
	up         atomic.Bool // as the balancer sees it
	// stopping is set from just before a SIGTERM until the process
	// starts again.
	stopping atomic.Bool

	cmd  *exec.Cmd
	done chan struct{}
	// moved is set once the process has been given another port, its
	// first taken by another process before it could listen.
	moved bool
}

// listenOn sets the address the process listens on when it next starts.
func (p *replicaProc) listenOn(t *testing.T, addr string) {
	t.Helper()
	p.base = "http://" + addr
	p.env = append(slices.DeleteFunc(p.env, func(kv string) bool { return strings.HasPrefix(kv, "CATO_LISTEN=") }), "CATO_LISTEN="+addr)
}

// listensOn reports whether the process pid holds the listening TCP
// socket of base's port, read from /proc: the socket's inode is among
// the process's open files.
func listensOn(pid int, base string) bool {
	u, err := url.Parse(base)
	if err != nil {
		return false
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return false
	}
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		raw, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			// sl local_address rem_address st ... inode
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			if _, hexPort, ok := strings.Cut(f[1], ":"); ok && hexPort == fmt.Sprintf("%04X", port) {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && inodes[target] {
			return true
		}
	}
	return false
}

// start starts the process; waitReady waits until it answers health.
func (p *replicaProc) start(t *testing.T) {
	t.Helper()
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	fmt.Fprintf(log, "--- start %s\n", time.Now().Format(time.RFC3339Nano))
	p.stopping.Store(false)
	cmd := exec.Command(p.bin, "serve", "-config", p.cfg)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	p.cmd, p.done = cmd, done
}

func (p *replicaProc) waitReady(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		// The port was free when it was picked, but another process may
		// have taken it since: only this process's answer counts.
		if healthy(p.base) && listensOn(p.cmd.Process.Pid, p.base) {
			return
		}
		select {
		case <-p.done:
			if !p.moved && strings.Contains(p.log(), "address already in use") {
				p.moved = true // once: a second clash is not chance
				p.listenOn(t, "127.0.0.1:"+testenv.SparePort(t))
				p.start(t)
				continue
			}
			t.Fatalf("replica %s exited while starting (%v); log:\n%s", p.name, p.cmd.ProcessState, p.log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not healthy within %v; log:\n%s", p.name, within, p.log())
		}
	}
}

// stop sends SIGTERM and waits for the process to exit 0.
func (p *replicaProc) stop(t *testing.T, within time.Duration) {
	t.Helper()
	p.terminate(t)
	p.wait(t, within)
}

// terminate sends SIGTERM.
func (p *replicaProc) terminate(t *testing.T) {
	t.Helper()
	p.stopping.Store(true)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to replica %s: %v", p.name, err)
	}
}

// wait waits up to within for the process to exit, and checks it exited 0.
func (p *replicaProc) wait(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("replica %s did not exit within %v of SIGTERM", p.name, within)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("replica %s exited with %d after SIGTERM; log:\n%s", p.name, code, p.log())
	}
}

func (p *replicaProc) kill() {
	if p.cmd != nil {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *replicaProc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

var directClient = &http.Client{Timeout: 30 * time.Second}

func healthy(base string) bool {
	resp, err := directClient.Get(base + "/api/admin/cato/health")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// callReplica sends one request to base with key and returns the status, the
// headers and the body.
func callReplica(ctx context.Context, c *http.Client, base, key, method, path, body string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// mustCall is call that fails the test on a transport error.
func mustCall(t *testing.T, base, key, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	code, h, b, err := callReplica(context.Background(), directClient, base, key, method, path, body)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, base, path, err)
	}
	return code, h, b
}

// balancer is what a load balancer does in front of the replicas: round
// robin over the replicas it believes up (their health, polled every
// 100 ms), and a request whose connection is refused is sent to the next
// one. So is a request to a replica being stopped whose connection closes
// before any byte of an answer: Go's server closes, unanswered, a
// connection whose request it reads once its shutdown has begun, and the
// kernel resets those it had not accepted yet, so a request sent at the
// instant of SIGTERM never reaches Cato's handlers (a Kubernetes preStop
// sleep keeps requests away from that instant; HAProxy's retry-on
// empty-response and Envoy's retry_on reset retry them). From a replica
// not being stopped, such an error is the client's. The balancer opens a
// connection per request, so a draining replica's idle connections play
// no part. It is safe for concurrent use.
type balancer struct {
	replicas []*replicaProc
	client   *http.Client
	next     atomic.Uint64
	// refused and unanswered count the requests sent again after a
	// refused connection, and after one closed unanswered.
	refused, unanswered atomic.Int64
}

func newBalancer(replicas []*replicaProc) *balancer {
	return &balancer{
		replicas: replicas,
		client:   &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

// pollHealth marks replicas up and down by their health until ctx ends.
func (b *balancer) pollHealth(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, r := range b.replicas {
			r.up.Store(healthy(r.base))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// balanced is one answer and the replica that gave it.
type balanced struct {
	status  int
	header  http.Header
	body    []byte
	replica string
}

// do sends the request to the next replica up, and to the one after on a
// refused connection, for up to 10 s.
func (b *balancer) do(ctx context.Context, method, path, body string) (balanced, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := b.pick()
		if r != nil {
			code, h, got, err := callReplica(ctx, b.client, r.base, "key-a", method, path, body)
			if err == nil {
				return balanced{code, h, got, r.name}, nil
			}
			switch {
			case errors.Is(err, syscall.ECONNREFUSED):
				b.refused.Add(1)
			case r.stopping.Load() && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
				b.unanswered.Add(1)
			default:
				return balanced{replica: r.name}, fmt.Errorf("replica %s: %w", r.name, err)
			}
			r.up.Store(false)
		}
		if time.Now().After(deadline) {
			return balanced{}, errors.New("no replica took the request within 10s")
		}
		if r == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func (b *balancer) pick() *replicaProc {
	up := make([]*replicaProc, 0, len(b.replicas))
	for _, r := range b.replicas {
		if r.up.Load() {
			up = append(up, r)
		}
	}
	if len(up) == 0 {
		return nil
	}
	return up[b.next.Add(1)%uint64(len(up))]
}

// replicaLoad is the mixed traffic sent through the balancer while the
// checks run, and what became of it. It is safe for concurrent use.
type replicaLoad struct {
	start time.Time

	mu        sync.Mutex
	byKind    map[string]int
	byReplica map[string]int
	hits      int
	failures  []string
}

func (l *replicaLoad) record(kind string, r balanced, failure string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if failure != "" {
		if len(l.failures) < 20 {
			l.failures = append(l.failures, fmt.Sprintf("%v into the load, %s: %s", time.Since(l.start).Round(time.Millisecond), kind, failure))
		}
		return
	}
	l.byKind[kind]++
	l.byReplica[r.replica]++
	if r.header.Get("X-Cato-Cache") == "hit" {
		l.hits++
	}
}

func (l *replicaLoad) served(replica string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byReplica[replica]
}

// waitServed waits until the load has had n answers from replica.
func waitServed(t *testing.T, l *replicaLoad, replica string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for l.served(replica) < n {
		if time.Now().After(deadline) {
			t.Fatalf("replica %s gave the load %d answers within %v; want %d", replica, l.served(replica), within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loadWorker sends up to max requests, 20 ms apart, until ctx ends: a
// turn of its own session, a question that other workers ask too (the
// cache answers most), a streamed turn and a read of its session, in turn.
func loadWorker(ctx context.Context, b *balancer, l *replicaLoad, run string, w, max int) {
	session := fmt.Sprintf("load-%s-%d", run, w)
	cities := []string{"Lyon", "Porto", "Graz", "Turku"}
	for i := 0; i < max && ctx.Err() == nil; i++ {
		var kind, method, path, body string
		switch i % 4 {
		case 0:
			kind, method, path = "chat", http.MethodPost, "/v1/chat/completions"
			body = fmt.Sprintf(`{"model":"auto","session_id":%q,"messages":[{"role":"user","content":"Tell me about topic %d."}]}`, session, i)
		case 1:
			kind, method, path = "query", http.MethodPost, "/api/cato/query"
			body = fmt.Sprintf(`{"query":"What is the population of %s?"}`, cities[(i/4+w)%len(cities)])
		case 2:
			kind, method, path = "stream", http.MethodPost, "/v1/chat/completions"
			body = fmt.Sprintf(`{"model":"auto","stream":true,"messages":[{"role":"user","content":"Explain item %d-%d."}]}`, w, i)
		case 3:
			kind, method, path = "session", http.MethodGet, "/api/cato/sessions/"+session
		}
		r, err := b.do(ctx, method, path, body)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			l.record(kind, r, err.Error())
		case r.status != http.StatusOK:
			l.record(kind, r, fmt.Sprintf("replica %s: %d %s", r.replica, r.status, strings.TrimSpace(string(r.body))))
		case kind == "stream" && !strings.Contains(string(r.body), "data: [DONE]"):
			l.record(kind, r, fmt.Sprintf("replica %s: a stream without [DONE]: %s", r.replica, r.body))
		default:
			l.record(kind, r, "")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// propagation is a change made through one replica that every replica
// must see within a bound. change makes it through via (others are the
// replicas that must see it) and returns seen, which tells
// whether replica r sees it; seen is polled on each other replica and
// the time until it holds is measured. A new shared state is one more
// row of replicaPropagations.
type propagation struct {
	name string
	// within bounds the time from the change's answer until each other
	// replica sees it; zero: the first read must see it.
	within time.Duration
	change func(t *testing.T, via *replicaProc, others []*replicaProc) (seen func(t *testing.T, r *replicaProc) bool)
}

// replicaPropagations are checked in order, through the first replica.
func replicaPropagations(run string) []propagation {
	rollout := func(pct int) propagation {
		return propagation{
			name:   fmt.Sprintf("rollout to %d%%", pct),
			within: 2 * time.Second,
			change: func(t *testing.T, via *replicaProc, _ []*replicaProc) func(*testing.T, *replicaProc) bool {
				body := fmt.Sprintf(`{"use_new_orchestrator": {"percentage": %d}, "actor": "replicas-test", "reason": "propagation check"}`, pct)
				if code, _, b := mustCall(t, via.base, "admin", http.MethodPut, "/api/admin/cato/rollout", body); code != http.StatusOK {
					t.Fatalf("PUT rollout on %s: %d %s", via.name, code, b)
				}
				return func(t *testing.T, r *replicaProc) bool {
					code, _, b := mustCall(t, r.base, "admin", http.MethodGet, "/api/admin/cato/status", "")
					if code != http.StatusOK {
						t.Fatalf("status on %s: %d %s", r.name, code, b)
					}
					st := decode[struct {
						Rollout struct{ Percentage float64 } `json:"rollout"`
					}](t, b)
					return st.Rollout.Percentage == float64(pct)
				}
			},
		}
	}
	return []propagation{
		{
			// Working memory is read from the store on every turn.
			name:   "session turns",
			within: 0,
			change: func(t *testing.T, via *replicaProc, _ []*replicaProc) func(*testing.T, *replicaProc) bool {
				session, name := "continuity-"+run, "Zed"+killLetters(int(run[0]))
				askOn(t, via, session, "My name is "+name+".")
				return func(t *testing.T, r *replicaProc) bool {
					a := askOn(t, r, session, "What is my name?")
					if !strings.Contains(a.Response, name) {
						t.Errorf("replica %s answered %q to a turn of a session begun on %s; want it to remember %s", r.name, a.Response, via.name, name)
					}
					return true
				}
			},
		},
		{
			// The cache entry reaches each replica's index through the
			// store's change feed. Until it does, the upstream refuses the
			// question, so a hit can only be the first replica's entry.
			name:   "cache entry",
			within: 2 * time.Second,
			change: func(t *testing.T, via *replicaProc, _ []*replicaProc) func(*testing.T, *replicaProc) bool {
				token := probeMark + randomHex(4)
				q := fmt.Sprintf(`{"model": "probe", "query": "What is the highest peak of the range %s?"}`, token)
				code, h, b := mustCall(t, via.base, "key-a", http.MethodPost, "/api/cato/query", q)
				if code != http.StatusOK || h.Get("X-Cato-Cache") != "miss" {
					t.Fatalf("probe on %s: %d, X-Cato-Cache %q: %s; want a 200 miss", via.name, code, h.Get("X-Cato-Cache"), b)
				}
				first := decode[queryAnswer](t, b).Response
				return func(t *testing.T, r *replicaProc) bool {
					code, h, b := mustCall(t, r.base, "key-a", http.MethodPost, "/api/cato/query", q)
					if code != http.StatusOK {
						return false // the upstream refused: not in r's index yet
					}
					a := decode[queryAnswer](t, b)
					if h.Get("X-Cato-Cache") != "hit" || !a.Cached || a.Response != first {
						t.Fatalf("replica %s: X-Cato-Cache %q, cached %v, %q; want a hit on %s's answer %q",
							r.name, h.Get("X-Cato-Cache"), a.Cached, a.Response, via.name, first)
					}
					return true
				}
			},
		},
		rollout(40),
		rollout(100),
		{
			// A replica trusts its copy of a key for a second; every
			// replica has used the key before it is revoked, so each
			// holds such a copy.
			name:   "key revocation",
			within: 2 * time.Second,
			change: func(t *testing.T, via *replicaProc, others []*replicaProc) func(*testing.T, *replicaProc) bool {
				code, _, b := mustCall(t, via.base, "admin", http.MethodPost, "/api/admin/cato/keys", `{"tenant": "team-r"}`)
				if code != http.StatusCreated {
					t.Fatalf("POST key on %s: %d %s", via.name, code, b)
				}
				k := decode[struct{ ID, Key string }](t, b)
				q := `{"query": "What is 2+2?"}`
				for _, r := range append([]*replicaProc{via}, others...) {
					if code, _, b := mustCall(t, r.base, k.Key, http.MethodPost, "/api/cato/query", q); code != http.StatusOK {
						t.Fatalf("the new key on %s: %d %s", r.name, code, b)
					}
				}
				if code, _, b := mustCall(t, via.base, "admin", http.MethodDelete, "/api/admin/cato/keys/"+k.ID, ""); code != http.StatusNoContent {
					t.Fatalf("DELETE key on %s: %d %s", via.name, code, b)
				}
				return func(t *testing.T, r *replicaProc) bool {
					code, _, _ := mustCall(t, r.base, k.Key, http.MethodPost, "/api/cato/query", q)
					return code == http.StatusUnauthorized
				}
			},
		},
	}
}

// askOn asks one turn of session on r.
func askOn(t *testing.T, r *replicaProc, session, query string) queryAnswer {
	t.Helper()
	code, _, b := mustCall(t, r.base, "key-a", http.MethodPost, "/api/cato/query", fmt.Sprintf(`{"query": %q, "session_id": %q}`, query, session))
	if code != http.StatusOK {
		t.Fatalf("%s on %s: %d %s", query, r.name, code, b)
	}
	return decode[queryAnswer](t, b)
}

// checkPropagation makes p's change through via and polls every other
// replica until it sees it; it returns the time each took. Only a probe
// begun past p.within that does not see the change refutes the bound: one
// that a busy machine slowed down past it (or that waited for the probes
// of the replica before) does not.
func checkPropagation(t *testing.T, p propagation, via *replicaProc, others []*replicaProc) map[string]time.Duration {
	t.Helper()
	seen := p.change(t, via, others)
	start := time.Now()
	took := map[string]time.Duration{}
	for _, r := range others {
		var missed time.Duration // when the last probe that missed began
		for {
			began := time.Since(start)
			if seen(t, r) {
				break
			}
			missed = began
			if p.within == 0 {
				t.Fatalf("%s: replica %s did not see the change made on %s at once", p.name, r.name, via.name)
			}
			if began > p.within+3*time.Second {
				t.Fatalf("%s: replica %s did not see the change made on %s within %v", p.name, r.name, via.name, began)
			}
			time.Sleep(20 * time.Millisecond)
		}
		took[r.name] = time.Since(start)
		if missed > p.within {
			t.Errorf("%s: replica %s had not seen the change made on %s after %v (seen after %v); want within %v", p.name, r.name, via.name, missed, took[r.name], p.within)
		}
	}
	return took
}

// runReplicas is TestReplicas on one store.
func runReplicas(t *testing.T, bin, storeURL string) {
	began := time.Now()
	up := newReplicaUpstream()
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "cato.yaml")
	if err := os.WriteFile(cfg, []byte(replicasConfig(upSrv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CATO_") {
			env = append(env, kv)
		}
	}
	env = append(env, "CATO_STORE="+storeURL, "TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin")
	var replicas []*replicaProc
	for _, name := range []string{"a", "b", "c"} {
		p := &replicaProc{name: name, bin: bin, cfg: cfg, env: slices.Clone(env), logPath: filepath.Join(dir, name+".log")}
		p.listenOn(t, "127.0.0.1:"+testenv.SparePort(t))
		replicas = append(replicas, p)
		t.Cleanup(func() {
			p.kill()
			if t.Failed() {
				t.Logf("replica %s log:\n%s", p.name, p.log())
			}
		})
	}
	// All three start at once on an empty store: migrations and table
	// creation race as they do in a fresh deployment.
	for _, p := range replicas {
		p.start(t)
	}
	for _, p := range replicas {
		p.waitReady(t, 60*time.Second)
	}
	t.Logf("three replicas ready after %v", time.Since(began).Round(time.Millisecond))

	// The load runs for the rest of the test, until stopLoad: the restarted
	// replica must get some of it, however long a busy machine takes to
	// drain and restart it. The timeout and the count of requests only
	// bound it.
	b := newBalancer(replicas)
	load := &replicaLoad{start: time.Now(), byKind: map[string]int{}, byReplica: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	var wg sync.WaitGroup
	wg.Go(func() { b.pollHealth(ctx) })
	run := randomHex(4)
	for w := range 4 {
		wg.Go(func() { loadWorker(ctx, b, load, run, w, 15000) })
	}
	stopLoad := func() { cancel(); wg.Wait() }
	t.Cleanup(stopLoad)

	// The checks begin once the load reaches every replica.
	for _, p := range replicas {
		waitServed(t, load, p.name, 3, 10*time.Second)
	}

	a, drained := replicas[0], replicas[1]
	for _, p := range replicaPropagations(run) {
		took := checkPropagation(t, p, a, replicas[1:])
		t.Logf("%s: seen by b after %v, by c after %v", p.name, took["b"].Round(time.Millisecond), took["c"].Round(time.Millisecond))
	}

	// Drain b with a stream in flight: the stream finishes, b exits 0, and
	// the load goes on through a and c.
	stream, err := startStream(drained.base)
	if err != nil {
		t.Fatalf("slow stream on %s: %v", drained.name, err)
	}
	termAt := time.Now()
	t.Logf("SIGTERM to replica %s %v into the load", drained.name, termAt.Sub(load.start).Round(time.Millisecond))
	drained.terminate(t)
	if err := <-stream; err != nil {
		t.Errorf("the stream replica %s was serving when it got SIGTERM: %v", drained.name, err)
	}
	streamEnd := time.Since(termAt)
	drained.wait(t, 30*time.Second)
	t.Logf("replica %s drained: its stream ended %v after SIGTERM, the process %v after", drained.name,
		streamEnd.Round(time.Millisecond), time.Since(termAt).Round(time.Millisecond))
	servedBefore := load.served(drained.name)
	drained.start(t)
	drained.waitReady(t, 60*time.Second)
	t.Logf("replica %s ready again %v after SIGTERM", drained.name, time.Since(termAt).Round(time.Millisecond))

	// Back in the balancer's rotation, it serves the load and the session
	// begun on a before it restarted.
	waitServed(t, load, drained.name, servedBefore+3, 10*time.Second)
	name := "Zed" + killLetters(int(run[0]))
	if got := askOn(t, drained, "continuity-"+run, "What is my name?").Response; !strings.Contains(got, name) {
		t.Errorf("restarted replica %s answered %q; want it to remember %s from the session's first turn", drained.name, got, name)
	}

	stopLoad()
	load.mu.Lock()
	t.Logf("load: %v by kind, %v by replica, %d cache hits; sent again: %d after a refused connection, %d after one closed unanswered by the replica stopping",
		load.byKind, load.byReplica, load.hits, b.refused.Load(), b.unanswered.Load())
	for _, f := range load.failures {
		t.Errorf("client-visible failure: %s", f)
	}
	for _, kind := range []string{"chat", "query", "stream", "session"} {
		if load.byKind[kind] == 0 {
			t.Errorf("the load sent no %s request that succeeded", kind)
		}
	}
	if load.hits == 0 {
		t.Error("the load's shared questions were never answered from the cache")
	}
	load.mu.Unlock()

	for _, p := range replicas {
		p.stop(t, 30*time.Second)
	}
	t.Logf("%s: %v in all", t.Name(), time.Since(began).Round(time.Millisecond))
}

// startStream starts a slow stream (slow_stream: 40 tokens at 20 a second)
// on base, waits for its first chunk, and returns a channel that receives
// nil once the stream has ended with [DONE], or what went wrong.
func startStream(base string) (<-chan error, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/v1/chat/completions",
		strings.NewReader(`{"model":"slow_stream","stream":true,"messages":[{"role":"user","content":"Tell me a long story about draining."}]}`))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer key-a")
	req.Header.Set("Content-Type", "application/json")
	resp, err := directClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, fmt.Errorf("%d %s", resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "data: ") {
	}
	if !strings.HasPrefix(sc.Text(), "data: ") {
		resp.Body.Close()
		return nil, fmt.Errorf("no first chunk: %v", sc.Err())
	}
	done := make(chan error, 1)
	go func() {
		defer resp.Body.Close()
		chunks := 1
		for sc.Scan() {
			if sc.Text() == "data: [DONE]" {
				if chunks < 10 {
					done <- fmt.Errorf("ended after %d chunks; want the whole answer", chunks)
					return
				}
				done <- nil
				return
			}
			if strings.HasPrefix(sc.Text(), "data: ") {
				chunks++
			}
		}
		done <- fmt.Errorf("cut off after %d chunks: %v", chunks, sc.Err())
	}()
	return done, nil
}

// TestListensOn checks the replicas' ownership test: this process holds
// its own listener's port and not a port another listener gave up.
func TestListensOn(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !listensOn(os.Getpid(), "http://"+l.Addr().String()) {
		t.Errorf("listensOn(self, %s) = false; want true", l.Addr())
	}
	if other := "http://127.0.0.1:" + testenv.SparePort(t); listensOn(os.Getpid(), other) {
		t.Errorf("listensOn(self, %s) = true for a port nobody listens on", other)
	}
}
