package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/router"
)

// readBody reads the request body within the size limit, the body budget
// and the pace Options.Overload sets, and then counts a client request
// in against Overload.MaxInFlight (admitBody): a request is counted, and
// holds budget, only for what has arrived. The body is read as JSON
// whatever its Content-Type, as OpenAI's API does, so that a plain
// `curl -d` works.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	// The body is not closed here (the server does that), so neither
	// reader needs a Close of its own.
	var body io.ReadCloser = r.Body
	rw := responseOf(w)
	if o := s.opt.Overload; o.BodyMinRate > 0 {
		p := &rw.paced // a request's body is read once
		*p = pacedBody{r: r.Body, w: w, start: time.Now(), grace: o.BodyGrace, rate: o.BodyMinRate, size: r.ContentLength}
		defer p.done()
		body = p
	}
	limit := s.opt.MaxBodyBytes
	if n := r.ContentLength; n >= 0 && n < limit {
		limit = n // MaxBytesReader refuses a longer one after MaxBodyBytes
	}
	budget := s.bodies
	if r.ContentLength == 0 {
		budget = nil
	}
	b, took, err := budgetedRead(http.MaxBytesReader(w, body, s.opt.MaxBodyBytes), limit, budget)
	rw.bodyShare += took // given back by response.release
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		if errors.Is(err, errBodyBudget) {
			// Part of the body is unread: the connection cannot carry
			// another request.
			closeHTTP1(w, r)
			return nil, s.overloaded("body_budget", "the request bodies in flight fill the gateway's budget (server.body_budget_bytes)")
		}
		// The cause names the connection's addresses: it goes to the log.
		s.opt.Log.InfoContext(r.Context(), "request body unreadable", slog.Any("err", err))
		var ne net.Error
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fail(codeUnreadableBody, "the request body ended before its announced length")
		case errors.As(err, &ne) && ne.Timeout():
			// The connection's read deadline has passed: it cannot carry
			// another request.
			s.opt.Metrics.Shed.WithLabelValues("slow_body").Inc()
			closeHTTP1(w, r)
			return nil, fail(codeSlowBody, "the request body arrived too slowly")
		}
		return nil, fail(codeUnreadableBody, "the request body could not be read")
	}
	s.arrived(r)
	if err := s.admitBody(w); err != nil {
		return nil, err
	}
	return b, nil
}

// who returns the user and session of a request: the body's fields win
// over the X-Cato-User and X-Cato-Session headers.
func who(r *http.Request, user, session string) (string, string) {
	if user == "" {
		user = r.Header.Get("X-Cato-User")
	}
	if session == "" {
		session = r.Header.Get("X-Cato-Session")
	}
	return user, session
}

// chatEndpoint is /v1/chat/completions behind the rollout. The side is
// decided before Cato decodes the request, so that the legacy side gets it
// exactly as sent: a legacy request is proxied unchanged.
func (s *Server) chatEndpoint() *twoSided[[]byte] {
	return &twoSided[[]byte]{
		s:     s,
		route: "chat",
		read: func(w http.ResponseWriter, r *http.Request) ([]byte, []byte, error) {
			body, err := s.readBody(w, r)
			return body, body, err
		},
		answer: s.chat,
		shadow: s.shadowChat,
	}
}

