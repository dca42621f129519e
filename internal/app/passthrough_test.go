package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/simulator"
)

// recordingUpstream is an OpenAI-compatible server that records the body of
// every request exactly as it arrived and answers with answer (a JSON
// document) or, when the request streams, with events (the data of each
// server-sent event, [DONE] added).
type recordingUpstream struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newRecordingUpstream(t *testing.T, answer string, events []string) *recordingUpstream {
	u := &recordingUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.bodies = append(u.bodies, body)
		u.mu.Unlock()
		var req struct {
			Stream bool `json:"stream"`
		}
		_ = json.Unmarshal(body, &req)
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, answer)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range events {
			_, _ = io.WriteString(w, "data: "+ev+"\n\n")
		}
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *recordingUpstream) last(t *testing.T) []byte {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.bodies) == 0 {
		t.Fatal("the upstream got no request")
	}
	return u.bodies[len(u.bodies)-1]
}

// topMembers returns the members of the JSON object b, each exactly as
// written, less those named in drop.
func topMembers(t *testing.T, b []byte, drop ...string) map[string]string {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, b)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		out[k] = string(v)
	}
	for _, k := range drop {
		delete(out, k)
	}
	return out
}

// sseData reads every event's data from a stream until [DONE] (included).
func sseData(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

const passthroughConfig = "cache: {enabled: false}\n"

// Answers with every field OpenAI sends, null versus absent included.
const (
	textAnswer = `{"id":"chatcmpl-up1","object":"chat.completion","created":1700000000,"model":"gpt-4o-2024-08-06",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Paris.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":19,"completion_tokens":2,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},` +
		`"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},` +
		`"service_tier":"default","system_fingerprint":"fp_07871e2ad8"}`
	toolAnswer = `{"id":"chatcmpl-up2","object":"chat.completion","created":1700000001,"model":"gpt-4o-2024-08-06",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[` +
		`{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},` +
		`{"id":"call_b","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}],"refusal":null,"annotations":[]},` +
		`"logprobs":null,"finish_reason":"tool_calls"}],` +
		`"usage":{"prompt_tokens":80,"completion_tokens":40,"total_tokens":120,"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":0}},` +
		`"service_tier":"default","system_fingerprint":"fp_1"}`
	twoChoices = `{"id":"chatcmpl-up3","object":"chat.completion","created":1700000002,"model":"gpt-4o-mini",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Heads.","refusal":null,"annotations":[]},"logprobs":{"content":[{"token":"Heads","logprob":-0.1,"bytes":[72],"top_logprobs":[]}],"refusal":null},"finish_reason":"stop"},` +
		`{"index":1,"message":{"role":"assistant","content":"Tails.","refusal":null,"annotations":[]},"logprobs":{"content":[{"token":"Tails","logprob":-0.2,"bytes":[84],"top_logprobs":[]}],"refusal":null},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13},"system_fingerprint":null}`
	refusalAnswer = `{"id":"chatcmpl-up4","object":"chat.completion","created":1700000003,"model":"gpt-4o-2024-08-06",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that.","annotations":[]},"logprobs":null,"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19},"service_tier":"default","system_fingerprint":"fp_2"}`
)

// Streams as OpenAI sends them: a tool call's first chunk has content
// null, arguments come in pieces, n > 1 chunks carry their index, and the
// usage chunk (asked for by Cato on every stream) has no choices.
var (
	toolEvents = []string{
		`{"id":"chatcmpl-s1","object":"chat.completion.chunk","created":1700000010,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`,
		`{"id":"chatcmpl-s1","object":"chat.completion.chunk","created":1700000010,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]},"logprobs":null,"finish_reason":null}],"usage":null}`,
		`{"id":"chatcmpl-s1","object":"chat.completion.chunk","created":1700000010,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Oslo\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}`,
		`{"id":"chatcmpl-s1","object":"chat.completion.chunk","created":1700000010,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}`,
		`{"id":"chatcmpl-s1","object":"chat.completion.chunk","created":1700000010,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":80,"completion_tokens":20,"total_tokens":100,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`,
	}
	twoChoiceEvents = []string{
		`{"id":"chatcmpl-s2","object":"chat.completion.chunk","created":1700000011,"model":"gpt-4o-mini","system_fingerprint":"fp_3","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"chatcmpl-s2","object":"chat.completion.chunk","created":1700000011,"model":"gpt-4o-mini","system_fingerprint":"fp_3","choices":[{"index":1,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"chatcmpl-s2","object":"chat.completion.chunk","created":1700000011,"model":"gpt-4o-mini","system_fingerprint":"fp_3","choices":[{"index":0,"delta":{"content":"Heads"},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"chatcmpl-s2","object":"chat.completion.chunk","created":1700000011,"model":"gpt-4o-mini","system_fingerprint":"fp_3","choices":[{"index":1,"delta":{"content":"Tails"},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"chatcmpl-s2","object":"chat.completion.chunk","created":1700000011,"model":"gpt-4o-mini","system_fingerprint":"fp_3","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`,
		`{"id":"chatcmpl-s2","object":"chat.completion.chunk","created":1700000011,"model":"gpt-4o-mini","system_fingerprint":"fp_3","choices":[{"index":1,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`,
		`{"id":"chatcmpl-s2","object":"chat.completion.chunk","created":1700000011,"model":"gpt-4o-mini","system_fingerprint":"fp_3","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}`,
	}
)

// TestPassThroughExactness sends requests through Cato to an
// OpenAI-compatible upstream and checks, member by member and byte for
// byte, that the upstream gets every field the client sent but those Cato
// owns, and that the client gets every field the upstream answered, whole
// or streamed, but those docs/api.md says Cato changes: id, model when Cato
// routed, the usage chunk the client did not ask for, and Cato's own cato
// object.
func TestPassThroughExactness(t *testing.T) {
	tests := []struct {
		name string
		// request is the client's body; model and messages are added.
		request string
		model   string
		answer  string
		events  []string
		// wantSent are members of the upstream's body, exactly.
		wantSent map[string]string
		// wantModel is the answer's model.
		wantModel string
	}{
		{
			name:    "text answer with usage details, fingerprint, tier, refusal and annotations",
			request: `"max_completion_tokens":300,"seed":7,"logprobs":false,"metadata":{"app":"x"},"store":false,"service_tier":"auto","reasoning_effort":"low","x_unknown":[1,{"a":null}]`,
			model:   "bedrock_haiku", answer: textAnswer,
			wantSent: map[string]string{
				"model": `"up-haiku"`, "max_completion_tokens": `300`, "seed": `7`, "logprobs": `false`, "metadata": `{"app":"x"}`,
				"store": `false`, "service_tier": `"auto"`, "reasoning_effort": `"low"`, "x_unknown": `[1,{"a":null}]`,
			},
			wantModel: "gpt-4o-2024-08-06",
		},
		{
			name: "parallel strict tool calls with content null",
			request: `"tools":[{"type":"function","function":{"name":"get_weather","strict":true,"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}],` +
				`"tool_choice":"required","parallel_tool_calls":true,"max_tokens":50`,
			model: "bedrock_haiku", answer: toolAnswer, events: toolEvents,
			wantSent: map[string]string{
				"tools":       `[{"type":"function","function":{"name":"get_weather","strict":true,"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}]`,
				"tool_choice": `"required"`, "parallel_tool_calls": `true`, "max_tokens": `50`,
			},
			wantModel: "gpt-4o-2024-08-06",
		},
		{
			name:    "n=2 with logprobs: every choice comes back",
			request: `"n":2,"logprobs":true,"top_logprobs":0,"response_format":{"type":"json_schema","json_schema":{"name":"coin","strict":true,"schema":{"type":"object"}}}`,
			model:   "bedrock_haiku", answer: twoChoices, events: twoChoiceEvents,
			wantSent: map[string]string{
				"n": `2`, "logprobs": `true`, "top_logprobs": `0`,
				"response_format": `{"type":"json_schema","json_schema":{"name":"coin","strict":true,"schema":{"type":"object"}}}`,
			},
			wantModel: "gpt-4o-mini",
		},
		{
			name:    "a refusal, routed by Cato: model is the configured name",
			request: `"prediction":{"type":"content","content":"x"},"modalities":["text"]`,
			model:   "auto", answer: refusalAnswer,
			wantSent:  map[string]string{"model": `"up-haiku"`, "prediction": `{"type":"content","content":"x"}`, "modalities": `["text"]`},
			wantModel: "bedrock_haiku",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newRecordingUpstream(t, tt.answer, tt.events)
			base := gateway(t, upstreamConfig(up.URL)+passthroughConfig)
			body := `{"model":"` + tt.model + `","messages":[{"role":"user","content":"What is the capital of France?"}],` + tt.request + `}`

			resp, got := post(t, base+"/v1/chat/completions", body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			checkSent(t, up.last(t), tt.wantSent, false)
			want := topMembers(t, []byte(tt.answer), "id", "model")
			if diff := cmp.Diff(want, topMembers(t, got, "id", "model", "cato")); diff != "" {
				t.Errorf("answer mismatch (-upstream +client):\n%s", diff)
			}
			a := decode[struct {
				ID, Model string
				Cato      *struct{ Model string }
			}](t, got)
			if !strings.HasPrefix(a.ID, "chatcmpl-") || a.ID == "chatcmpl-up1" || a.Model != tt.wantModel || a.Cato == nil || a.Cato.Model != "bedrock_haiku" {
				t.Errorf("id, model, cato = %q, %q, %+v; want Cato's id, %q and Cato's object", a.ID, a.Model, a.Cato, tt.wantModel)
			}
			if tt.events == nil {
				return
			}
			for _, usage := range []bool{false, true} {
				sb := strings.Replace(body, `{"model"`, `{"stream":true,"stream_options":{"include_usage":`+map[bool]string{false: "false", true: "true"}[usage]+`},"model"`, 1)
				resp, got := post(t, base+"/v1/chat/completions", sb)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("stream status %d: %s", resp.StatusCode, got)
				}
				checkSent(t, up.last(t), tt.wantSent, true)
				checkStream(t, tt.events, sseData(t, bytes.NewReader(got)), usage, tt.wantModel)
			}
		})
	}
}

