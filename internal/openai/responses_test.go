package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with the golden file path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// inputs returns the test inputs of dir with suffix, by name.
func inputs(t *testing.T, dir, suffix string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "responses", dir, "*"+suffix))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no inputs in %s: %v", dir, err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(p, suffix)] = b
	}
	return out
}

func indentJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("indenting %s: %v", b, err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// referenced resolves item references in tests: msg_abc_0 is an earlier
// assistant answer, anything else is unknown.
func referenced(id string) ([]llm.Message, error) {
	if id == "msg_abc_0" {
		return []llm.Message{{Role: llm.RoleAssistant, Content: "Let me look both up."}}, nil
	}
	return nil, errors.New("unknown item " + id)
}

// TestResponsesRequestGolden translates each Responses request of
// testdata/responses/requests into the chat completions body an
// OpenAI-compatible upstream receives.
func TestResponsesRequestGolden(t *testing.T) {
	for base, body := range inputs(t, "requests", ".json") {
		t.Run(filepath.Base(base), func(t *testing.T) {
			req, err := DecodeResponsesRequest(body)
			if err != nil {
				t.Fatalf("DecodeResponsesRequest: %v", err)
			}
			conv, err := req.Conversation(nil, referenced)
			if err != nil {
				t.Fatalf("Conversation: %v", err)
			}
			chat, err := EncodeRequest(req.ChatRequest(conv), "up-model", req.Stream)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			golden(t, base+".golden", indentJSON(t, chat))
		})
	}
}

// answerRequest is the request the answers and streams of the golden
// tests reply to.
const answerRequest = `{"model":"auto","input":"Weather in Paris and Tokyo?","instructions":"Be brief.","metadata":{"k":"v"},
	"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"},"strict":false}],"max_output_tokens":64}`

func decodeAnswerRequest(t *testing.T) *ResponsesRequest {
	t.Helper()
	req, err := DecodeResponsesRequest([]byte(answerRequest))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestResponsesAnswerGolden turns each upstream chat completion of
// testdata/responses/answers into Cato's Responses API answer.
func TestResponsesAnswerGolden(t *testing.T) {
	req := decodeAnswerRequest(t)
	for base, body := range inputs(t, "answers", ".json") {
		t.Run(filepath.Base(base), func(t *testing.T) {
			out := answerOf(t, req, body)
			b, err := json.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, base+".golden", indentJSON(t, b))
		})
	}
}

func answerOf(t *testing.T, req *ResponsesRequest, chat []byte) *Response {
	t.Helper()
	var cr ChatResponse
	if err := json.Unmarshal(chat, &cr); err != nil {
		t.Fatal(err)
	}
	ans, err := cr.ToResponse()
	if err != nil {
		t.Fatal(err)
	}
	out := NewResponse("resp_test", 1700000000, "bedrock_haiku", req)
	out.Complete(ans)
	return out
}

// streamOf writes the events of an upstream chat completions stream and
// returns the transcript and the final response.
func streamOf(t *testing.T, req *ResponsesRequest, sse []byte) (string, *Response) {
	t.Helper()
	var out bytes.Buffer
	rs := NewResponseStream(&out, NewResponse("resp_test", 1700000000, "bedrock_haiku", req))
	if err := rs.Begin(); err != nil {
		t.Fatal(err)
	}
	er := NewEventReader(bytes.NewReader(sse))
	var finish string
	var usage llm.Usage
	for {
		data, err := er.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if string(data) == Done {
			break
		}
		var cr ChatResponse
		if err := json.Unmarshal(data, &cr); err != nil {
			t.Fatal(err)
		}
		c := cr.ToChunk()
		if c.FinishReason != "" {
			finish = c.FinishReason
		}
		if c.Usage != nil {
			usage = *c.Usage
		}
		if err := rs.Add(&c); err != nil {
			t.Fatal(err)
		}
	}
	final, err := rs.Finish(finish, usage)
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Completed(&Meta{Model: "bedrock_haiku"}); err != nil {
		t.Fatal(err)
	}
	return out.String(), final
}

// TestResponseStreamGolden turns each upstream chat completions stream of
// testdata/responses/streams into the Responses API's events, and checks
// that the events number themselves in order.
func TestResponseStreamGolden(t *testing.T) {
	req := decodeAnswerRequest(t)
	for base, sse := range inputs(t, "streams", ".sse") {
		t.Run(filepath.Base(base), func(t *testing.T) {
			transcript, _ := streamOf(t, req, sse)
			golden(t, base+".golden", []byte(transcript))
			er := NewEventReader(strings.NewReader(transcript))
			for n := 0; ; n++ {
				data, err := er.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				var ev struct {
					Seq *int `json:"sequence_number"`
				}
				if err := json.Unmarshal(data, &ev); err != nil || ev.Seq == nil || *ev.Seq != n {
					t.Fatalf("event %d = %s; want sequence_number %d", n, data, n)
				}
			}
		})
	}
}

// TestStreamAndAnswerAgree checks that a streamed answer ends with the
// same response object as the same answer unstreamed.
func TestStreamAndAnswerAgree(t *testing.T) {
	req := decodeAnswerRequest(t)
	for _, tt := range []struct{ answer, stream string }{
		{"text.json", "text.sse"},
	} {
		body, err := os.ReadFile(filepath.Join("testdata", "responses", "answers", tt.answer))
		if err != nil {
			t.Fatal(err)
		}
		sse, err := os.ReadFile(filepath.Join("testdata", "responses", "streams", tt.stream))
		if err != nil {
			t.Fatal(err)
		}
		want := answerOf(t, req, body)
		_, got := streamOf(t, req, sse)
		got.Cato = nil
		wb, _ := json.Marshal(want)
		gb, _ := json.Marshal(got)
		if diff := cmp.Diff(string(indentJSON(t, wb)), string(indentJSON(t, gb))); diff != "" {
			t.Errorf("%s vs %s (-answer +stream):\n%s", tt.answer, tt.stream, diff)
		}
	}
}

func TestResponseStreamFail(t *testing.T) {
	var out bytes.Buffer
	rs := NewResponseStream(&out, NewResponse("resp_x", 1, "m", decodeAnswerRequest(t)))
	_ = rs.Begin()
	_ = rs.Add(&llm.Chunk{Content: "Hal"})
	if err := rs.Fail(NewError(TypeServer, "upstream_error", "", "the model went away").Error, nil); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"event: error\ndata: {\"type\":\"error\",\"sequence_number\":5,\"code\":\"upstream_error\",\"message\":\"the model went away\",\"param\":null}\n\n",
		"event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":6,",
		`"status":"failed","background":false,"error":{"code":"upstream_error","message":"the model went away"}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks %q:\n%s", want, got)
		}
	}
}

func TestDecodeResponsesRequestErrors(t *testing.T) {
	tests := []struct {
		name, body, param string
	}{
		{"not an object", `[1]`, ""},
		{"no model", `{"input":"hi"}`, "model"},
		{"no input", `{"model":"m"}`, "input"},
		{"input of the wrong type", `{"model":"m","input":3}`, "input"},
		{"built-in tool", `{"model":"m","input":"hi","tools":[{"type":"web_search"}]}`, "tools[0].type"},
		{"nameless function", `{"model":"m","input":"hi","tools":[{"type":"function"}]}`, "tools[0].name"},
		{"built-in tool choice", `{"model":"m","input":"hi","tool_choice":{"type":"file_search"}}`, "tool_choice.type"},
		{"bad tool choice mode", `{"model":"m","input":"hi","tool_choice":"sometimes"}`, "tool_choice"},
		{"unknown item", `{"model":"m","input":[{"type":"computer_call"}]}`, "input[0].type"},
		{"roleless message", `{"model":"m","input":[{"content":"x"}]}`, "input[0].role"},
		{"bad role", `{"model":"m","input":[{"role":"tool","content":"x"}]}`, "input[0].role"},
		{"file input", `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}`, "input[0].content"},
		{"image by file id", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]}`, "input[0].content"},
		{"call without id", `{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}`, "input[0].call_id"},
		{"output without call", `{"model":"m","input":[{"type":"function_call_output","output":"x"}]}`, "input[0].call_id"},
		{"empty reference", `{"model":"m","input":[{"type":"item_reference"}]}`, "input[0].id"},
		{"schema without name", `{"model":"m","input":"x","text":{"format":{"type":"json_schema","schema":{}}}}`, "text.format.name"},
		{"unknown format", `{"model":"m","input":"x","text":{"format":{"type":"yaml"}}}`, "text.format.type"},
		{"temperature", `{"model":"m","input":"x","temperature":3}`, "temperature"},
		{"negative limit", `{"model":"m","input":"x","max_output_tokens":-1}`, "max_output_tokens"},
		{"background", `{"model":"m","input":"x","background":true}`, "background"},
		{"conversation", `{"model":"m","input":"x","conversation":"conv_1"}`, "conversation"},
		{"logprobs", `{"model":"m","input":"x","top_logprobs":2}`, "top_logprobs"},
		{"unknown cato option", `{"model":"m","input":"x","cato":{"colour":"red"}}`, "cato"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeResponsesRequest([]byte(tt.body))
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("DecodeResponsesRequest(%s) = %v; want a *RequestError", tt.body, err)
			}
			if re.Param != tt.param {
				t.Errorf("param = %q (%v); want %q", re.Param, err, tt.param)
			}
		})
	}
}

