package simulated

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/simulator"
)

var _ provider.Provider = (*Client)(nil)

// Client answers as one simulated model. It is safe for concurrent use.
type Client struct {
	engine *simulator.Engine
	seq    atomic.Uint64
}

// New returns a client answering with engine.
func New(engine *simulator.Engine) *Client { return &Client{engine: engine} }

// errReset stands for a connection cut off mid-answer.
var errReset = errors.New("simulated connection reset")

func (c *Client) begin(ctx context.Context, req *llm.Request) error {
	if req.N > 1 {
		return &provider.Error{Model: c.engine.Name(), StatusCode: 400, Code: provider.CodeInvalidRequest, Param: "n",
			Err: fmt.Errorf("n: the simulated model answers with one choice; %d were asked for", req.N)}
	}
	switch c.engine.Fault() {
	case simulator.StallFault:
		<-ctx.Done()
		return c.fail(504, provider.CodeTimeout, true, ctx.Err())
	case simulator.ErrorFault:
		st := c.engine.Config().ErrorStatus
		return c.fail(st, provider.CodeSimulatedError, provider.StatusRetryable(st), fmt.Errorf("simulated failure (status %d)", st))
	case simulator.ResetFault:
		return c.fail(502, provider.CodeConnectionReset, true, errReset)
	}
	if err := c.engine.Wait(ctx); err != nil {
		return c.fail(504, provider.CodeTimeout, true, err)
	}
	return nil
}

func (c *Client) fail(status int, code provider.Code, retryable bool, err error) error {
	pe := &provider.Error{Model: c.engine.Name(), StatusCode: status, Code: code, Retryable: retryable, Err: err}
	if status == 429 {
		pe.RetryAfter = time.Second
	}
	return pe
}

func (c *Client) id() string { return "sim-" + strconv.FormatUint(c.seq.Add(1), 36) }

// Chat implements provider.Provider.
func (c *Client) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	if err := c.begin(ctx, req); err != nil {
		return nil, err
	}
	reply := c.engine.Answer(req)
	resp := &llm.Response{
		ID: c.id(), UpstreamModel: "simulated/" + c.engine.Name(),
		Message:      llm.Message{Role: llm.RoleAssistant, Content: reply.Text()},
		FinishReason: llm.FinishStop, Usage: reply.Usage,
	}
	if req.HiddenStates {
		resp.HiddenStates = c.engine.HiddenStates(req)
	}
	return resp, nil
}

// ChatStream implements provider.Provider.
func (c *Client) ChatStream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if err := c.begin(ctx, req); err != nil {
		return nil, err
	}
	s := &stream{ctx: ctx, c: c, id: c.id(), reply: c.engine.Answer(req), gap: c.engine.TokenGap()}
	if req.HiddenStates {
		s.hidden = c.engine.HiddenStates(req)
	}
	return s, nil
}

type stream struct {
	ctx    context.Context
	c      *Client
	id     string
	reply  simulator.Reply
	gap    time.Duration
	hidden *llm.HiddenStates
	next   int
	done   bool
}

func (s *stream) Next() (llm.Chunk, error) {
	if s.done {
		return llm.Chunk{}, io.EOF
	}
	if err := s.ctx.Err(); err != nil {
		return llm.Chunk{}, err
	}
	model := "simulated/" + s.c.engine.Name()
	if s.next < len(s.reply.Tokens) {
		if s.next > 0 && s.gap > 0 {
			t := time.NewTimer(s.gap)
			select {
			case <-s.ctx.Done():
				t.Stop()
				return llm.Chunk{}, s.ctx.Err()
			case <-t.C:
			}
		}
		ch := llm.Chunk{ID: s.id, UpstreamModel: model, Content: s.reply.Tokens[s.next]}
		if s.next == 0 {
			ch.Role = llm.RoleAssistant
		}
		s.next++
		return ch, nil
	}
	s.done = true
	u := s.reply.Usage
	return llm.Chunk{ID: s.id, UpstreamModel: model, FinishReason: llm.FinishStop, Usage: &u, HiddenStates: s.hidden}, nil
}

func (s *stream) Close() error { s.done = true; return nil }
