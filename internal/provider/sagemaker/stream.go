package sagemaker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/provider"
)

// errIncomplete is returned when a stream ends before the model finished.
var errIncomplete = errors.New("stream ended before the model finished")

// partReader reads the bytes of a response stream's PayloadParts as one
// byte stream: a part may hold several server-sent events or a piece of
// one. A ModelStreamError or InternalStreamFailure ends it with that error.
type partReader struct {
	ctx context.Context
	es  *sagemakerruntime.InvokeEndpointWithResponseStreamEventStream
	buf []byte
}

func (r *partReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		select {
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		case ev, open := <-r.es.Events():
			if !open {
				if err := r.es.Err(); err != nil {
					return 0, err
				}
				return 0, io.EOF
			}
			if part, ok := ev.(*types.ResponseStreamMemberPayloadPart); ok {
				r.buf = part.Value.Bytes
			}
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// stream is an llm.Stream over InvokeEndpointWithResponseStream.
type stream struct {
	ctx        context.Context
	c          *Client
	es         *sagemakerruntime.InvokeEndpointWithResponseStreamEventStream
	events     *openai.EventReader
	dec        streamDecoder
	wantHidden bool

	pending  []llm.Chunk
	hidden   rawHidden
	finished bool  // a chunk carried a finish reason
	err      error // sticky: io.EOF or the error that ended the stream
}

func newStream(ctx context.Context, c *Client, es *sagemakerruntime.InvokeEndpointWithResponseStreamEventStream, wantHidden bool) *stream {
	return &stream{
		ctx: ctx, c: c, es: es, wantHidden: wantHidden,
		events: openai.NewEventReader(&partReader{ctx: ctx, es: es}),
		dec:    c.payload.streamDecoder(),
	}
}

// Next implements llm.Stream.
func (s *stream) Next() (llm.Chunk, error) {
	for len(s.pending) == 0 && s.err == nil {
		s.read()
	}
	if len(s.pending) > 0 {
		c := s.pending[0]
		s.pending = s.pending[1:]
		return c, nil
	}
	return llm.Chunk{}, s.err
}

// read decodes the next event into s.pending, or sets s.err.
func (s *stream) read() {
	data, err := s.events.Next()
	if err != nil {
		if errors.Is(err, io.EOF) && s.finished {
			s.finish()
			return
		}
		if errors.Is(err, io.EOF) {
			err = &provider.Error{Model: s.c.name, StatusCode: http.StatusBadGateway, Code: provider.CodeIncompleteStream, Retryable: true, Err: errIncomplete}
		}
		s.err = Classify(s.ctx, s.c.name, err)
		return
	}
	chunks, h, done, err := s.dec.event(data)
	if err != nil {
		s.err = badAnswer(s.c.name, err)
		return
	}
	if h.present() {
		s.hidden = h
	}
	for i := range chunks {
		s.finished = s.finished || chunks[i].FinishReason != ""
		chunks[i].UpstreamModel = s.c.endpoint
	}
	s.pending = chunks
	if done {
		s.finish()
	}
}

// finish ends the stream after the pending chunks, attaching the reduced
// hidden states to the last of them (or to a chunk of their own).
func (s *stream) finish() {
	s.err = io.EOF
	if !s.wantHidden {
		return
	}
	hs, err := s.c.reduce(s.ctx, s.hidden)
	if err != nil {
		s.err = err
		return
	}
	if hs == nil {
		return
	}
	if n := len(s.pending); n > 0 {
		s.pending[n-1].HiddenStates = hs
		return
	}
	s.pending = []llm.Chunk{{UpstreamModel: s.c.endpoint, HiddenStates: hs}}
}

// Close implements llm.Stream. It ends the SDK's reader goroutine and
// releases the connection.
func (s *stream) Close() error {
	if s.err == nil {
		s.err = fmt.Errorf("sagemaker stream: %w", io.ErrClosedPipe)
	}
	s.pending = nil
	return s.es.Close()
}