// checkSent checks that the upstream's body has the members of want,
// exactly, and none of Cato's own.
func checkSent(t *testing.T, body []byte, want map[string]string, stream bool) {
	t.Helper()
	sent := topMembers(t, body)
	for k, v := range want {
		if sent[k] != v {
			t.Errorf("upstream got %s = %s; want %s exactly", k, sent[k], v)
		}
	}
	for _, k := range []string{"cato", "session_id"} {
		if _, ok := sent[k]; ok {
			t.Errorf("upstream got Cato's own %s", k)
		}
	}
	if stream && (sent["stream"] != "true" || !strings.Contains(sent["stream_options"], `"include_usage":true`)) {
		t.Errorf("upstream stream, stream_options = %s, %s; want true and include_usage", sent["stream"], sent["stream_options"])
	}
}

// checkStream checks the client's events against the upstream's: the same
// chunks in the same order, member by member, but for the id, the model
// when Cato routed, the usage chunk a client that did not ask for usage
// does not get, and the cato object on the last chunk.
func checkStream(t *testing.T, upstream, client []string, usage bool, wantModel string) {
	t.Helper()
	var want []string
	for _, ev := range upstream {
		if !usage && strings.Contains(ev, `"choices":[]`) {
			continue
		}
		want = append(want, ev)
	}
	if len(client) != len(want)+1 || client[len(client)-1] != "[DONE]" {
		t.Fatalf("client got %d events, want %d and [DONE]:\n%s", len(client), len(want)+1, strings.Join(client, "\n"))
	}
	for i, ev := range want {
		got := topMembers(t, []byte(client[i]), "id", "model", "cato")
		w := topMembers(t, []byte(ev), "id", "model")
		if !usage {
			// Asked by Cato, not by the client: as OpenAI does without
			// include_usage, the chunks carry no usage member.
			delete(w, "usage")
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("usage %v, event %d mismatch (-upstream +client):\n%s", usage, i, diff)
		}
		c := decode[struct {
			Model string
			Cato  json.RawMessage
		}](t, []byte(client[i]))
		if c.Model != wantModel {
			t.Errorf("usage %v, event %d: model %q; want %q", usage, i, c.Model, wantModel)
		}
		if last := i == len(want)-1; last != (c.Cato != nil) {
			t.Errorf("usage %v, event %d: cato %s; want it on the last chunk only", usage, i, c.Cato)
		}
	}
}

