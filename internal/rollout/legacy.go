package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cato-gateway/cato/internal/redact"
)

// ErrAborted is returned (in Answer.Err) by Legacy.Proxy when the upstream
// or the client broke off after the response had started. The client has
// a partial answer that looks complete to the HTTP server, so the caller
// must have the server abort the response (api does, at its outermost
// handler) for the client to see a broken stream rather than a clean end.
var ErrAborted = errors.New("legacy response broken off")

// ErrLegacyUnavailable is returned (in Answer.Err, wrapped) by Legacy.Proxy
// and Legacy.Call when the legacy upstream gave no answer: a refused
// connection, a failed request, or (for Call) an error status. Proxy has
// then written nothing; the caller answers the client. api answers it with
// 502.
var ErrLegacyUnavailable = errors.New("the legacy upstream did not answer")

// Exchange is one request the legacy side answered, as dual-write needs it
// to record the session turn in Cato's working memory.
type Exchange struct {
	Tenant, User, Session string
	// Request is the request body as sent upstream.
	Request []byte
	// ResponseText is the assistant's answer: the message content, or the
	// streamed deltas joined. It is cut at LegacyOptions.CaptureMaxBytes of
	// response body.
	ResponseText string
	Status       int
	Latency      time.Duration
}

// LegacyOptions configures a Legacy proxy.
type LegacyOptions struct {
	// BaseURL is the legacy OpenAI-compatible server's URL, /v1 included
	// (the base_url of the rollout.legacy model). Required.
	BaseURL string
	// Price prices the legacy answers' usage for the per-side cost in
	// Stats; nil (the legacy model has no price) leaves their cost unknown.
	Price *Price
	// APIKey is sent upstream as a bearer token in place of the client's
	// Cato key; empty sends no Authorization header.
	APIKey string
	// ModelID replaces the request's model when it is one of
	// RewriteModels, names the legacy server does not know. Empty leaves
	// every model unchanged.
	ModelID string
	// RewriteModels lists the model names replaced by ModelID. Nil means
	// "auto" and "cato"; api may add Cato's own model names.
	RewriteModels []string
	// Transport sends the upstream requests. Nil means http.DefaultTransport.
	Transport http.RoundTripper
	// OnExchange, if set, is called for every complete 2xx exchange, in a
	// goroutine Close waits for, with a context detached from the client's.
	// Dual-write saves the session turn there.
	OnExchange func(ctx context.Context, ex Exchange)
	// CaptureMaxBytes caps the response body kept for OnExchange and the
	// shadow comparison; the client always gets all of it. Zero means 1 MiB.
	CaptureMaxBytes int
	// MaxExchanges caps the OnExchange calls in flight. An exchange that
	// finds them all busy (the store is slow or down) is dropped and
	// counted (ExchangesDropped), so that a sick store cannot pile up a
	// goroutine per legacy request. Zero means 64.
	MaxExchanges int
	Log          *slog.Logger
}

// Legacy proxies requests that fall on the legacy side, unchanged but for
// the upstream's key (and a model name only Cato knows), to the legacy
// OpenAI-compatible server with httputil.ReverseProxy: streams are flushed
// as they come, a client that goes away cancels the upstream request, and
// the response carries X-Cato-Side: legacy. It captures the answer for
// dual-write (OnExchange) and for Shadow. It writes nothing of its own:
// failures are returned, for api to answer. A Legacy is safe for concurrent
// use; Close waits for the OnExchange calls in flight. Create it with
// NewLegacy.
type Legacy struct {
	opts  LegacyOptions
	base  *url.URL
	proxy *httputil.ReverseProxy
	hc    *http.Client

	mu     sync.Mutex // guards closed and wg.Add against Close's wg.Wait
	closed bool
	wg     sync.WaitGroup
	// slots holds a token per OnExchange call in flight.
	slots   chan struct{}
	dropped atomic.Uint64
}

