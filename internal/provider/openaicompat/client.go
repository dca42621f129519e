package openaicompat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/provider"
)

var (
	_ provider.Provider = (*Client)(nil)
	_ provider.Pinger   = (*Client)(nil)
)

// Options configure a Client.
type Options struct {
	// Name is the configured model name, used in errors.
	Name string
	// BaseURL is the server's URL with its /v1 prefix.
	BaseURL string
	// ModelID is the model name sent upstream.
	ModelID string
	// APIKey is sent as a bearer token when set.
	APIKey string
	// HTTP is the client used for every call; nil means http.DefaultClient.
	HTTP *http.Client
}

// Client calls one model on an OpenAI-compatible server. It is safe for
// concurrent use.
type Client struct {
	opt  Options
	chat string // the chat completions URL
	// bearer is the Authorization header's value, nil without an API key.
	bearer []string
	// proto is a chat completion request without context, body or
	// header, parsed once: each call's request is a copy of it (see
	// newChatRequest). Nil when the URL does not parse.
	proto *http.Request
}

// New returns a client for the model described by opt.
func New(opt Options) *Client {
	if opt.HTTP == nil {
		opt.HTTP = http.DefaultClient
	}
	c := &Client{opt: opt, chat: strings.TrimRight(opt.BaseURL, "/") + "/chat/completions"}
	if p, err := http.NewRequest(http.MethodPost, c.chat, nil); err == nil {
		c.proto = p // else each call fails as NewRequestWithContext does
	}
	if opt.APIKey != "" {
		c.bearer = []string{"Bearer " + opt.APIKey}
	}
	return c
}

// Chat implements provider.Provider.
func (c *Client) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	resp, err := c.post(ctx, req, false)
	if err != nil {
		return nil, err
	}
	body, err := readAnswer(resp)
	if err != nil {
		closeBody(resp.Body)
		return nil, c.transportError(ctx, fmt.Errorf("reading answer: %w", err))
	}
	resp.Body.Close() // read to its end: the connection goes back to the pool
	var wire openai.ChatResponse
	if err := openai.DecodeChatResponse(body, &wire); err != nil {
		return nil, c.badAnswer(fmt.Errorf("decoding answer: %w", err))
	}
	out, err := wire.ToResponse()
	if err != nil {
		return nil, c.badAnswer(err)
	}
	if req.HiddenStates {
		// Cato asked for them: they come back in its cato object, and
		// the answer is rebuilt without them.
		out.HiddenStates = decodeHiddenStates(wire.Choices[0].HiddenStates, c.opt.Name)
	} else {
		out.Raw = body
	}
	return out, nil
}

// maxAnswerBytes caps an upstream's answer.
const maxAnswerBytes = 64 << 20

// readAnswer reads an answer's body to its end, up to maxAnswerBytes (a
// longer body is cut there, as io.LimitReader would). It does what
// io.ReadAll does, but starts from the announced Content-Length, so that
// an answer of known length takes one allocation instead of a doubling
// series from 512 bytes, and no LimitReader (three allocations a request:
// BenchmarkProxy in internal/app).
func readAnswer(resp *http.Response) ([]byte, error) {
	size := 512
	if n := resp.ContentLength; n >= 0 && n < maxAnswerBytes {
		size = int(n) + 1 // room to read io.EOF without growing
	}
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := min(cap(b), maxAnswerBytes) - len(b)
		if room <= 0 {
			return b, nil
		}
		n, err := resp.Body.Read(b[len(b) : len(b)+room])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func (c *Client) badAnswer(err error) error {
	return &provider.Error{Model: c.opt.Name, StatusCode: http.StatusBadGateway, Code: provider.CodeBadUpstreamResponse, Retryable: true, Err: err}
}

// ChatStream implements provider.Provider.
func (c *Client) ChatStream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	resp, err := c.post(ctx, req, true)
	if err != nil {
		return nil, err
	}
	return &stream{c: c, ctx: ctx, body: resp.Body, events: openai.NewEventReader(resp.Body), hidden: req.HiddenStates}, nil
}

