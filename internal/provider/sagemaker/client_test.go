package sagemaker

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
)

func ptr[T any](v T) *T { return &v }

func testRequest(hidden bool) *llm.Request {
	return &llm.Request{
		Messages:     []llm.Message{{Role: llm.RoleSystem, Content: "Be brief."}, {Role: llm.RoleUser, Content: "Who are you?"}},
		MaxTokens:    64,
		Temperature:  ptr(0.2),
		HiddenStates: hidden,
	}
}

const chatMLTest = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n"

// sglangHidden is SGLang's shape: the prompt's matrix, then one vector per
// generated token.
const sglangHidden = `[[[1,2,3],[3,4,5]],[5,6,7],[7,8,9]]`

func TestChat(t *testing.T) {
	tests := []struct {
		name     string
		model    Options
		hidden   bool
		wantBody map[string]any
		answer   string
		want     *llm.Response
	}{
		{
			name: "sglang with hidden states", model: Options{Payload: PayloadSGLang}, hidden: true,
			wantBody: map[string]any{"text": chatMLTest, "return_hidden_states": true,
				"sampling_params": map[string]any{"max_new_tokens": 64.0, "temperature": 0.2}},
			answer: `{"text":"I am the shadow self.","meta_info":{"id":"abc","finish_reason":{"type":"stop","matched":151645},
				"prompt_tokens":20,"completion_tokens":6,"hidden_states":` + sglangHidden + `}}`,
			want: &llm.Response{ID: "abc", UpstreamModel: testEndpoint, Message: llm.Message{Role: llm.RoleAssistant, Content: "I am the shadow self."},
				FinishReason: llm.FinishStop, Usage: llm.Usage{PromptTokens: 20, CompletionTokens: 6},
				HiddenStates: &llm.HiddenStates{Model: "shadow_self", Layer: -1, Pooling: "last_token", Dim: 3, Values: []float32{7, 8, 9}}},
		},
		{
			name: "sglang mean pooling capped", model: Options{Payload: PayloadSGLang, HiddenStates: HiddenStates{Layer: -1, Pooling: "mean", MaxDim: 2}}, hidden: true,
			wantBody: map[string]any{"text": chatMLTest, "return_hidden_states": true,
				"sampling_params": map[string]any{"max_new_tokens": 64.0, "temperature": 0.2}},
			answer: `{"text":"x","meta_info":{"finish_reason":{"type":"length"},"prompt_tokens":20,"completion_tokens":64,"hidden_states":` + sglangHidden + `}}`,
			want: &llm.Response{UpstreamModel: testEndpoint, Message: llm.Message{Role: llm.RoleAssistant, Content: "x"},
				FinishReason: llm.FinishLength, Usage: llm.Usage{PromptTokens: 20, CompletionTokens: 64},
				HiddenStates: &llm.HiddenStates{Model: "shadow_self", Layer: -1, Pooling: "mean", Dim: 2, Values: []float32{4, 5}}},
		},
		{
			name: "sglang without hidden states", model: Options{}, hidden: false,
			wantBody: map[string]any{"text": chatMLTest, "sampling_params": map[string]any{"max_new_tokens": 64.0, "temperature": 0.2}},
			answer:   `{"text":"hi","meta_info":{"finish_reason":{"type":"stop"},"prompt_tokens":20,"completion_tokens":1}}`,
			want: &llm.Response{UpstreamModel: testEndpoint, Message: llm.Message{Role: llm.RoleAssistant, Content: "hi"},
				FinishReason: llm.FinishStop, Usage: llm.Usage{PromptTokens: 20, CompletionTokens: 1}},
		},
		{
			name: "openai (vLLM) with hidden states", model: Options{Payload: PayloadOpenAI, ModelID: "shadow-self-8b"}, hidden: true,
			wantBody: map[string]any{"model": "shadow-self-8b", "max_tokens": 64.0, "temperature": 0.2, "return_hidden_states": true,
				"messages": []any{map[string]any{"role": "system", "content": "Be brief."}, map[string]any{"role": "user", "content": "Who are you?"}}},
			answer: `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"shadow-self-8b","choices":[{"index":0,
				"message":{"role":"assistant","content":"I am vLLM."},"finish_reason":"stop","hidden_states":[0.5,0.25]}],
				"usage":{"prompt_tokens":20,"completion_tokens":4,"total_tokens":24}}`,
			want: &llm.Response{ID: "chatcmpl-1", UpstreamModel: testEndpoint, Message: llm.Message{Role: llm.RoleAssistant, Content: "I am vLLM."},
				FinishReason: llm.FinishStop, Usage: llm.Usage{PromptTokens: 20, CompletionTokens: 4},
				HiddenStates: &llm.HiddenStates{Model: "shadow_self", Layer: -1, Pooling: "last_token", Dim: 2, Values: []float32{0.5, 0.25}}},
		},
		{
			name: "tgi", model: Options{Payload: PayloadTGI},
			wantBody: map[string]any{"inputs": chatMLTest, "parameters": map[string]any{"max_new_tokens": 64.0, "temperature": 0.2,
				"details": true, "return_full_text": false, "decoder_input_details": true}},
			answer: `[{"generated_text":"I am TGI.","details":{"finish_reason":"eos_token","generated_tokens":5,"seed":null,
				"prefill":[{"id":1,"text":"<s>","logprob":null},{"id":2,"text":"Who","logprob":-1.2}],"tokens":[]}}]`,
			want: &llm.Response{UpstreamModel: testEndpoint, Message: llm.Message{Role: llm.RoleAssistant, Content: "I am TGI."},
				FinishReason: llm.FinishStop, Usage: llm.Usage{PromptTokens: 2, CompletionTokens: 5}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeSageMaker(t, tt.model, func(w http.ResponseWriter, r *http.Request, call smCall) {
				if call.op != "invocations" {
					t.Errorf("op = %s; want invocations", call.op)
				}
				if ct, acc := call.header.Get("Content-Type"), call.header.Get("Accept"); ct != "application/json" || acc != "application/json" {
					t.Errorf("Content-Type, Accept = %q, %q; want application/json twice", ct, acc)
				}
				var got map[string]any
				if err := json.Unmarshal(call.body, &got); err != nil {
					t.Errorf("body %s: %v", call.body, err)
				}
				if diff := cmp.Diff(tt.wantBody, got); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Amzn-Invoked-Production-Variant", "AllTraffic")
				_, _ = w.Write([]byte(tt.answer))
			})
			got, err := c.Chat(context.Background(), testRequest(tt.hidden))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Chat (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVariantRouting(t *testing.T) {
	tests := []struct {
		name               string
		variant, hsVariant string
		hidden             bool
		want               string
	}{
		{"plain to variant", "plain", "hidden", false, "plain"},
		{"hidden to hidden variant", "plain", "hidden", true, "hidden"},
		{"hidden falls back to variant", "plain", "", true, "plain"},
		{"no variant lets SageMaker choose", "", "", true, ""},
		{"plain with only a hidden variant", "", "hidden", false, ""},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(tt.name, func(t *testing.T) {
				c := fakeSageMaker(t, Options{Variant: tt.variant, HiddenStatesVariant: tt.hsVariant}, func(w http.ResponseWriter, r *http.Request, call smCall) {
					if got := call.header.Get("X-Amzn-SageMaker-Target-Variant"); got != tt.want {
						t.Errorf("target variant = %q; want %q", got, tt.want)
					}
					writeAWSError(w, 400, "ValidationError", `{"Message":"stop here"}`)
				})
				if stream {
					_, _ = c.ChatStream(context.Background(), testRequest(tt.hidden))
				} else {
					_, _ = c.Chat(context.Background(), testRequest(tt.hidden))
				}
			})
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		code      string
		body      string
		wantHTTP  int
		wantCode  provider.Code
		retryable bool
	}{
		{"container 429", 424, "ModelError", `{"Message":"Received client error (429)","OriginalStatusCode":429,"OriginalMessage":"busy"}`, 429, "model_error", true},
		{"container 400", 424, "ModelError", `{"Message":"Received client error (400)","OriginalStatusCode":400,"OriginalMessage":"bad prompt"}`, 400, "model_error", false},
		{"container 500", 424, "ModelError", `{"Message":"Received server error (500)","OriginalStatusCode":500}`, 500, "model_error", true},
		{"validation", 400, "ValidationError", `{"Message":"Endpoint not found"}`, 400, "invalid_request", false},
		{"not ready", 429, "ModelNotReadyException", `{"Message":"warming up"}`, 429, "model_not_ready", true},
		{"unavailable", 503, "ServiceUnavailable", `{"Message":"later"}`, 503, "unavailable", true},
		{"internal failure", 500, "InternalFailure", `{"Message":"oops"}`, 500, "internal_error", true},
		{"internal dependency", 530, "InternalDependencyException", `{"Message":"oops"}`, 502, "internal_dependency", true},
		{"throttled", 400, "ThrottlingException", `{"message":"Rate exceeded"}`, 429, "throttled", true},
		{"access denied", 403, "AccessDeniedException", `{"message":"no"}`, 403, "access_denied", false},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				c := fakeSageMaker(t, Options{}, func(w http.ResponseWriter, r *http.Request, call smCall) {
					writeAWSError(w, tt.status, tt.code, tt.body)
				})
				var err error
				if stream {
					_, err = c.ChatStream(context.Background(), testRequest(false))
				} else {
					_, err = c.Chat(context.Background(), testRequest(false))
				}
				var pe *provider.Error
				if !errors.As(err, &pe) {
					t.Fatalf("error = %v (%T); want *provider.Error", err, err)
				}
				if pe.StatusCode != tt.wantHTTP || pe.Code != tt.wantCode || pe.Retryable != tt.retryable || pe.Model != "shadow_self" {
					t.Errorf("error = {%d %q retryable=%v model=%q}; want {%d %q %v shadow_self}",
						pe.StatusCode, pe.Code, pe.Retryable, pe.Model, tt.wantHTTP, tt.wantCode, tt.retryable)
				}
			})
		}
	}
}

func TestBadAnswer(t *testing.T) {
	c := fakeSageMaker(t, Options{}, func(w http.ResponseWriter, r *http.Request, call smCall) {
		_, _ = w.Write([]byte(`<html>gateway</html>`))
	})
	_, err := c.Chat(context.Background(), testRequest(false))
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.StatusCode != 502 || pe.Code != "bad_response" || pe.Retryable {
		t.Errorf("Chat on a non-JSON answer = %v; want a non-retryable 502 bad_response", err)
	}
}

func TestCancelAbortsCall(t *testing.T) {
	arrived := make(chan struct{})
	c := fakeSageMaker(t, Options{}, func(w http.ResponseWriter, r *http.Request, call smCall) {
		close(arrived)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	done := make(chan error, 1)
	go func() { _, err := c.Chat(ctx, testRequest(false)); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Chat after cancel = %v; want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Chat did not return after its context was cancelled")
	}
}

// TestOneChoiceAndTokenLimit: every payload reads one answer, so n > 1 is
// the client's 400 naming n; the token limit is max_completion_tokens when
// the client set it, else max_tokens.
func TestOneChoiceAndTokenLimit(t *testing.T) {
	var got []string
	c := fakeSageMaker(t, Options{Payload: PayloadTGI}, func(w http.ResponseWriter, r *http.Request, call smCall) {
		var body struct {
			Parameters struct {
				MaxNewTokens int `json:"max_new_tokens"`
			} `json:"parameters"`
		}
		_ = json.Unmarshal(call.body, &body)
		got = append(got, strconv.Itoa(body.Parameters.MaxNewTokens))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[{"generated_text":"ok","details":{"finish_reason":"eos_token","generated_tokens":1,"prefill":[]}}]`))
	})
	ctx := context.Background()
	for _, req := range []*llm.Request{
		{MaxTokens: 7, Messages: testRequest(false).Messages},
		{MaxTokens: 7, MaxCompletionTokens: 9, Messages: testRequest(false).Messages},
	} {
		if _, err := c.Chat(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"7", "9"}; !cmp.Equal(got, want) {
		t.Errorf("max_new_tokens sent = %v; want %v", got, want)
	}
	two := &llm.Request{N: 2, Messages: testRequest(false).Messages}
	for _, call := range []func() error{
		func() error { _, err := c.Chat(ctx, two); return err },
		func() error { _, err := c.ChatStream(ctx, two); return err },
	} {
		var pe *provider.Error
		if err := call(); !errors.As(err, &pe) || pe.StatusCode != 400 || pe.Param != "n" {
			t.Errorf("n=2: error = %v; want a 400 naming n", err)
		}
	}
	if len(got) != 2 {
		t.Errorf("the endpoint was called %d times; want 2 (n=2 never reaches it)", len(got))
	}
}

// TestResponseFormatAndSeed: the sglang and tgi payloads map the client's
// response_format to their constrained decoding, and tgi its seed.
func TestResponseFormatAndSeed(t *testing.T) {
	req := func(extra string) *llm.Request {
		r := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}
		if extra != "" {
			if err := json.Unmarshal([]byte(extra), &r.Extra); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	schema := `{"response_format":{"type":"json_schema","json_schema":{"name":"c","schema":{"type":"object","properties":{"city":{"type":"string"}}}}},"seed":5}`
	tests := []struct {
		name    string
		p       payload
		extra   string
		want    string // the body's member holding the constraint, as JSON
		path    func(map[string]json.RawMessage) json.RawMessage
		wantErr bool
	}{
		{"sglang json_schema", sglang{}, schema, `"{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}"`,
			func(b map[string]json.RawMessage) json.RawMessage { return sub(t, b["sampling_params"], "json_schema") }, false},
		{"sglang json_object", sglang{}, `{"response_format":{"type":"json_object"}}`, `"{\"type\":\"object\"}"`,
			func(b map[string]json.RawMessage) json.RawMessage { return sub(t, b["sampling_params"], "json_schema") }, false},
		{"sglang text", sglang{}, `{"response_format":{"type":"text"}}`, ``,
			func(b map[string]json.RawMessage) json.RawMessage { return sub(t, b["sampling_params"], "json_schema") }, false},
		{"tgi json_schema", tgi{}, schema, `{"type":"json","value":{"type":"object","properties":{"city":{"type":"string"}}}}`,
			func(b map[string]json.RawMessage) json.RawMessage { return sub(t, b["parameters"], "grammar") }, false},
		{"tgi seed", tgi{}, schema, `5`,
			func(b map[string]json.RawMessage) json.RawMessage { return sub(t, b["parameters"], "seed") }, false},
		{"unknown format", tgi{}, `{"response_format":{"type":"xml"}}`, ``, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.p.encode(req(tt.extra), false, false)
			if tt.wantErr {
				if err == nil {
					t.Errorf("encode = %s; want an error", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]json.RawMessage
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatal(err)
			}
			if got := string(tt.path(body)); got != tt.want {
				t.Errorf("constraint = %s; want %s (body %s)", got, tt.want, b)
			}
		})
	}
}

func sub(t *testing.T, obj json.RawMessage, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	return m[name]
}
