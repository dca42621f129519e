package openai

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/cato-gateway/cato/internal/llm"
)

// ResponseStream writes a streamed answer as the Responses API's
// server-sent events, each with its event: line and sequence_number:
//
//	response.created, response.in_progress
//	per message:  response.output_item.added, response.content_part.added,
//	              response.output_text.delta…, response.output_text.done,
//	              response.content_part.done, response.output_item.done
//	per call:     response.output_item.added,
//	              response.function_call_arguments.delta…,
//	              response.function_call_arguments.done, response.output_item.done
//	then          response.completed (or response.incomplete)
//
// or, when the answer breaks off, error and response.failed. Items open as
// the chunks start them and are all closed, in output order, when the
// answer ends, so that calls whose pieces interleave are still whole. The
// caller flushes after each method. A ResponseStream is not safe for
// concurrent use.
type ResponseStream struct {
	w    io.Writer
	resp *Response
	seq  int
	// msg is the output index of the open message, -1 when none is.
	msg  int
	text strings.Builder
	// calls maps a chunk's tool call index to its output index.
	calls map[int]int
	// args accumulates each call's arguments, by output index.
	args map[int]*strings.Builder
	buf  []byte
}

// NewResponseStream returns a stream of resp's events to w; resp is the
// response object in progress (NewResponse), which the stream completes.
func NewResponseStream(w io.Writer, resp *Response) *ResponseStream {
	return &ResponseStream{w: w, resp: resp, msg: -1, calls: map[int]int{}, args: map[int]*strings.Builder{}}
}

// streamEvent is one event; each type sets the fields it has.
type streamEvent struct {
	Type           string          `json:"type"`
	SequenceNumber int             `json:"sequence_number"`
	Response       *Response       `json:"response,omitempty"`
	OutputIndex    *int            `json:"output_index,omitempty"`
	ItemID         string          `json:"item_id,omitempty"`
	ContentIndex   *int            `json:"content_index,omitempty"`
	Item           *OutputItem     `json:"item,omitempty"`
	Part           *OutputText     `json:"part,omitempty"`
	Delta          *string         `json:"delta,omitempty"`
	Text           *string         `json:"text,omitempty"`
	Arguments      *string         `json:"arguments,omitempty"`
	Logprobs       json.RawMessage `json:"logprobs,omitempty"`
}

var noLogprobs = json.RawMessage(`[]`)

// write writes one event.
func (s *ResponseStream) write(ev *streamEvent) error {
	ev.SequenceNumber = s.seq
	s.seq++
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	s.buf = append(s.buf[:0], "event: "...)
	s.buf = append(s.buf, ev.Type...)
	s.buf = append(s.buf, "\ndata: "...)
	s.buf = append(s.buf, b...)
	s.buf = append(s.buf, '\n', '\n')
	_, err = s.w.Write(s.buf)
	return err
}

// Begin writes response.created and response.in_progress.
func (s *ResponseStream) Begin() error {
	if err := s.write(&streamEvent{Type: "response.created", Response: s.resp}); err != nil {
		return err
	}
	return s.write(&streamEvent{Type: "response.in_progress", Response: s.resp})
}

// Add writes the events of one chunk: text deltas and call pieces, opening
// the items they start.
func (s *ResponseStream) Add(c *llm.Chunk) error {
	if c.Content != "" {
		if err := s.openMessage(); err != nil {
			return err
		}
		s.text.WriteString(c.Content)
		content := c.Content
		idx := s.msg
		if err := s.write(&streamEvent{
			Type: "response.output_text.delta", ItemID: s.resp.Output[idx].ID, OutputIndex: &idx,
			ContentIndex: new(0), Delta: &content, Logprobs: noLogprobs,
		}); err != nil {
			return err
		}
	}
	for _, tc := range c.ToolCalls {
		idx, ok := s.calls[tc.Index]
		if !ok {
			idx = len(s.resp.Output)
			s.calls[tc.Index] = idx
			s.args[idx] = &strings.Builder{}
			s.resp.Output = append(s.resp.Output, OutputItem{
				Type: ItemFunctionCall, ID: itemID("fc", s.resp.ID, idx), Status: StatusInProgress,
				CallID: callID(tc.ID, s.resp.ID, idx), Name: tc.Name,
			})
			item := s.resp.Output[idx]
			if err := s.write(&streamEvent{Type: "response.output_item.added", OutputIndex: &idx, Item: &item}); err != nil {
				return err
			}
		}
		if tc.Arguments == "" {
			continue
		}
		s.args[idx].WriteString(tc.Arguments)
		delta := tc.Arguments
		if err := s.write(&streamEvent{
			Type: "response.function_call_arguments.delta", ItemID: s.resp.Output[idx].ID, OutputIndex: &idx, Delta: &delta,
		}); err != nil {
			return err
		}
	}
	return nil
}