// chat answers a chat completion on the new side.
func (s *Server) chat(w http.ResponseWriter, r *http.Request, body []byte) answered {
	start := time.Now()
	req, err := openai.DecodeChatRequest(body)
	if err != nil {
		s.writeError(w, r, err)
		return answered{err: err}
	}
	user, session := who(r, req.User, req.SessionID)
	q := &orchestrator.Query{
		Tenant: tenantOf(r.Context()), User: user, SessionID: session,
		Request: &req.Request, Domain: req.Cato.Domain, Cache: req.Cato.Cache, Memory: req.Cato.Memory,
		Models: allowedModels(r.Context()),
	}
	if req.Stream {
		return s.streamChat(w, r, q, req)
	}
	ans, err := s.opt.Orchestrator.Answer(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return answered{err: err}
	}
	s.setCatoHeaders(w, ans.Model, ans.CacheOutcome, ans.Routing)
	id := "chatcmpl-" + requestID(r.Context())
	ab := getAnswerBuf()
	defer putAnswerBuf(r.Context(), ab) // after the answer is written: nothing below keeps ab
	ab.meta = openai.Meta{
		Model: ans.Model, Cached: ans.Cached, FallbackUsed: ans.FallbackUsed, SessionID: session,
		Routing: ab.routingJSON(ans.Routing), LatencyMS: ms(time.Since(start)), CostUSD: ans.CostUSD,
		HiddenStates: ans.Response.HiddenStates, Degraded: ans.Degraded,
	}
	if raw := ans.Response.Raw; raw != nil {
		// An OpenAI-compatible upstream's answer goes back as it came,
		// every choice and field included (docs/api.md).
		if catoJSON, err := ab.metaJSON(); err == nil {
			rw := openai.Rewrite{ID: id, Model: ans.Model, KeepModel: !orchestrator.IsAuto(req.Model), Cato: catoJSON}
			if b, ok := openai.AppendRewritten(slices.Grow(ab.out[:0], len(raw)+len(catoJSON)+64), raw, &rw); ok {
				ab.out = b
				writeBody(w, http.StatusOK, b)
				return answeredBy(ans, ans.Response.Message.Content)
			}
		}
	}
	out := openai.NewChatResponse(id, start.Unix(), ans.Model, ans.Response)
	out.Cato = &ab.meta
	writeJSON(w, http.StatusOK, out)
	return answeredBy(ans, ans.Response.Message.Content)
}

// answerBuf is where a non-streamed answer, or a stream's last event, is
// built: Cato's account of it (the cato member), its routing decision's
// JSON, and the rewritten answer. One is taken from answerBufs per answer
// and put back once the answer is written, which is safe because an
// io.Writer keeps nothing of what it is given; nothing else refers to it.
type answerBuf struct {
	meta    openai.Meta
	routing router.Decision
	// routingBuf and metaBuf hold the JSON of routing and meta.
	routingBuf, metaBuf bytes.Buffer
	out                 []byte
}

var answerBufs = sync.Pool{New: func() any { return new(answerBuf) }}

// maxPooledAnswer caps the buffers kept for reuse: a rare long answer's
// buffer goes to the garbage collector rather than staying in the pool.
const maxPooledAnswer = 64 << 10

func getAnswerBuf() *answerBuf { return answerBufs.Get().(*answerBuf) }

// putAnswerBuf puts b back for reuse, unless the request's context ended
// first: when an HTTP/2 client resets its stream, the server's Write may
// return while its frame writer is still copying the bytes, so a buffer
// whose write was cut short goes to the garbage collector instead.
func putAnswerBuf(ctx context.Context, b *answerBuf) {
	if ctx.Err() != nil {
		return
	}
	// What meta and routing point to (hidden states, fallbacks) is not
	// kept alive by the pool.
	b.meta, b.routing = openai.Meta{}, router.Decision{}
	if cap(b.out) > maxPooledAnswer {
		b.out = nil
	}
	if b.routingBuf.Cap() > maxPooledAnswer || b.metaBuf.Cap() > maxPooledAnswer {
		return
	}
	answerBufs.Put(b)
}

// routingJSON returns what the function routingJSON returns for d, in
// b's buffer: valid until b is put back.
func (b *answerBuf) routingJSON(d router.Decision) json.RawMessage {
	b.routing = d
	if b.routing.Fallbacks == nil {
		b.routing.Fallbacks = []string{}
	}
	b.routingBuf.Reset()
	if err := json.NewEncoder(&b.routingBuf).Encode(&b.routing); err != nil {
		return nil // as json.Marshal's result on error
	}
	return bytes.TrimSuffix(b.routingBuf.Bytes(), []byte("\n"))
}