// Ping implements provider.Pinger by listing the server's models.
func (c *Client) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.opt.BaseURL, "/")+"/models", nil)
	if err != nil {
		return err
	}
	c.auth(req)
	resp, err := c.opt.HTTP.Do(req)
	if err != nil {
		return c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return c.statusError(resp, nil)
	}
	return nil
}

// Header values shared by every request: net/http only reads a request's
// header values, so the slices are set rather than built per call (one
// allocation each per call: BenchmarkProxy in internal/app).
var (
	jsonType   = []string{"application/json"}
	eventTypes = []string{"text/event-stream"}
)

func (c *Client) auth(req *http.Request) {
	if c.bearer != nil {
		req.Header["Authorization"] = c.bearer
	}
}

func (c *Client) post(ctx context.Context, r *llm.Request, stream bool) (*http.Response, error) {
	body, err := openai.EncodeRequest(r, c.opt.ModelID, stream)
	if err != nil {
		return nil, &provider.Error{Model: c.opt.Name, StatusCode: http.StatusBadRequest, Code: provider.CodeInvalidRequest, Err: err}
	}
	req, err := c.newChatRequest(ctx, body)
	if err != nil {
		return nil, &provider.Error{Model: c.opt.Name, StatusCode: http.StatusBadGateway, Code: provider.CodeBadUpstreamURL, Err: err}
	}
	req.Header["Content-Type"] = jsonType
	if stream {
		req.Header["Accept"] = eventTypes
	}
	c.auth(req)
	resp, err := c.opt.HTTP.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, c.statusError(resp, nil)
	}
	return resp, nil
}

// newChatRequest returns what http.NewRequestWithContext(ctx, "POST",
// c.chat, bytes.NewReader(body)) returns, in fewer allocations: the URL
// is parsed once, in New, and shared by every request (net/http and
// Cato's transports only read a request's URL, and a RoundTripper that
// changes a request clones it first, URL included), and the body takes
// two allocations where a bytes.Reader's takes three.
func (c *Client) newChatRequest(ctx context.Context, body []byte) (*http.Request, error) {
	var req *http.Request
	if c.proto == nil || ctx == nil {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, c.chat, nil)
		if err != nil {
			return nil, err
		}
		req = r
	} else {
		req = c.proto.WithContext(ctx)
		req.Header = make(http.Header)
	}
	rb := newRequestBody(body)
	req.Body, req.GetBody, req.ContentLength = rb, rb.again, int64(len(body))
	return req, nil
}

// requestBody is an upstream request's body: the encoded request, read
// once per try. again gives the transport a fresh copy to send again (a
// retry on a reused connection that broke, a redirect).
type requestBody struct {
	bytes.Reader
	b []byte
}

func newRequestBody(b []byte) *requestBody {
	rb := &requestBody{b: b}
	rb.Reset(b)
	return rb
}

// Close does nothing: the body is in memory.
func (*requestBody) Close() error { return nil }

func (rb *requestBody) again() (io.ReadCloser, error) { return newRequestBody(rb.b), nil }

// transportError classifies a failure to reach the server or read its
// answer. The caller's own cancellation is returned as it is.
func (c *Client) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return err
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &provider.Error{Model: c.opt.Name, StatusCode: http.StatusGatewayTimeout, Code: provider.CodeTimeout, Retryable: true, Err: err}
	}
	// The client's error body says which: a reset, a connection closed
	// in the middle of a call, or no connection at all.
	code := provider.CodeUpstreamUnreachable
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		code = provider.CodeConnectionReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		code = provider.CodeConnectionError
	}
	return &provider.Error{Model: c.opt.Name, StatusCode: http.StatusBadGateway, Code: code, Retryable: true, Err: err}
}

