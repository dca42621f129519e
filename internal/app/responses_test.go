package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
)

// chatMessage is a message an upstream received.
type chatMessage struct {
	Role       string `json:"role"`
	Content    any    `json:"content"`
	ToolCallID string `json:"tool_call_id,omitempty"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls,omitempty"`
}

// responsesUpstream is an OpenAI-compatible upstream that records each
// chat request and answers: two parallel weather calls to a question
// about the weather that has no tool results yet, else a fixed text;
// streamed in pieces when asked.
type responsesUpstream struct {
	mu       sync.Mutex // guards requests
	requests []map[string]json.RawMessage
}

func (u *responsesUpstream) last(t *testing.T) ([]chatMessage, map[string]json.RawMessage) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.requests) == 0 {
		t.Fatal("the upstream got no request")
	}
	req := u.requests[len(u.requests)-1]
	var msgs []chatMessage
	if err := json.Unmarshal(req["messages"], &msgs); err != nil {
		t.Fatal(err)
	}
	return msgs, req
}

func (u *responsesUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	u.mu.Lock()
	u.requests = append(u.requests, req)
	u.mu.Unlock()
	var msgs []chatMessage
	_ = json.Unmarshal(req["messages"], &msgs)
	last := msgs[len(msgs)-1]
	calls := last.Role == "user" && strings.Contains(fmt.Sprint(last.Content), "weather")
	var stream bool
	_ = json.Unmarshal(req["stream"], &stream)
	usage := map[string]any{"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}
	if !stream {
		msg := map[string]any{"role": "assistant", "content": "Paris is the capital of France."}
		finish := "stop"
		if calls {
			finish = "tool_calls"
			msg = map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{
				map[string]any{"id": "call_p", "type": "function", "function": map[string]any{"name": "get_weather", "arguments": `{"city":"Paris"}`}},
				map[string]any{"id": "call_t", "type": "function", "function": map[string]any{"name": "get_weather", "arguments": `{"city":"Tokyo"}`}},
			}}
		}
		writeJSON(w, 200, map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "up",
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}}, "usage": usage,
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(delta map[string]any, finish any) {
		b, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "up",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		})
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	call := func(i int, id, name, args string) map[string]any {
		tc := map[string]any{"index": i, "function": map[string]any{"arguments": args}}
		if id != "" {
			tc["id"], tc["type"] = id, "function"
			tc["function"].(map[string]any)["name"] = name
		}
		return map[string]any{"tool_calls": []any{tc}}
	}
	if calls {
		send(call(0, "call_p", "get_weather", ""), nil)
		send(call(0, "", "", `{"city":`), nil)
		send(call(0, "", "", `"Paris"}`), nil)
		send(call(1, "call_t", "get_weather", `{"ci`), nil)
		send(call(1, "", "", `ty":"Tokyo"}`), nil)
		send(map[string]any{}, "tool_calls")
	} else {
		send(map[string]any{"role": "assistant", "content": ""}, nil)
		for _, piece := range []string{"Paris is ", "the capital ", "of France."} {
			send(map[string]any{"content": piece}, nil)
		}
		send(map[string]any{}, "stop")
	}
	b, _ := json.Marshal(map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "up", "choices": []any{}, "usage": usage})
	fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", b)
}

func responsesGateway(t *testing.T) (*responsesUpstream, string, openai.Client) {
	t.Helper()
	up := &responsesUpstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	base := gateway(t, upstreamConfig(srv.URL)+"cache: {enabled: false}\n")
	return up, base, openai.NewClient(option.WithBaseURL(base+"/v1"), option.WithAPIKey("k"), option.WithMaxRetries(0))
}

var weatherTool = responses.ToolParamOfFunction("get_weather", map[string]any{
	"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}},
	"required": []string{"city"}, "additionalProperties": false,
}, true)