// NewLegacy returns a Legacy proxy.
func NewLegacy(opts LegacyOptions) (*Legacy, error) {
	base, err := url.Parse(opts.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("legacy base URL %q is not an http(s) URL", opts.BaseURL)
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	if opts.RewriteModels == nil {
		opts.RewriteModels = []string{"auto", "cato"}
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	if opts.CaptureMaxBytes <= 0 {
		opts.CaptureMaxBytes = 1 << 20
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.MaxExchanges <= 0 {
		opts.MaxExchanges = 64
	}
	l := &Legacy{opts: opts, base: base, hc: &http.Client{Transport: opts.Transport}, slots: make(chan struct{}, opts.MaxExchanges)}
	l.proxy = &httputil.ReverseProxy{
		Rewrite:        l.rewrite,
		Transport:      opts.Transport,
		FlushInterval:  -1, // SSE: every chunk reaches the client at once
		ModifyResponse: l.modifyResponse,
		ErrorHandler:   l.errorHandler,
		ErrorLog:       slog.NewLogLogger(opts.Log.Handler(), slog.LevelDebug),
	}
	return l, nil
}

// proxyState follows one request through the ReverseProxy. The proxy's
// hooks record the status and a failure before the response began, and it
// stands between the proxy and the client's ResponseWriter. A body that
// breaks off, on the upstream's side (a read error) or the client's (a
// write error), ends the copy as if the body were complete, so that the
// proxy returns instead of panicking with http.ErrAbortHandler as it does
// under a server; Proxy then reports the break as ErrAborted.
type proxyState struct {
	http.ResponseWriter
	status  int
	err     error // the failure before the response began, if any
	capture *captureBody

	mu       sync.Mutex // guards readErr and writeErr
	readErr  error      // the upstream body's read error, other than io.EOF
	writeErr error      // the first failed write to the client
}

type stateKey struct{}

// Write passes b to the client. After a failed write it writes nothing
// more and reports success, so that the proxy's copy ends without error.
func (p *proxyState) Write(b []byte) (int, error) {
	if p.broken() {
		return len(b), nil
	}
	if _, err := p.ResponseWriter.Write(b); err != nil {
		p.mu.Lock()
		p.writeErr = err
		p.mu.Unlock()
	}
	return len(b), nil
}

// Unwrap lets http.ResponseController reach the client's writer to flush.
func (p *proxyState) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// broken reports whether a write to the client failed.
func (p *proxyState) broken() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writeErr != nil
}

// brokenOff returns why the body broke off after the response began, or
// nil when it was copied whole: the client's cancellation first, then a
// failed write (the client is gone), then the upstream's read error.
func (p *proxyState) brokenOff(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.writeErr == nil && p.readErr == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case p.writeErr != nil:
		return fmt.Errorf("writing to the client: %w: %w", context.Canceled, p.writeErr)
	}
	return p.readErr
}

// target maps an incoming /v1/... path onto the base URL.
func (l *Legacy) target(in *url.URL) *url.URL {
	u := *l.base
	u.Path = l.base.Path + strings.TrimPrefix(in.Path, "/v1")
	u.RawPath = ""
	u.RawQuery = in.RawQuery
	return &u
}

func (l *Legacy) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL = l.target(pr.In.URL)
	pr.Out.Host = ""
	pr.SetXForwarded()
	pr.Out.Header.Del("Authorization") // the client's Cato key stays here
	// Let the transport negotiate compression and undo it, so the capture
	// reads text; the client gets the same answer, uncompressed.
	pr.Out.Header.Del("Accept-Encoding")
	if l.opts.APIKey != "" {
		pr.Out.Header.Set("Authorization", "Bearer "+l.opts.APIKey)
	}
}

func (l *Legacy) modifyResponse(resp *http.Response) error {
	resp.Header.Set(HeaderSide, SideLegacy.String())
	if st, ok := resp.Request.Context().Value(stateKey{}).(*proxyState); ok {
		st.status = resp.StatusCode
		st.capture = &captureBody{rc: resp.Body, max: l.opts.CaptureMaxBytes, st: st}
		resp.Body = st.capture
	}
	return nil
}

// errorHandler records a failure before the response began. It writes
// nothing: Proxy returns the failure for the caller to answer.
func (l *Legacy) errorHandler(_ http.ResponseWriter, r *http.Request, err error) {
	st, ok := r.Context().Value(stateKey{}).(*proxyState)
	if !ok {
		return
	}
	if errors.Is(r.Context().Err(), context.Canceled) {
		st.status, st.err = 499, fmt.Errorf("legacy request: %w", context.Canceled)
		return // the client is gone
	}
	st.status, st.err = http.StatusBadGateway, fmt.Errorf("%w: %w", ErrLegacyUnavailable, err)
	l.opts.Log.Warn("legacy upstream failed", slog.String("url", redact.URL(r.URL.String())), slog.Any("err", err))
}

