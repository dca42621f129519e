package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// fakeOpenAI is a deterministic OpenAI for the compatibility suite: it
// answers /v1/chat/completions and /v1/responses in OpenAI's own shapes,
// written out here independently of Cato's encoders, so that a client run
// against it directly and through Cato can be compared. What it answers
// depends on the request:
//
//   - tool results in the conversation: "Paris: 18C, Tokyo: 24C.";
//   - a response_format or text.format asking for JSON: the capital as
//     {"city":"Paris","country":"France"};
//   - a tool_choice naming a function other than get_weather: a call of it
//     with that object (how some clients ask for structured output);
//   - a question about the weather with tools: two parallel get_weather
//     calls, whose streamed arguments arrive in pieces;
//   - "trigger a 400" / "trigger a 429": OpenAI's error bodies;
//   - max_tokens on chat completions: the 400 OpenAI's reasoning models
//     answer, since they take max_completion_tokens only;
//   - anything else: a text answer.
//
// Every answer reports usage with its details (cached and reasoning
// tokens).
type fakeOpenAI struct{}

const (
	fakeModel   = "gpt-compat"
	capitalJSON = `{"city":"Paris","country":"France"}`
	toolsAnswer = "Paris: 18C, Tokyo: 24C."
)

// fakeAnswer is what the fake answers, in either API.
type fakeAnswer struct {
	text  string
	calls []fakeCall
	// status and errBody make an error answer.
	status  int
	errBody string
	// maxOutput is the request's max_output_tokens as sent, which a
	// response echoes; empty for none.
	maxOutput string
}

type fakeCall struct{ id, name, args string }

// fakeRequest is what the fake reads of a request, in either API.
type fakeRequest struct {
	lastUser    string
	toolResults bool
	wantsJSON   bool
	forced      string // a function tool_choice names
	hasTools    bool
	maxTokens   bool   // a chat request sent max_tokens
	maxOutput   string // a Responses request's max_output_tokens as sent
}

func (r fakeRequest) answer() fakeAnswer {
	switch {
	case r.maxTokens:
		return fakeAnswer{status: 400, errBody: `{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}`}
	case strings.Contains(r.lastUser, "trigger a 400"):
		return fakeAnswer{status: 400, errBody: `{"error":{"message":"Invalid value for 'temperature': the fake refuses this prompt.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}`}
	case strings.Contains(r.lastUser, "trigger a 429"):
		return fakeAnswer{status: 429, errBody: `{"error":{"message":"Rate limit reached for gpt-compat on requests per min (RPM): Limit 3, Used 3, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`}
	case r.toolResults:
		return fakeAnswer{text: toolsAnswer}
	case r.wantsJSON:
		return fakeAnswer{text: capitalJSON}
	case r.forced != "" && r.forced != "get_weather":
		return fakeAnswer{calls: []fakeCall{{"call_struct", r.forced, capitalJSON}}}
	case r.hasTools && strings.Contains(r.lastUser, "weather"):
		return fakeAnswer{calls: []fakeCall{{"call_paris", "get_weather", `{"city":"Paris"}`}, {"call_tokyo", "get_weather", `{"city":"Tokyo"}`}}}
	case strings.Contains(r.lastUser, "capital of France"):
		return fakeAnswer{text: "The capital of France is Paris."}
	}
	return fakeAnswer{text: "You said: " + r.lastUser}
}

func (f fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var stream bool
	_ = json.Unmarshal(body["stream"], &stream)
	switch r.URL.Path {
	case "/v1/chat/completions":
		req := readChatRequest(body)
		ans := req.answer()
		if ans.status != 0 {
			fakeError(w, ans)
			return
		}
		var so struct {
			IncludeUsage bool `json:"include_usage"`
		}
		_ = json.Unmarshal(body["stream_options"], &so)
		if stream {
			chatStream(w, ans, so.IncludeUsage)
			return
		}
		chatAnswer(w, ans)
	case "/v1/responses":
		req := readResponsesRequest(body)
		ans := req.answer()
		ans.maxOutput = req.maxOutput
		if ans.status != 0 {
			fakeError(w, ans)
			return
		}
		if stream {
			responsesStream(w, ans)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, responseObject(ans, "completed"))
	default:
		http.NotFound(w, r)
	}
}

func fakeError(w http.ResponseWriter, ans fakeAnswer) {
	w.Header().Set("Content-Type", "application/json")
	if ans.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(ans.status)
	fmt.Fprint(w, ans.errBody)
}

