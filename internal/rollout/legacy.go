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
	"time"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/openai"
)

// ErrAborted is returned (in Answer.Err) by Legacy.Proxy when the upstream
// or the client broke off after the response had started: the client has a
// partial answer, so the handler must end with panic(http.ErrAbortHandler)
// once it has recorded the outcome, for the client to see a broken
// response rather than a clean end.
var ErrAborted = errors.New("legacy response broken off")

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
	// (config.Model.BaseURL of the rollout.legacy model). Required.
	BaseURL string
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
	Log             *slog.Logger
}

// LegacyOptionsFrom fills BaseURL, APIKey (read with getenv from
// api_key_env) and ModelID from the legacy model's configuration.
func LegacyOptionsFrom(m config.Model, getenv func(string) string) LegacyOptions {
	o := LegacyOptions{BaseURL: m.BaseURL, ModelID: m.ModelID}
	if m.APIKeyEnv != "" {
		o.APIKey = getenv(m.APIKeyEnv)
	}
	return o
}

// Legacy proxies requests that fall on the legacy side, unchanged but for
// the upstream's key (and a model name only Cato knows), to the legacy
// OpenAI-compatible server with httputil.ReverseProxy: streams are flushed
// as they come, a client that goes away cancels the upstream request, and
// the response carries X-Cato-Side: legacy. It captures the answer for
// dual-write (OnExchange) and for Shadow. A Legacy is safe for concurrent
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
	l := &Legacy{opts: opts, base: base, hc: &http.Client{Transport: opts.Transport}}
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

// exchangeState is what the proxy's hooks learn about one request.
type exchangeState struct {
	status  int
	err     error
	capture *captureBody
}

type stateKey struct{}

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
	if st, ok := resp.Request.Context().Value(stateKey{}).(*exchangeState); ok {
		st.status = resp.StatusCode
		st.capture = &captureBody{rc: resp.Body, max: l.opts.CaptureMaxBytes}
		resp.Body = st.capture
	}
	return nil
}

func (l *Legacy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	st, _ := r.Context().Value(stateKey{}).(*exchangeState)
	if errors.Is(r.Context().Err(), context.Canceled) {
		if st != nil {
			st.status, st.err = 499, fmt.Errorf("legacy request: %w", context.Canceled)
		}
		return // the client is gone: nothing to write
	}
	if st != nil {
		st.status, st.err = http.StatusBadGateway, fmt.Errorf("legacy upstream: %w", err)
	}
	l.opts.Log.Warn("legacy upstream failed", slog.String("url", r.URL.Redacted()), slog.Any("err", err))
	w.Header().Set(HeaderSide, SideLegacy.String())
	writeError(w, http.StatusBadGateway, openai.TypeUpstream, "legacy_unavailable", "the legacy upstream did not answer")
}

// Proxy sends r, with body as its body, to the legacy server and writes the
// answer to w. id says who asked, for OnExchange. api has read the body
// already (to find the identity); a nil body means r.Body is sent. r's path
// must be an OpenAI path under /v1. Proxy returns when the answer is fully
// written or broken off; see ErrAborted.
func (l *Legacy) Proxy(w http.ResponseWriter, r *http.Request, id Identity, body []byte) (ans Answer) {
	start := time.Now()
	if body == nil && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return Answer{Status: 499, Err: fmt.Errorf("reading request body: %w", err)}
		}
		body = b
	}
	body = l.rewriteModel(body)
	st := &exchangeState{}
	out := r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.Header = r.Header.Clone()
	out.Header.Del("Content-Length")

	defer func() {
		ans = Answer{Status: st.status, Err: st.err, Latency: time.Since(start)}
		if st.capture != nil {
			ans.Text = answerText(st.capture.buf.Bytes())
		}
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			ans.Err = fmt.Errorf("%w: %w", ErrAborted, firstErr(r.Context().Err(), st.capture.err()))
			return
		}
		if ans.Err == nil && st.capture != nil && st.capture.err() != nil {
			ans.Err = fmt.Errorf("%w: %w", ErrAborted, st.capture.err()) // outside a server no panic comes
			return
		}
		if ans.Err == nil && ans.Status/100 == 2 && l.opts.OnExchange != nil && st.capture != nil && !st.capture.truncated {
			l.exchange(r.Context(), Exchange{
				Tenant: id.Tenant, User: id.User, Session: id.Session,
				Request: body, ResponseText: ans.Text, Status: ans.Status, Latency: ans.Latency,
			})
		}
	}()
	l.proxy.ServeHTTP(w, out)
	return ans
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return errors.New("copy failed")
}

func (l *Legacy) exchange(ctx context.Context, ex Exchange) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.wg.Go(func() { l.opts.OnExchange(context.WithoutCancel(ctx), ex) })
}

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
// such as /v1/chat/completions) and reads the whole answer. Shadow uses it
// to mirror new-side traffic; nothing is written to any client and
// OnExchange is not called.
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
		return Answer{Err: fmt.Errorf("legacy request: %w", err), Latency: time.Since(start)}
	}
	defer resp.Body.Close()
	c := &captureBody{rc: resp.Body, max: l.opts.CaptureMaxBytes}
	_, err = io.Copy(io.Discard, c)
	ans := Answer{Status: resp.StatusCode, Text: answerText(c.buf.Bytes()), Latency: time.Since(start)}
	if err != nil {
		ans.Err = fmt.Errorf("reading legacy answer: %w", err)
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

// captureBody passes a response body through, keeping its first max bytes
// and the read error that ended it.
type captureBody struct {
	rc        io.ReadCloser
	max       int
	buf       bytes.Buffer
	truncated bool

	mu      sync.Mutex // guards readErr: the proxy reads, Proxy's defer checks
	readErr error
}

func (c *captureBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(n, room)])
		c.truncated = c.truncated || n > room
	} else if n > 0 {
		c.truncated = true
	}
	if err != nil && err != io.EOF {
		c.mu.Lock()
		c.readErr = err
		c.mu.Unlock()
	}
	return n, err
}

func (c *captureBody) Close() error { return c.rc.Close() }

func (c *captureBody) err() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}