// TestMoreThanOneChoice: n > 1 gets every choice where the upstream can
// give them (the simulator's OpenAI wire, through an OpenAI-compatible
// model), and a 400 naming n where the provider cannot (the in-process
// simulated provider, like Bedrock and SageMaker); never one choice.
func TestMoreThanOneChoice(t *testing.T) {
	sim := httptest.NewServer(simulator.NewServer(simulator.Options{}, nil, slog.New(slog.DiscardHandler)))
	defer sim.Close()
	compat := gateway(t, upstreamConfig(sim.URL))
	body := `{"model":"bedrock_haiku","n":3,"messages":[{"role":"user","content":"What is 2+2?"}]}`
	resp, b := post(t, compat+"/v1/chat/completions", body)
	a := decode[struct {
		Choices []struct {
			Index   int
			Message struct{ Content string }
		}
	}](t, b)
	if resp.StatusCode != 200 || len(a.Choices) != 3 || a.Choices[2].Index != 2 || a.Choices[2].Message.Content == "" {
		t.Errorf("n=3 through an OpenAI-compatible model: %d %s; want 3 choices", resp.StatusCode, b)
	}
	resp, b = post(t, compat+"/v1/chat/completions", strings.Replace(body, `"n":3`, `"n":3,"stream":true`, 1))
	events := sseData(t, bytes.NewReader(b))
	seen := map[int]bool{}
	for _, ev := range events {
		var c struct{ Choices []struct{ Index int } }
		_ = json.Unmarshal([]byte(ev), &c)
		for _, ch := range c.Choices {
			seen[ch.Index] = true
		}
	}
	if resp.StatusCode != 200 || len(seen) != 3 {
		t.Errorf("n=3 streamed: status %d, choice indexes %v; want 0, 1 and 2", resp.StatusCode, seen)
	}

	simulated := gateway(t, simConfig, "TEST_KEY_A=key-a")
	for _, stream := range []string{"false", "true"} {
		resp, b := post(t, simulated+"/v1/chat/completions", `{"model":"bedrock_haiku","n":2,"stream":`+stream+`,"messages":[{"role":"user","content":"hi"}]}`,
			"Authorization", "Bearer key-a")
		e := decode[struct {
			Error struct{ Type, Param string }
		}](t, b)
		if resp.StatusCode != 400 || e.Error.Type != "invalid_request_error" || e.Error.Param != "n" {
			t.Errorf("stream %s, n=2 on a one-choice provider: %d %s; want a 400 invalid_request_error naming n", stream, resp.StatusCode, b)
		}
	}
}