func readChatRequest(body map[string]json.RawMessage) fakeRequest {
	var msgs []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	_ = json.Unmarshal(body["messages"], &msgs)
	var req fakeRequest
	for _, m := range msgs {
		switch m.Role {
		case "user":
			req.lastUser, req.toolResults = contentText(m.Content), false
		case "tool":
			req.toolResults = true
		}
	}
	var rf struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body["response_format"], &rf)
	req.wantsJSON = rf.Type == "json_schema" || rf.Type == "json_object"
	var tc struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	_ = json.Unmarshal(body["tool_choice"], &tc)
	req.forced = tc.Function.Name
	req.hasTools = len(body["tools"]) > 2
	_, req.maxTokens = body["max_tokens"]
	return req
}

func readResponsesRequest(body map[string]json.RawMessage) fakeRequest {
	var req fakeRequest
	var s string
	if json.Unmarshal(body["input"], &s) == nil {
		req.lastUser = s
	}
	var items []struct {
		Type    string          `json:"type"`
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	_ = json.Unmarshal(body["input"], &items)
	for _, it := range items {
		switch {
		case it.Role == "user":
			req.lastUser, req.toolResults = contentText(it.Content), false
		case it.Type == "function_call_output":
			req.toolResults = true
		}
	}
	var text struct {
		Format struct {
			Type string `json:"type"`
		} `json:"format"`
	}
	_ = json.Unmarshal(body["text"], &text)
	req.wantsJSON = text.Format.Type == "json_schema" || text.Format.Type == "json_object"
	var tc struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(body["tool_choice"], &tc)
	req.forced = tc.Name
	req.hasTools = len(body["tools"]) > 2
	req.maxOutput = string(body["max_output_tokens"])
	return req
}

// contentText is the text of a message's content: a string or parts.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

const (
	chatUsage      = `{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":3,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`
	responsesUsage = `{"input_tokens":19,"input_tokens_details":{"cached_tokens":3},"output_tokens":10,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":29}`
)

func chatAnswer(w http.ResponseWriter, ans fakeAnswer) {
	content, finish, calls := quote(ans.text), "stop", ""
	if len(ans.calls) > 0 {
		content, finish = "null", "tool_calls"
		var parts []string
		for _, c := range ans.calls {
			parts = append(parts, fmt.Sprintf(`{"id":%q,"type":"function","function":{"name":%q,"arguments":%s}}`, c.id, c.name, quote(c.args)))
		}
		calls = `,"tool_calls":[` + strings.Join(parts, ",") + `]`
		if ans.calls[0].id == "call_struct" {
			finish = "stop"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"chatcmpl-fake1","object":"chat.completion","created":1700000000,"model":%q,`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":%s,"refusal":null,"annotations":[]%s},"logprobs":null,"finish_reason":%q}],`+
		`"usage":%s,"service_tier":"default","system_fingerprint":"fp_fake"}`, fakeModel, content, calls, finish, chatUsage)
}

func chatStream(w http.ResponseWriter, ans fakeAnswer, includeUsage bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(delta, finish string) {
		fmt.Fprintf(w, `data: {"id":"chatcmpl-fake1","object":"chat.completion.chunk","created":1700000000,"model":%q,"service_tier":"default","system_fingerprint":"fp_fake","choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}]`, fakeModel, delta, finish)
		if includeUsage {
			fmt.Fprint(w, `,"usage":null`)
		}
		fmt.Fprint(w, "}\n\n")
	}
	finish := `"stop"`
	if len(ans.calls) == 0 {
		chunk(`{"role":"assistant","content":"","refusal":null}`, "null")
		for _, piece := range splitText(ans.text) {
			chunk(`{"content":`+quote(piece)+`}`, "null")
		}
	} else {
		for i, c := range ans.calls {
			first := fmt.Sprintf(`{"index":%d,"id":%q,"type":"function","function":{"name":%q,"arguments":""}}`, i, c.id, c.name)
			if i == 0 {
				chunk(`{"role":"assistant","content":null,"tool_calls":[`+first+`],"refusal":null}`, "null")
			} else {
				chunk(`{"tool_calls":[`+first+`]}`, "null")
			}
			for _, piece := range splitArgs(c.args) {
				chunk(fmt.Sprintf(`{"tool_calls":[{"index":%d,"function":{"arguments":%s}}]}`, i, quote(piece)), "null")
			}
		}
		if ans.calls[0].id != "call_struct" {
			finish = `"tool_calls"`
		}
	}
	chunk(`{}`, finish)
	if includeUsage {
		fmt.Fprintf(w, `data: {"id":"chatcmpl-fake1","object":"chat.completion.chunk","created":1700000000,"model":%q,"service_tier":"default","system_fingerprint":"fp_fake","choices":[],"usage":%s}`+"\n\n", fakeModel, chatUsage)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// splitText cuts a text in three pieces, at word boundaries where it can.
func splitText(s string) []string {
	words := strings.SplitAfter(s, " ")
	if len(words) < 3 {
		return []string{s}
	}
	n := len(words) / 3
	return []string{strings.Join(words[:n], ""), strings.Join(words[n:2*n], ""), strings.Join(words[2*n:], "")}
}

// splitArgs cuts JSON arguments in two, mid-token, as models stream them.
func splitArgs(s string) []string {
	if len(s) < 4 {
		return []string{s}
	}
	return []string{s[:len(s)/2], s[len(s)/2:]}
}

func messageItem(text, status string) string {
	return fmt.Sprintf(`{"id":"msg_fake1","type":"message","status":%q,"content":[{"type":"output_text","annotations":[],"logprobs":[],"text":%s}],"role":"assistant"}`, status, quote(text))
}

func callItem(i int, c fakeCall, status, args string) string {
	return fmt.Sprintf(`{"id":"fc_fake%d","type":"function_call","status":%q,"arguments":%s,"call_id":%q,"name":%q}`, i, status, quote(args), c.id, c.name)
}

// responseObject is the whole response; status in_progress has no output
// and no usage.
func responseObject(ans fakeAnswer, status string) string {
	output, usage, maxOutput := "[]", "null", ans.maxOutput
	if maxOutput == "" {
		maxOutput = "null"
	}
	if status != "in_progress" {
		var items []string
		if len(ans.calls) == 0 {
			items = append(items, messageItem(ans.text, "completed"))
		}
		for i, c := range ans.calls {
			items = append(items, callItem(i, c, "completed", c.args))
		}
		output, usage = "["+strings.Join(items, ",")+"]", responsesUsage
	}
	return fmt.Sprintf(`{"id":"resp_fake1","object":"response","created_at":1700000000,"status":%q,"background":false,"error":null,`+
		`"incomplete_details":null,"instructions":null,"max_output_tokens":%s,"model":%q,"output":%s,"parallel_tool_calls":true,`+
		`"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"service_tier":"default","store":true,"temperature":1.0,`+
		`"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":%s,"user":null,"metadata":{}}`,
		status, maxOutput, fakeModel, output, usage)
}

// responsesStream writes OpenAI's event sequence: each item opened,
// streamed and closed before the next.
func responsesStream(w http.ResponseWriter, ans fakeAnswer) {
	w.Header().Set("Content-Type", "text/event-stream")
	seq := 0
	event := func(typ, rest string) {
		fmt.Fprintf(w, "event: %s\ndata: {\"type\":%q,\"sequence_number\":%d,%s}\n\n", typ, typ, seq, rest)
		seq++
	}
	event("response.created", `"response":`+responseObject(ans, "in_progress"))
	event("response.in_progress", `"response":`+responseObject(ans, "in_progress"))
	if len(ans.calls) == 0 {
		event("response.output_item.added", `"output_index":0,"item":{"id":"msg_fake1","type":"message","status":"in_progress","content":[],"role":"assistant"}`)
		event("response.content_part.added", `"item_id":"msg_fake1","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}`)
		for _, piece := range splitText(ans.text) {
			event("response.output_text.delta", `"item_id":"msg_fake1","output_index":0,"content_index":0,"delta":`+quote(piece)+`,"logprobs":[]`)
		}
		event("response.output_text.done", `"item_id":"msg_fake1","output_index":0,"content_index":0,"text":`+quote(ans.text)+`,"logprobs":[]`)
		event("response.content_part.done", `"item_id":"msg_fake1","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":`+quote(ans.text)+`}`)
		event("response.output_item.done", `"output_index":0,"item":`+messageItem(ans.text, "completed"))
	}
	for i, c := range ans.calls {
		event("response.output_item.added", fmt.Sprintf(`"output_index":%d,"item":%s`, i, callItem(i, c, "in_progress", "")))
		for _, piece := range splitArgs(c.args) {
			event("response.function_call_arguments.delta", fmt.Sprintf(`"item_id":"fc_fake%d","output_index":%d,"delta":%s`, i, i, quote(piece)))
		}
		event("response.function_call_arguments.done", fmt.Sprintf(`"item_id":"fc_fake%d","output_index":%d,"arguments":%s`, i, i, quote(c.args)))
		event("response.output_item.done", fmt.Sprintf(`"output_index":%d,"item":%s`, i, callItem(i, c, "completed", c.args)))
	}
	event("response.completed", `"response":`+responseObject(ans, "completed"))
}