// Proxy sends r, with body as its body, to the legacy server and writes the
// answer to w. id says who asked, for OnExchange. api has read the body
// already (to find the identity); a nil body means r.Body is sent. r's path
// must be an OpenAI path under /v1. Proxy returns when the answer is fully
// written or broken off. Answer.Err wraps ErrLegacyUnavailable when the
// upstream gave no answer (nothing was written to w), ErrAborted when the
// answer broke off after it began, and context.Canceled when the client
// went away (then also ErrAborted if the answer had begun).
func (l *Legacy) Proxy(w http.ResponseWriter, r *http.Request, id Identity, body []byte) Answer {
	start := time.Now()
	if body == nil && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return Answer{Status: 499, Err: fmt.Errorf("reading request body: %w", err)}
		}
		body = b
	}
	body = l.rewriteModel(body)
	st := &proxyState{ResponseWriter: w}
	out := r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.Header = r.Header.Clone()
	out.Header.Del("Content-Length")
	l.proxy.ServeHTTP(st, out)

	ans := Answer{Status: st.status, Err: st.err, Latency: time.Since(start)}
	if st.capture == nil {
		return ans
	}
	ans.Text = answerText(st.capture.buf.Bytes())
	if !st.capture.truncated {
		ans.CostUSD, ans.CostKnown = l.opts.Price.cost(st.capture.buf.Bytes())
	}
	if err := st.brokenOff(r.Context()); err != nil {
		ans.Err = fmt.Errorf("%w: %w", ErrAborted, err)
		return ans
	}
	if ans.Err == nil && ans.Status/100 == 2 && l.opts.OnExchange != nil && !st.capture.truncated {
		l.exchange(r.Context(), Exchange{
			Tenant: id.Tenant, User: id.User, Session: id.Session,
			Request: body, ResponseText: ans.Text, Status: ans.Status, Latency: ans.Latency,
		})
	}
	return ans
}

// exchange calls OnExchange in a goroutine when a slot is free, and
// drops ex when none is.
func (l *Legacy) exchange(ctx context.Context, ex Exchange) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	select {
	case l.slots <- struct{}{}:
	default:
		l.dropped.Add(1)
		return
	}
	l.wg.Go(func() {
		defer func() { <-l.slots }()
		l.opts.OnExchange(context.WithoutCancel(ctx), ex)
	})
}

// ExchangesDropped returns how many exchanges were not handed to
// OnExchange because MaxExchanges calls were in flight.
func (l *Legacy) ExchangesDropped() uint64 { return l.dropped.Load() }

// Close waits for OnExchange calls in flight and stops starting new ones.
// It returns nil.
func (l *Legacy) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.wg.Wait()
	return nil
}

// Call sends body to the legacy server at path (an OpenAI path under /v1,
// such as /v1/chat/completions) and reads the whole answer. api uses it to
// answer /api/cato/query on the legacy side and to mirror new-side traffic;
// nothing is written to any client and OnExchange is not called. A request
// that got no answer, or only part of one, has an Err wrapping
// ErrLegacyUnavailable; an error status is returned as it came, with a nil
// Err.
func (l *Legacy) Call(ctx context.Context, path string, body []byte) Answer {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.target(&url.URL{Path: path}).String(), bytes.NewReader(l.rewriteModel(body)))
	if err != nil {
		return Answer{Err: fmt.Errorf("legacy request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	if l.opts.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+l.opts.APIKey)
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		return Answer{Err: fmt.Errorf("%w: %w", ErrLegacyUnavailable, err), Latency: time.Since(start)}
	}
	defer resp.Body.Close()
	c := &captureBody{rc: resp.Body, max: l.opts.CaptureMaxBytes}
	_, err = io.Copy(io.Discard, c)
	ans := Answer{Status: resp.StatusCode, Text: answerText(c.buf.Bytes()), Latency: time.Since(start)}
	ans.CostUSD, ans.CostKnown = l.opts.Price.cost(c.buf.Bytes())
	if err != nil {
		ans.Err = fmt.Errorf("%w: reading its answer: %w", ErrLegacyUnavailable, err)
	}
	return ans
}

// rewriteModel replaces a model name only Cato knows with ModelID. Any
// other body, malformed ones included, is sent as it came.
func (l *Legacy) rewriteModel(body []byte) []byte {
	if l.opts.ModelID == "" || !bytes.Contains(body, []byte(`"model"`)) {
		return body
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	var model string
	if json.Unmarshal(doc["model"], &model) != nil || !slices.Contains(l.opts.RewriteModels, model) {
		return body
	}
	doc["model"], _ = json.Marshal(l.opts.ModelID)
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

// captureBody passes a response body through, keeping its first max bytes.
// Under Proxy (st set) a read error is recorded in st and reported to the
// proxy as the body's end, and reading stops once the client is gone; see
// proxyState. Call reads it with st nil and gets read errors as they are.
type captureBody struct {
	rc        io.ReadCloser
	max       int
	buf       bytes.Buffer
	truncated bool
	st        *proxyState
}

func (c *captureBody) Read(p []byte) (int, error) {
	if c.st != nil && c.st.broken() {
		return 0, io.EOF // nobody reads the rest
	}
	n, err := c.rc.Read(p)
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(n, room)])
		c.truncated = c.truncated || n > room
	} else if n > 0 {
		c.truncated = true
	}
	if err != nil && err != io.EOF && c.st != nil {
		c.st.mu.Lock()
		c.st.readErr = err
		c.st.mu.Unlock()
		return n, io.EOF
	}
	return n, err
}

func (c *captureBody) Close() error { return c.rc.Close() }