// openMessage opens the message item unless it is open.
func (s *ResponseStream) openMessage() error {
	if s.msg >= 0 {
		return nil
	}
	idx := len(s.resp.Output)
	s.msg = idx
	s.resp.Output = append(s.resp.Output, OutputItem{Type: ItemMessage, ID: itemID("msg", s.resp.ID, idx), Status: StatusInProgress})
	item := s.resp.Output[idx]
	if err := s.write(&streamEvent{Type: "response.output_item.added", OutputIndex: &idx, Item: &item}); err != nil {
		return err
	}
	return s.write(&streamEvent{
		Type: "response.content_part.added", ItemID: item.ID, OutputIndex: &idx, ContentIndex: new(0), Part: &OutputText{},
	})
}

// Finish closes every item, in output order, and sets the response's
// status and usage from the finish reason and usage; it returns the final
// response, which Completed then sends. An answer with no output gets an
// empty message, as OpenAI answers.
func (s *ResponseStream) Finish(finish string, u llm.Usage) (*Response, error) {
	if len(s.resp.Output) == 0 {
		if err := s.openMessage(); err != nil {
			return nil, err
		}
	}
	status, reason := finishStatus(finish)
	for idx := range s.resp.Output {
		it := &s.resp.Output[idx]
		var err error
		if it.Type == ItemMessage {
			it.Status = status
			err = s.closeMessage(idx)
		} else {
			it.Status = StatusCompleted
			err = s.closeCall(idx)
		}
		if err != nil {
			return nil, err
		}
	}
	s.resp.finish(status, reason, u)
	return s.resp, nil
}

func (s *ResponseStream) closeMessage(idx int) error {
	it := &s.resp.Output[idx]
	text := s.text.String()
	it.Content = []OutputText{{Text: text}}
	if err := s.write(&streamEvent{
		Type: "response.output_text.done", ItemID: it.ID, OutputIndex: &idx, ContentIndex: new(0), Text: &text, Logprobs: noLogprobs,
	}); err != nil {
		return err
	}
	if err := s.write(&streamEvent{
		Type: "response.content_part.done", ItemID: it.ID, OutputIndex: &idx, ContentIndex: new(0), Part: &it.Content[0],
	}); err != nil {
		return err
	}
	item := *it
	return s.write(&streamEvent{Type: "response.output_item.done", OutputIndex: &idx, Item: &item})
}

func (s *ResponseStream) closeCall(idx int) error {
	it := &s.resp.Output[idx]
	it.Arguments = s.args[idx].String()
	args := it.Arguments
	if err := s.write(&streamEvent{
		Type: "response.function_call_arguments.done", ItemID: it.ID, OutputIndex: &idx, Arguments: &args,
	}); err != nil {
		return err
	}
	item := *it
	return s.write(&streamEvent{Type: "response.output_item.done", OutputIndex: &idx, Item: &item})
}

// Completed writes the last event: response.completed, or
// response.incomplete for an answer cut short by its token limit or a
// content filter. meta is Cato's account of the request.
func (s *ResponseStream) Completed(meta *Meta) error {
	s.resp.Cato = meta
	typ := "response.completed"
	if s.resp.Status == StatusIncomplete {
		typ = "response.incomplete"
	}
	return s.write(&streamEvent{Type: typ, Response: s.resp})
}

// Fail writes the events of an answer that broke off: error, with the
// error's code and message, then response.failed.
func (s *ResponseStream) Fail(e ErrorObject, meta *Meta) error {
	ev := struct {
		Type           string  `json:"type"`
		SequenceNumber int     `json:"sequence_number"`
		Code           *string `json:"code"`
		Message        string  `json:"message"`
		Param          *string `json:"param"`
	}{"error", s.seq, e.Code, e.Message, e.Param}
	s.seq++
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(s.w, "event: error\ndata: "+string(b)+"\n\n"); err != nil {
		return err
	}
	code := e.Type
	if e.Code != nil {
		code = *e.Code
	}
	s.resp.Status = StatusFailed
	s.resp.Error = &ResponseError{Code: code, Message: e.Message}
	s.resp.Cato = meta
	return s.write(&streamEvent{Type: "response.failed", Response: s.resp})
}
