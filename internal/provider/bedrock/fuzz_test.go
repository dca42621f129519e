package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/awstest"
)

// FuzzBuildConversation feeds arbitrary requests to the translators: they
// must not panic, and what they accept must be a conversation Bedrock's
// rules allow and that both wire forms can be made of.
func FuzzBuildConversation(f *testing.F) {
	files, _ := filepath.Glob("testdata/requests/*.json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"Messages":[{"Role":"tool","ToolCallID":"x"}]}`))
	f.Add([]byte(`{"Messages":[{"Role":"user","Content":"q"},{"Role":"assistant","ToolCalls":[{"ID":"a","Name":"n","Arguments":"{\"x\":1e400}"}]},{"Role":"tool","ToolCallID":"a"}]}`))
	f.Add([]byte(`{"Messages":[{"Role":"user","Content":" "}],"ToolChoice":"none","Tools":[{"Name":"t","Parameters":null}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req llm.Request
		if json.Unmarshal(raw, &req) != nil {
			return
		}
		conv, err := buildConversation(&req)
		if err != nil {
			var bad *badRequestError
			if !errors.As(err, &bad) {
				t.Fatalf("buildConversation error %v is not a bad request", err)
			}
			return
		}
		if conv.turns[0].role != roleUser {
			t.Fatalf("first turn is %s", conv.turns[0].role)
		}
		for i, tn := range conv.turns {
			if len(tn.blocks) == 0 {
				t.Fatalf("turn %d is empty", i)
			}
			if i > 0 && conv.turns[i-1].role == tn.role {
				t.Fatalf("turns %d and %d are both %s", i-1, i, tn.role)
			}
		}
		if conv.maxTokens <= 0 {
			t.Fatalf("max tokens %d", conv.maxTokens)
		}
		// Numbers JSON accepts but Go cannot hold (1e400) may still fail
		// here; that must be an error, not a panic.
		_, _ = toConverse(conv)
		if _, err := toMessages(conv); err != nil {
			t.Fatalf("toMessages: %v", err)
		}
	})
}

// encodeFrames returns frames in event-stream framing.
func encodeFrames(t testing.TB, frames []frame) []byte {
	var buf bytes.Buffer
	ew := awstest.NewEventWriter(&buf)
	for _, fr := range frames {
		var err error
		if fr.exception {
			err = ew.Exception(fr.typ, fr.payload)
		} else {
			err = ew.Event(fr.typ, fr.payload)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// FuzzStreamDecoding feeds arbitrary bytes, as the body of a
// ConverseStream or InvokeModelWithResponseStream answer, through the SDK's
// event-stream decoder and the stream translators: the stream must end with
// io.EOF or a *provider.Error, never panic or hang.
func FuzzStreamDecoding(f *testing.F) {
	awstest.Isolate(f)
	converse := encodeFrames(f, converseFrames())
	invoke := encodeFrames(f, invokeFrames())
	f.Add(false, converse)
	f.Add(true, invoke)
	f.Add(false, converse[:len(converse)/2])
	f.Add(true, invoke[:len(invoke)-3])
	f.Add(false, encodeFrames(f, append(converseFrames()[:2], frame{exception: true, typ: "modelStreamErrorException", payload: map[string]any{"message": "x"}})))
	f.Add(true, encodeFrames(f, []frame{anthropicChunk(`{"type":"error","error":{"type":"overloaded_error","message":"busy"}}`)}))
	f.Add(true, encodeFrames(f, []frame{anthropicChunk(`{"type":"content_block_delta","index":7,"delta":{"type":"input_json_delta","partial_json":"{"}}`)}))
	f.Add(false, []byte{0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, useInvoke bool, body []byte) {
		api := APIConverse
		if useInvoke {
			api = APIInvoke
		}
		ct := &awstest.CannedTransport{ContentType: "application/vnd.amazon.eventstream", Body: body}
		c, err := New(context.Background(), "bedrock_haiku", testModel(api), clientOf(ct), nil)
		if err != nil {
			t.Fatal(err)
		}
		end := make(chan error, 1)
		go func() { end <- drainStream(c) }()
		select {
		case err := <-end:
			checkStreamErr(t, err)
		case <-time.After(30 * time.Second): // a hang, not a busy machine
			buf := make([]byte, 1<<20)
			t.Fatalf("stream hangs on %x\n%s", body, buf[:runtime.Stack(buf, true)])
		}
	})
}

// drainStream reads a streamed answer of c to its end and returns the
// error that ended it.
func drainStream(c *Client) error {
	s, err := c.ChatStream(context.Background(), &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}})
	if err != nil {
		return err
	}
	defer s.Close()
	for range 10000 {
		if _, err := s.Next(); err != nil {
			return err
		}
	}
	return errors.New("stream did not end")
}

func checkStreamErr(t *testing.T, err error) {
	var pe *provider.Error
	if !errors.Is(err, io.EOF) && !errors.As(err, &pe) {
		t.Fatalf("stream error %v (%T) is neither io.EOF nor *provider.Error", err, err)
	}
}

// FuzzFromMessages feeds arbitrary InvokeModel answers and streamed events
// to their decoders.
func FuzzFromMessages(f *testing.F) {
	files, _ := filepath.Glob("testdata/answers/invoke_*.json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, fr := range invokeFrames() {
		f.Add(fr.payload.(map[string]any)["bytes"].([]byte))
	}
	f.Add([]byte(`{"type":"message_delta","usage":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if r, err := fromMessages(raw); err == nil && r == nil {
			t.Fatal("fromMessages returned neither answer nor error")
		}
		var s messagesState
		for range 3 {
			_, _, _ = s.chunk(raw)
		}
	})
}