// TestResponsesWithTheGoSDK drives /v1/responses with the official Go SDK:
// a text answer, a follow-up through previous_response_id, parallel tool
// calls and their results, and the errors.
func TestResponsesWithTheGoSDK(t *testing.T) {
	up, base, client := responsesGateway(t)
	ctx := context.Background()

	first, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model:        "bedrock_haiku",
		Instructions: openai.String("Be brief."),
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("What is the capital of France?")},
	})
	if err != nil {
		t.Fatalf("Responses.New: %v", err)
	}
	if first.OutputText() != "Paris is the capital of France." || first.Status != "completed" || !strings.HasPrefix(first.ID, "resp_") {
		t.Errorf("answer = %q, status %q, id %q; want the upstream's text, completed, resp_…", first.OutputText(), first.Status, first.ID)
	}
	if first.Usage.InputTokens != 20 || first.Usage.OutputTokens != 9 || first.Usage.TotalTokens != 29 {
		t.Errorf("usage = %+v; want the upstream's 20 + 9", first.Usage)
	}
	msgs, req := up.last(t)
	if len(msgs) != 2 || msgs[0].Role != "system" || msgs[0].Content != "Be brief." || msgs[1].Content != "What is the capital of France?" {
		t.Errorf("upstream messages = %+v; want the instructions as a system message, then the input", msgs)
	}
	if string(req["model"]) != `"up-haiku"` {
		t.Errorf("upstream model = %s; want the configured model id", req["model"])
	}

	// The next turn continues the stored conversation, without the first
	// turn's instructions.
	if _, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model:              "bedrock_haiku",
		PreviousResponseID: openai.String(first.ID),
		Input:              responses.ResponseNewParamsInputUnion{OfString: openai.String("And of Italy?")},
	}); err != nil {
		t.Fatalf("follow-up: %v", err)
	}
	msgs, _ = up.last(t)
	roles := []string{}
	for _, m := range msgs {
		roles = append(roles, m.Role+":"+fmt.Sprint(m.Content))
	}
	want := []string{"user:What is the capital of France?", "assistant:Paris is the capital of France.", "user:And of Italy?"}
	if diff := cmp.Diff(want, roles); diff != "" {
		t.Errorf("follow-up messages (-want +got):\n%s", diff)
	}

	// Parallel calls, then their results in the next turn.
	calls, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model: "bedrock_haiku",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("What is the weather in Paris and Tokyo?")},
		Tools: []responses.ToolUnionParam{weatherTool},
	})
	if err != nil {
		t.Fatalf("tool call: %v", err)
	}
	var got []string
	for _, it := range calls.Output {
		if fc := it.AsFunctionCall(); it.Type == "function_call" {
			got = append(got, fc.CallID+" "+fc.Name+" "+fc.Arguments)
		}
	}
	if diff := cmp.Diff([]string{`call_p get_weather {"city":"Paris"}`, `call_t get_weather {"city":"Tokyo"}`}, got); diff != "" {
		t.Errorf("function calls (-want +got):\n%s", diff)
	}
	_, req = up.last(t)
	if !strings.Contains(string(req["tools"]), `"strict":true`) {
		t.Errorf("upstream tools = %s; want strict passed on", req["tools"])
	}
	if _, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model:              "bedrock_haiku",
		PreviousResponseID: openai.String(calls.ID),
		Tools:              []responses.ToolUnionParam{weatherTool},
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfFunctionCallOutput("18C"),
			responses.ResponseInputItemParamOfFunctionCallOutput("24C"),
		}},
	}); err == nil {
		t.Error("function_call_output without call_id was accepted; want a 400")
	}
	out := func(id, v string) responses.ResponseInputItemUnionParam {
		item := responses.ResponseInputItemParamOfFunctionCallOutput(v)
		item.OfFunctionCallOutput.CallID = openai.String(id)
		return item
	}
	if _, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model:              "bedrock_haiku",
		PreviousResponseID: openai.String(calls.ID),
		Tools:              []responses.ToolUnionParam{weatherTool},
		Input:              responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{out("call_p", "18C"), out("call_t", "24C")}},
	}); err != nil {
		t.Fatalf("tool results: %v", err)
	}
	msgs, _ = up.last(t)
	if len(msgs) != 4 || len(msgs[1].ToolCalls) != 2 || msgs[2].ToolCallID != "call_p" || msgs[3].ToolCallID != "call_t" {
		t.Errorf("upstream messages = %+v; want the question, one assistant message with both calls, then both results", msgs)
	}

	for _, tt := range []struct {
		name   string
		params responses.ResponseNewParams
		status int
		code   string
	}{
		{"unknown previous response", responses.ResponseNewParams{
			Model: "bedrock_haiku", PreviousResponseID: openai.String("resp_nope"),
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		}, 400, "previous_response_not_found"},
		{"built-in tool", responses.ResponseNewParams{
			Model: "bedrock_haiku", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
			Tools: []responses.ToolUnionParam{{OfWebSearch: &responses.WebSearchToolParam{Type: "web_search"}}},
		}, 400, "invalid_request"},
		{"unknown model", responses.ResponseNewParams{
			Model: "gpt-nope", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		}, 404, "model_not_found"},
	} {
		_, err := client.Responses.New(ctx, tt.params)
		var apiErr *openai.Error
		if !asError(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Code != tt.code {
			t.Errorf("%s: error = %v; want %d %s", tt.name, err, tt.status, tt.code)
		}
	}

	// store: false keeps nothing to continue from.
	unstored, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model: "bedrock_haiku", Store: openai.Bool(false),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("What is the capital of France?")},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := post(t, base+"/v1/responses", `{"model":"bedrock_haiku","input":"more","previous_response_id":"`+unstored.ID+`"}`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"param":"previous_response_id"`) {
		t.Errorf("continuing an unstored response = %d %s; want 400 on previous_response_id", resp.StatusCode, body)
	}
}

// TestResponsesStreamWithTheGoSDK streams text and parallel calls whose
// arguments arrive in pieces, and checks the documented event sequence.
func TestResponsesStreamWithTheGoSDK(t *testing.T) {
	_, _, client := responsesGateway(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		input  string
		events []string
		check  func(t *testing.T, r responses.Response)
	}{
		{
			name:  "text",
			input: "What is the capital of France?",
			events: []string{
				"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
				"response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
				"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
			},
			check: func(t *testing.T, r responses.Response) {
				if r.OutputText() != "Paris is the capital of France." || r.Usage.TotalTokens != 29 {
					t.Errorf("final = %q, usage %+v; want the whole text and usage", r.OutputText(), r.Usage)
				}
			},
		},
		{
			name:  "parallel calls",
			input: "What is the weather in Paris and Tokyo?",
			events: []string{
				"response.created", "response.in_progress",
				"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
				"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
				"response.function_call_arguments.done", "response.output_item.done",
				"response.function_call_arguments.done", "response.output_item.done", "response.completed",
			},
			check: func(t *testing.T, r responses.Response) {
				if len(r.Output) != 2 || r.Output[0].AsFunctionCall().Arguments != `{"city":"Paris"}` || r.Output[1].AsFunctionCall().Arguments != `{"city":"Tokyo"}` {
					t.Errorf("final output = %+v; want both calls whole", r.Output)
				}
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stream := client.Responses.NewStreaming(ctx, responses.ResponseNewParams{
				Model: "bedrock_haiku",
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(tt.input)},
				Tools: []responses.ToolUnionParam{weatherTool},
			})
			var events []string
			var final responses.Response
			seq := int64(0)
			for stream.Next() {
				ev := stream.Current()
				events = append(events, ev.Type)
				if ev.SequenceNumber != seq {
					t.Errorf("event %s has sequence_number %d; want %d", ev.Type, ev.SequenceNumber, seq)
				}
				seq++
				if ev.Type == "response.completed" {
					final = ev.AsResponseCompleted().Response
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if diff := cmp.Diff(tt.events, events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			tt.check(t, final)
		})
	}
}