// statusError reads an upstream error answer. An OpenAI error document
// is kept as sent, for the client.
func (c *Client) statusError(resp *http.Response, _ error) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := strings.TrimSpace(string(b))
	code := provider.CodeUpstreamError
	var doc []byte
	if e, ok := openai.UpstreamError(b); ok {
		msg, doc = e.Error.Message, b
		if e.Error.Code != nil && *e.Error.Code != "" {
			code = provider.Code(*e.Error.Code)
		}
	}
	if msg == "" {
		msg = resp.Status
	}
	return &provider.Error{
		Model: c.opt.Name, StatusCode: resp.StatusCode, Code: code,
		Retryable:  provider.StatusRetryable(resp.StatusCode),
		RetryAfter: provider.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		Upstream:   doc,
		Err:        errors.New(msg),
	}
}

type stream struct {
	c      *Client
	ctx    context.Context
	body   io.ReadCloser
	events *openai.EventReader
	hidden bool
	wire   openai.ChatResponse // the chunk being decoded
	done   bool
	// sawDone is set once the upstream sent [DONE]: the body is complete.
	sawDone bool
}

func (s *stream) Next() (llm.Chunk, error) {
	for {
		if s.done {
			return llm.Chunk{}, io.EOF
		}
		data, err := s.events.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				// A stream that ends without [DONE] was cut off.
				err = io.ErrUnexpectedEOF
			}
			return llm.Chunk{}, s.c.transportError(s.ctx, fmt.Errorf("reading stream: %w", err))
		}
		if string(data) == openai.Done {
			s.done, s.sawDone = true, true
			return llm.Chunk{}, io.EOF
		}
		// One ChatResponse for the whole stream, not one a chunk
		// (BenchmarkProxyStream in internal/app): the decode resets it,
		// and the chunk built from it shares nothing it overwrites.
		wire := &s.wire
		if err := openai.DecodeChatResponse(data, wire); err != nil {
			return llm.Chunk{}, &provider.Error{Model: s.c.opt.Name, StatusCode: http.StatusBadGateway, Code: provider.CodeBadUpstreamResponse, Err: fmt.Errorf("decoding chunk: %w", err)}
		}
		if isErrorEvent(data) {
			pe := &provider.Error{Model: s.c.opt.Name, StatusCode: http.StatusBadGateway, Code: provider.CodeUpstreamStreamError}
			e, ok := openai.UpstreamError(data)
			if ok {
				pe.Upstream = append([]byte(nil), data...)
				if e.Error.Code != nil && *e.Error.Code != "" {
					pe.Code = provider.Code(*e.Error.Code)
				}
			}
			pe.Err = errors.New(e.Error.Message)
			return llm.Chunk{}, pe
		}
		ch := wire.ToChunk()
		if s.hidden {
			// Cato asked for them: they come back in its cato object, and
			// the chunk is rebuilt without them.
			if len(wire.Choices) > 0 {
				ch.HiddenStates = decodeHiddenStates(wire.Choices[0].HiddenStates, s.c.opt.Name)
			}
		} else {
			ch.Raw = data
		}
		return ch, nil
	}
}

func isErrorEvent(data []byte) bool {
	return bytes.Contains(data, []byte(`"error"`)) && !bytes.Contains(data, []byte(`"choices"`))
}

func (s *stream) Close() error {
	s.done = true
	if s.sawDone {
		return closeBody(s.body)
	}
	return s.body.Close()
}

// closeBody reads what is left of an answer the caller finished with (the
// end of a chunked body, trailing whitespace) before closing it: a body
// closed before its end costs the connection, and under load a new
// connection per call exhausts ephemeral ports. More than a few KiB left
// means the answer was not finished after all, and the connection goes.
func closeBody(body io.ReadCloser) error {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4<<10))
	return body.Close()
}

// decodeHiddenStates reads SGLang's choices[].hidden_states: one vector,
// or one per token, of which the last is kept.
func decodeHiddenStates(raw json.RawMessage, model string) *llm.HiddenStates {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var vec []float32
	if json.Unmarshal(raw, &vec) != nil {
		var mat [][]float32
		if json.Unmarshal(raw, &mat) != nil || len(mat) == 0 {
			return nil
		}
		vec = mat[len(mat)-1]
	}
	return &llm.HiddenStates{Model: model, Layer: -1, Pooling: "last_token", Dim: len(vec), Values: vec}
}