// metaJSON is json.Marshal(&b.meta), in b's buffer: an Encoder writes the
// same bytes as Marshal, and a newline, without Marshal's copy.
func (b *answerBuf) metaJSON() ([]byte, error) {
	b.metaBuf.Reset()
	if err := json.NewEncoder(&b.metaBuf).Encode(&b.meta); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.metaBuf.Bytes(), []byte("\n")), nil
}

// shadowChat answers a chat completion the legacy side served on the new
// side, for the shadow comparison, leaving no state behind.
func (s *Server) shadowChat(ctx context.Context, tenant string, body []byte) rollout.Answer {
	start := time.Now()
	req, err := openai.DecodeChatRequest(body)
	if err != nil {
		return rollout.Answer{Status: http.StatusBadRequest, Err: err, Latency: time.Since(start)}
	}
	req.Stream = false
	a, err := s.opt.Orchestrator.Answer(ctx, &orchestrator.Query{
		Tenant: tenant, User: req.User, SessionID: req.SessionID, Request: &req.Request,
		Domain: req.Cato.Domain, Cache: req.Cato.Cache, Memory: req.Cato.Memory, Shadow: true,
	})
	return shadowAnswer(a, err, start)
}

// shadowAnswer is what a shadow call on the new side answered.
func shadowAnswer(a *orchestrator.Answer, err error, start time.Time) rollout.Answer {
	if err != nil {
		status, _, _ := describe(err, "")
		return rollout.Answer{Status: status, Err: err, Latency: time.Since(start)}
	}
	return rollout.Answer{Text: a.Response.Message.Content, Status: http.StatusOK, Latency: time.Since(start)}
}

// setCatoHeaders sets the headers of an answer on the new side; the
// handler has set X-Cato-Side already, so that errors carry it too.
func (s *Server) setCatoHeaders(w http.ResponseWriter, model, cache string, d router.Decision) {
	// The request's own storage for the three values, where Header.Set
	// would allocate one each; the keys are in canonical form, as Set
	// writes them.
	rw := responseOf(w)
	rw.catoValues = [...]string{model, cache, routeHeader(d)}
	vals := rw.catoValues[:]
	h := w.Header()
	h["X-Cato-Model"] = vals[0:1:1]
	h["X-Cato-Cache"] = vals[1:2:2]
	h["X-Cato-Route"] = vals[2:3:3]
}

// asciiSigns spells the signs router reasons use in ASCII, for a header.
var asciiSigns = strings.NewReplacer("≥", ">=", "≤", "<=", "…", "...")

// routeHeader summarises a decision in one ASCII header value.
func routeHeader(d router.Decision) string {
	// As fmt.Sprintf("%s; complexity=%.2f; reason=%s", ...), in one allocation.
	var num [32]byte
	x := strconv.AppendFloat(num[:0], d.Complexity, 'f', 2, 64)
	var b strings.Builder
	b.Grow(len(d.Primary) + len("; complexity=") + len(x) + len("; reason=") + len(d.Reason))
	b.WriteString(d.Primary)
	b.WriteString("; complexity=")
	b.Write(x)
	b.WriteString("; reason=")
	b.WriteString(d.Reason)
	v := b.String()
	// The signs are all non-ASCII, and Replace allocates even when it
	// replaces nothing.
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			v = asciiSigns.Replace(v)
			break
		}
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '_'
		}
		return r
	}, v)
}

