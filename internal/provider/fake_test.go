package provider

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
)

// fakeProvider answers with the function fields; each call is counted.
type fakeProvider struct {
	chat   func(ctx context.Context, req *llm.Request) (*llm.Response, error)
	stream func(ctx context.Context, req *llm.Request) (llm.Stream, error)

	mu     sync.Mutex
	calls  int
	models []string // req.Model of each call
}

func (f *fakeProvider) count(req *llm.Request) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.models = append(f.models, req.Model)
	return f.calls
}

func (f *fakeProvider) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeProvider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	f.count(req)
	return f.chat(ctx, req)
}

func (f *fakeProvider) ChatStream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	f.count(req)
	return f.stream(ctx, req)
}

// chatSeq answers call n with replies[n-1]; the last reply repeats.
func chatSeq(replies ...func(ctx context.Context) (*llm.Response, error)) *fakeProvider {
	f := &fakeProvider{}
	f.chat = func(ctx context.Context, req *llm.Request) (*llm.Response, error) {
		f.mu.Lock()
		n := f.calls
		f.mu.Unlock()
		return replies[min(n, len(replies))-1](ctx)
	}
	return f
}

// streamSeq is chatSeq for streams.
func streamSeq(replies ...func(ctx context.Context) (llm.Stream, error)) *fakeProvider {
	f := &fakeProvider{}
	f.stream = func(ctx context.Context, req *llm.Request) (llm.Stream, error) {
		f.mu.Lock()
		n := f.calls
		f.mu.Unlock()
		return replies[min(n, len(replies))-1](ctx)
	}
	return f
}

func answer(text string) func(context.Context) (*llm.Response, error) {
	return func(context.Context) (*llm.Response, error) {
		return &llm.Response{Message: llm.Message{Role: llm.RoleAssistant, Content: text}, FinishReason: llm.FinishStop,
			Usage: llm.Usage{PromptTokens: 3, CompletionTokens: 1}}, nil
	}
}

func fail(err error) func(context.Context) (*llm.Response, error) {
	return func(context.Context) (*llm.Response, error) { return nil, err }
}

// stall never answers; it returns when ctx is done, as a real client does.
func stall(ctx context.Context) (*llm.Response, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func upstreamErr(status int, retryAfter time.Duration) *Error {
	return &Error{Model: "m", StatusCode: status, Code: Code(http.StatusText(status)), Retryable: StatusRetryable(status),
		RetryAfter: retryAfter, Err: errUpstream}
}

var errUpstream = errString("upstream said no")

type errString string

func (e errString) Error() string { return string(e) }

// chunkStream yields chunks with an optional pause before each, then ends
// with end (io.EOF for a clean end). It honours ctx like a real stream.
type chunkStream struct {
	ctx    context.Context
	chunks []llm.Chunk
	pause  time.Duration
	end    error
	closed bool
}

func (s *chunkStream) Next() (llm.Chunk, error) {
	if s.pause > 0 && len(s.chunks) > 0 {
		select {
		case <-time.After(s.pause):
		case <-s.ctx.Done():
			return llm.Chunk{}, s.ctx.Err()
		}
	}
	if err := s.ctx.Err(); err != nil {
		return llm.Chunk{}, err
	}
	if len(s.chunks) == 0 {
		return llm.Chunk{}, s.end
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

func (s *chunkStream) Close() error { s.closed = true; return nil }

func textChunks(parts ...string) []llm.Chunk {
	cs := make([]llm.Chunk, len(parts))
	for i, p := range parts {
		cs[i] = llm.Chunk{Content: p}
	}
	return cs
}

func streams(parts ...string) func(ctx context.Context) (llm.Stream, error) {
	return func(ctx context.Context) (llm.Stream, error) {
		return &chunkStream{ctx: ctx, chunks: textChunks(parts...), end: io.EOF}, nil
	}
}

func streamFails(err error) func(ctx context.Context) (llm.Stream, error) {
	return func(context.Context) (llm.Stream, error) { return nil, err }
}

// streamBreaks yields parts, then fails with err.
func streamBreaks(err error, parts ...string) func(ctx context.Context) (llm.Stream, error) {
	return func(ctx context.Context) (llm.Stream, error) {
		return &chunkStream{ctx: ctx, chunks: textChunks(parts...), end: err}, nil
	}
}

// streamStalls opens, then never yields a chunk until ctx is done.
func streamStalls(ctx context.Context) (llm.Stream, error) {
	return &chunkStream{ctx: ctx, chunks: textChunks("late"), pause: time.Hour, end: io.EOF}, nil
}

// readAll drains s and closes it.
func readAll(s llm.Stream) (string, error) {
	defer s.Close()
	var text string
	for {
		c, err := s.Next()
		if err == io.EOF {
			return text, nil
		}
		if err != nil {
			return text, err
		}
		text += c.Content
	}
}

// recorder collects CallDone events.
type recorder struct {
	mu  sync.Mutex
	got []CallDone
}

func (r *recorder) record(cd CallDone) {
	r.mu.Lock()
	r.got = append(r.got, cd)
	r.mu.Unlock()
}

func (r *recorder) events() []CallDone {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]CallDone(nil), r.got...)
}