func TestStoredResponseContinues(t *testing.T) {
	req, err := DecodeResponsesRequest([]byte(`{"model":"m","input":[{"role":"user","content":"Weather in Paris and Tokyo?"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	conv, err := req.Conversation(nil, referenced)
	if err != nil {
		t.Fatal(err)
	}
	out := NewResponse(NewResponseID(), 1, "m", req)
	out.Complete(&llm.Response{
		Message: llm.Message{Role: llm.RoleAssistant, Content: "Checking.", ToolCalls: []llm.ToolCall{
			{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`},
			{ID: "call_b", Name: "get_weather", Arguments: `{"city":"Tokyo"}`},
		}},
		FinishReason: llm.FinishToolCalls,
	})
	rec, err := (&StoredResponse{Conversation: conv, Output: out.Output}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	stored, err := UnmarshalStoredResponse(rec)
	if err != nil {
		t.Fatal(err)
	}
	turn := llm.Message{Role: llm.RoleAssistant, Content: "Checking.", ToolCalls: []llm.ToolCall{
		{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		{ID: "call_b", Name: "get_weather", Arguments: `{"city":"Tokyo"}`},
	}}
	want := []llm.Message{{Role: llm.RoleUser, Content: "Weather in Paris and Tokyo?"}, turn}
	if diff := cmp.Diff(want, stored.Messages()); diff != "" {
		t.Errorf("Messages() mismatch (-want +got):\n%s", diff)
	}

	// The next request answers the calls; its items refer to the stored
	// message by id.
	msgID, callID := out.Output[0].ID, out.Output[2].ID
	for _, id := range []string{msgID, callID} {
		if resp, ok := ResponseOfItem(id); !ok || resp != out.ID {
			t.Errorf("ResponseOfItem(%q) = %q, %v; want %q", id, resp, ok, out.ID)
		}
	}
	next, err := DecodeResponsesRequest([]byte(`{"model":"m","input":[
		{"type":"item_reference","id":"` + msgID + `"},
		{"type":"function_call_output","call_id":"call_a","output":"18C"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := next.Conversation(stored.Conversation, func(id string) ([]llm.Message, error) {
		m, ok := stored.Item(id)
		if !ok {
			return nil, errors.New("not found")
		}
		return m, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want = []llm.Message{want[0], {Role: llm.RoleAssistant, Content: "Checking."}, {Role: llm.RoleTool, ToolCallID: "call_a", Content: "18C"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Conversation mismatch (-want +got):\n%s", diff)
	}
}

// TestStoredResponseCallsJoinLastTurn: a stored conversation that ends
// with an assistant message, continued after a response that only made
// calls, reaches the upstream with the calls on that message. Stored
// messages are Cato's own (no Raw), and a message a call joins is no
// longer the one sent.
func TestStoredResponseCallsJoinLastTurn(t *testing.T) {
	conv := []llm.Message{{Role: llm.RoleUser, Content: "Weather in Paris?"}, {Role: llm.RoleAssistant, Content: "Let me check."}}
	first, err := DecodeResponsesRequest([]byte(`{"model":"m","input":"Weather in Paris?"}`))
	if err != nil {
		t.Fatal(err)
	}
	out := NewResponse(NewResponseID(), 1, "m", first)
	out.Complete(&llm.Response{
		Message:      llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		FinishReason: llm.FinishToolCalls,
	})
	rec, err := (&StoredResponse{Conversation: conv, Output: out.Output}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	stored, err := UnmarshalStoredResponse(rec)
	if err != nil {
		t.Fatal(err)
	}
	next, err := DecodeResponsesRequest([]byte(`{"model":"m","previous_response_id":"` + out.ID + `","input":[{"type":"function_call_output","call_id":"call_a","output":"18C"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := next.Conversation(stored.Messages(), referenced)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeRequest(next.ChatRequest(msgs), "up", false)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"role":"user","content":"Weather in Paris?"},` +
		`{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
		`{"role":"tool","content":"18C","tool_call_id":"call_a"}]`
	if got := members(t, b)["messages"]; got != want {
		t.Errorf("messages = %s;\nwant %s", got, want)
	}
}

func TestResponseOfItem(t *testing.T) {
	for id, want := range map[string]string{
		"msg_0a1b_0": "resp_0a1b", "fc_0a1b_12": "resp_0a1b", "msg_0a1b": "", "rs_0a1b_0": "", "msg__0": "", "fc_x_y": "",
	} {
		got, ok := ResponseOfItem(id)
		if got != want || ok != (want != "") {
			t.Errorf("ResponseOfItem(%q) = %q, %v; want %q", id, got, ok, want)
		}
	}
}

// FuzzDecodeResponsesRequest checks that no input panics the decoder, that
// every error is a *RequestError, and that every request it accepts has a
// model and translates to a chat request that encodes.
func FuzzDecodeResponsesRequest(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "responses", "requests", "*.json"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{}`, `null`, `{"model":"m","input":[]}`, `{"model":"m","input":[null]}`,
		`{"model":"m","input":[{"role":"user","content":[null]}]}`,
		`{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call","call_id":"d","name":"f","arguments":""}]}`,
		`{"model":"m","input":"x","text":{"format":null},"tools":null,"tool_choice":null}`,
		`{"model":"m","previous_response_id":"resp_1","input":[{"type":"item_reference","id":"msg_1_0"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeResponsesRequest(body)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *RequestError", err)
			}
			return
		}
		if req.Model == "" {
			t.Fatalf("accepted a request without a model: %q", body)
		}
		conv, err := req.Conversation(nil, func(string) ([]llm.Message, error) {
			return []llm.Message{{Role: llm.RoleAssistant, Content: "ref"}}, nil
		})
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("Conversation error %v is not a *RequestError", err)
			}
			return
		}
		if _, err := EncodeRequest(req.ChatRequest(conv), "up", req.Stream); err != nil {
			t.Fatalf("EncodeRequest of an accepted request: %v", err)
		}
	})
}