func routingJSON(d router.Decision) json.RawMessage {
	if d.Fallbacks == nil {
		d.Fallbacks = []string{}
	}
	b, _ := json.Marshal(d)
	return b
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Header values of a server-sent event answer, shared by every stream:
// net/http only reads header values, and Header.Set would allocate one
// per value per request. The keys they go under are canonical, as Set
// writes them.
var (
	eventStreamHeader = []string{"text/event-stream"}
	noCacheHeader     = []string{"no-cache"}
	noHeader          = []string{"no"}
)

// startStream asks the orchestrator for q's stream and, when it has one,
// sends the headers of a server-sent event answer. An error before the
// stream is answered as any error and returned; the caller closes the
// stream it gets.
func (s *Server) startStream(w http.ResponseWriter, r *http.Request, q *orchestrator.Query) (*orchestrator.StreamAnswer, error) {
	sa, err := s.opt.Orchestrator.Stream(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return nil, err
	}
	s.setCatoHeaders(w, sa.Model, sa.CacheOutcome, sa.Routing)
	h := w.Header()
	h["Content-Type"] = eventStreamHeader
	h["Cache-Control"] = noCacheHeader
	h["X-Accel-Buffering"] = noHeader
	w.WriteHeader(http.StatusOK)
	return sa, nil
}

// streamFailed logs a stream that failed after its first chunk and returns
// the error to end it with; ok is false when the client is gone, and
// nothing is left to send. A stream the gateway's shutdown cut short ends
// with shutting_down.
func (s *Server) streamFailed(ctx context.Context, model string, err error) (body openai.ErrorBody, ok bool) {
	if shutDown(ctx) {
		_, body, _ = describe(errShuttingDown, requestID(ctx))
		return body, true
	}
	if ctx.Err() != nil {
		return body, false
	}
	s.opt.Log.WarnContext(ctx, "stream failed after its first chunk", "model", model, "err", err)
	_, body, _ = describe(err, requestID(ctx))
	return body, true
}

// streamChat answers with server-sent events and reports the model that
// answered, the text it streamed and the error that ended the stream.
// Errors before the first byte get a normal error answer; later ones an
// error event, since the status is already sent.
func (s *Server) streamChat(w http.ResponseWriter, r *http.Request, q *orchestrator.Query, req *openai.ChatRequest) (res answered) {
	start := time.Now()
	ctx := r.Context()
	sa, err := s.startStream(w, r, q)
	if err != nil {
		return answered{err: err}
	}
	defer sa.Close()
	defer func() { res.tokens, res.cost = tokensOf(sa.Usage(), sa.Cached), sa.CostUSD() }()
	rc := http.NewResponseController(w)

	id := "chatcmpl-" + requestID(ctx)
	created := start.Unix()
	send := func(v *openai.ChatResponse) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if openai.WriteEvent(w, b) != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// Role and text chunks, nearly all of a stream, are encoded by hand
	// into one buffer reused for the whole stream.
	var buf []byte
	sendChunk := func(c *llm.Chunk) bool {
		b, ok := openai.AppendChunk(append(buf[:0], "data: "...), id, created, sa.Model, c)
		if !ok {
			return send(openai.NewChunk(id, created, sa.Model, c))
		}
		buf = append(b, '\n', '\n')
		if _, err := w.Write(buf); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// An OpenAI-compatible upstream's chunks (Raw) go to the client as
	// they came, rewritten only as docs/api.md lists: the chunk that
	// carries Cato's account is held back (the usage chunk when the client
	// asked for usage, else the last with a finish_reason), and usage the
	// client did not ask for is dropped.
	rw := openai.Rewrite{ID: id, Model: sa.Model, KeepModel: !orchestrator.IsAuto(req.Model), DropUsage: !req.IncludeUsage}
	sendRaw := func(doc, cato []byte) bool {
		rw.Cato = cato
		b, ok := openai.AppendRewritten(append(buf[:0], "data: "...), doc, &rw)
		if !ok {
			return true // not an object: the adapter decoded it, so never
		}
		buf = append(b, '\n', '\n')
		if _, err := w.Write(buf); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	var held []byte    // the raw chunk held back
	var rawSeen bool   // the stream's chunks are raw
	var rawFinish bool // a raw chunk with a finish_reason was seen
	var finish *llm.Chunk
	var hidden *llm.HiddenStates
	for {
		c, err := sa.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if body, ok := s.streamFailed(ctx, sa.Model, err); ok {
				b, _ := json.Marshal(body)
				_ = openai.WriteEvent(w, b)
				_ = rc.Flush()
			}
			return answered{model: sa.Model, text: sa.Text(), err: err}
		}
		if c.Raw != nil {
			rawSeen = true
			rawFinish = rawFinish || c.FinishReason != ""
			hold := false
			switch {
			case c.Usage != nil && req.IncludeUsage:
				hold = true
			case c.Usage != nil && !openai.HasChoices(c.Raw):
				continue // usage Cato asked for, not the client
			case c.FinishReason != "" && !req.IncludeUsage:
				hold = true
			}
			if !hold {
				if !sendRaw(c.Raw, nil) {
					return answered{model: sa.Model, text: sa.Text(), err: clientGone(ctx)}
				}
				continue
			}
			if held != nil && !sendRaw(held, nil) {
				return answered{model: sa.Model, text: sa.Text(), err: clientGone(ctx)}
			}
			held = append(held[:0], c.Raw...)
			continue
		}
		if c.HiddenStates != nil {
			hidden = c.HiddenStates
		}
		c.Usage, c.HiddenStates = nil, nil
		if c.FinishReason != "" {
			// Held back so that it can carry Cato's account of the request.
			fc := c
			finish = &fc
			continue
		}
		if c.Content == "" && c.Role == "" && len(c.ToolCalls) == 0 && len(c.Extra) == 0 {
			continue
		}
		if !sendChunk(&c) {
			return answered{model: sa.Model, text: sa.Text(), err: clientGone(ctx)}
		}
	}
	// Saving the turn before the stream ends lets the client's next turn
	// find it.
	_ = sa.Close()
	ab := getAnswerBuf()
	defer putAnswerBuf(ctx, ab) // after the last event is written: nothing below keeps ab
	ab.meta = openai.Meta{
		Model: sa.Model, Cached: sa.Cached, FallbackUsed: sa.FallbackUsed, SessionID: q.SessionID,
		Routing: ab.routingJSON(sa.Routing), LatencyMS: ms(time.Since(start)), CostUSD: sa.CostUSD(),
		HiddenStates: hidden, Degraded: sa.Degraded,
	}
	meta := &ab.meta
	if held != nil {
		catoJSON, err := ab.metaJSON()
		if err != nil || !sendRaw(held, catoJSON) {
			return answered{model: sa.Model, text: sa.Text(), err: clientGone(ctx)}
		}
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
		_ = rc.Flush()
		return answered{model: sa.Model, text: sa.Text(), cached: sa.Cached, cost: sa.CostUSD()}
	}
	if finish == nil && !(rawSeen && rawFinish && req.IncludeUsage) {
		finish = &llm.Chunk{FinishReason: llm.FinishStop}
	}
	var last *openai.ChatResponse
	if finish != nil {
		last = openai.NewChunk(id, created, sa.Model, finish)
	}
	if req.IncludeUsage {
		if last != nil && !send(last) {
			return answered{model: sa.Model, text: sa.Text(), err: clientGone(ctx)}
		}
		last = openai.NewChunk(id, created, sa.Model, &llm.Chunk{})
		last.Usage = openai.UsageOf(sa.Usage())
	}
	last.Cato = meta
	if !send(last) {
		return answered{model: sa.Model, text: sa.Text(), err: clientGone(ctx)}
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	_ = rc.Flush()
	return answered{model: sa.Model, text: sa.Text(), cached: sa.Cached, cost: sa.CostUSD()}
}

// clientGone is the error of a stream the client stopped reading: the
// request's cancellation, or context.Canceled when the write failed first.
func clientGone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.Canceled
}

// listModels lists auto and the configured models the caller's key may
// use.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list"}
	created := s.start.Unix()
	out.Data = append(out.Data, model{ID: orchestrator.Auto, Object: "model", Created: created, OwnedBy: "cato"})
	limits := &keyOf(r.Context()).Limits
	for _, m := range s.opt.Models {
		if limits.Allows(m) {
			out.Data = append(out.Data, model{ID: m, Object: "model", Created: created, OwnedBy: "cato"})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// closeHTTP1 has an HTTP/1.x connection closed after the answer, when
// the request's body is left unread. An HTTP/2 stream's unread body is
// the server's to reset, stream by stream; a "Connection: close" there
// would end the connection, and every other client request it carries.
func closeHTTP1(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor < 2 {
		w.Header().Set("Connection", "close")
	}
}
