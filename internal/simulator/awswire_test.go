package simulator

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/awstest"
	"github.com/cato-gateway/cato/internal/provider/bedrock"
	"github.com/cato-gateway/cato/internal/provider/nli"
	"github.com/cato-gateway/cato/internal/provider/sagemaker"
)

// awsSimulator serves the simulator with two models that always fail, and
// isolates the AWS credential chain so the real adapters can sign.
func awsSimulator(t *testing.T) string {
	t.Helper()
	awstest.Isolate(t)
	srv := httptest.NewServer(NewServer(Options{HiddenDim: 8}, map[string]Options{
		"broken": {ErrorRate: 1, ErrorStatus: 429},
		"cut":    {ResetRate: 1},
	}, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv.URL
}

func question() *llm.Request {
	return &llm.Request{Messages: []llm.Message{{Role: llm.RoleSystem, Content: "Be brief."}, {Role: llm.RoleUser, Content: "What is 2+3?"}}}
}

// collect reads a stream to its end and returns its text, its last usage,
// its hidden states and the error that ended it.
func collect(t *testing.T, s llm.Stream) (string, *llm.Usage, *llm.HiddenStates, error) {
	t.Helper()
	defer s.Close()
	var text strings.Builder
	var usage *llm.Usage
	var hs *llm.HiddenStates
	for {
		c, err := s.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return text.String(), usage, hs, err
		}
		text.WriteString(c.Content)
		if c.Usage != nil {
			usage = c.Usage
		}
		if c.HiddenStates != nil {
			hs = c.HiddenStates
		}
	}
}

// TestBedrockWire drives the simulator with Cato's own Bedrock adapter,
// through both APIs, streamed and not.
func TestBedrockWire(t *testing.T) {
	url := awsSimulator(t)
	for _, api := range []string{bedrock.APIConverse, bedrock.APIInvoke} {
		t.Run(api, func(t *testing.T) {
			c, err := bedrock.New(context.Background(), "bedrock_haiku", bedrock.Options{ModelID: "anthropic.claude-3-5-haiku-20241022-v1:0", Endpoint: url, API: api}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Chat(context.Background(), question())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(resp.Message.Content, "5 (simulated answer from anthropic.claude-3-5-haiku") || resp.FinishReason != llm.FinishStop || resp.Usage.CompletionTokens == 0 {
				t.Errorf("Chat = %+v; want the simulated 5, stop, usage", resp)
			}
			s, err := c.ChatStream(context.Background(), question())
			if err != nil {
				t.Fatal(err)
			}
			text, usage, _, err := collect(t, s)
			if err != nil || text != resp.Message.Content || usage == nil || *usage != resp.Usage {
				t.Errorf("stream = %q, %+v, %v; want %q, %+v", text, usage, err, resp.Message.Content, resp.Usage)
			}

			broken, _ := bedrock.New(context.Background(), "b", bedrock.Options{ModelID: "broken", Endpoint: url, API: api}, nil, nil)
			_, err = broken.Chat(context.Background(), question())
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.StatusCode != 429 || !pe.Retryable || pe.Code != "throttled" {
				t.Errorf("injected error = %v; want a retryable 429 throttled", err)
			}
			cut, _ := bedrock.New(context.Background(), "c", bedrock.Options{ModelID: "cut", Endpoint: url, API: api}, nil, nil)
			if s, err := cut.ChatStream(context.Background(), question()); err == nil {
				if _, _, _, err := collect(t, s); !provider.IsRetryable(err) {
					t.Errorf("cut stream ended with %v; want a retryable provider error", err)
				}
			}
		})
	}
}

// TestSageMakerWire drives the simulator with Cato's own SageMaker adapter
// in every payload format, hidden states included.
func TestSageMakerWire(t *testing.T) {
	url := awsSimulator(t)
	for _, payload := range []string{sagemaker.PayloadSGLang, sagemaker.PayloadOpenAI, sagemaker.PayloadTGI} {
		t.Run(payload, func(t *testing.T) {
			m := sagemaker.Options{EndpointName: "shadow_self", Endpoint: url, Payload: payload, ModelID: "shadow_self",
				HiddenStates: sagemaker.HiddenStates{Layer: -1, Pooling: "mean"}}
			c, err := sagemaker.New(context.Background(), "shadow_self", m, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			req := question()
			req.HiddenStates = payload != sagemaker.PayloadTGI
			resp, err := c.Chat(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(resp.Message.Content, "5 (simulated answer from shadow_self") || resp.Usage.CompletionTokens == 0 || resp.Usage.PromptTokens == 0 {
				t.Errorf("Chat = %+v; want the simulated 5 with usage", resp)
			}
			if req.HiddenStates && (resp.HiddenStates == nil || resp.HiddenStates.Dim != 8 || resp.HiddenStates.Pooling != "mean") {
				t.Errorf("hidden states = %+v; want 8 values pooled by mean", resp.HiddenStates)
			}
			s, err := c.ChatStream(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			text, usage, hs, err := collect(t, s)
			if err != nil || text != resp.Message.Content || usage == nil || usage.CompletionTokens != resp.Usage.CompletionTokens {
				t.Errorf("stream = %q, %+v, %v; want %q, %+v", text, usage, err, resp.Message.Content, resp.Usage)
			}
			if req.HiddenStates && (hs == nil || !equalValues(hs.Values, resp.HiddenStates.Values)) {
				t.Errorf("streamed hidden states = %+v; want %+v", hs, resp.HiddenStates)
			}
		})
	}
	broken, _ := sagemaker.New(context.Background(), "b", sagemaker.Options{EndpointName: "broken", Endpoint: url}, nil, nil)
	_, err := broken.Chat(context.Background(), question())
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.StatusCode != 429 || !pe.Retryable || pe.Code != "model_error" {
		t.Errorf("injected error = %v; want a retryable 429 model_error", err)
	}
}

func equalValues(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestNLIWire drives the simulator with Cato's own NLI client.
func TestNLIWire(t *testing.T) {
	url := awsSimulator(t)
	c, err := nli.New(context.Background(), "nli", nli.Options{EndpointName: "nli", Endpoint: url}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ premise, hypothesis, want string }{
		{"Alice lives in Paris.", "Alice lives in Paris", nli.Entailment},
		{"Alice lives in Paris.", "Alice does not live in Paris.", nli.Contradiction},
		{"Alice lives in Paris.", "Bob likes tea.", nli.Neutral},
	} {
		r, err := c.Classify(context.Background(), tt.premise, tt.hypothesis)
		if err != nil || r.Label != tt.want || len(r.Scores) != 3 {
			t.Errorf("Classify(%q, %q) = %+v, %v; want %s with three scores", tt.premise, tt.hypothesis, r, err, tt.want)
		}
	}
}

func TestParseChatML(t *testing.T) {
	got := parseChatML("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi\nthere<|im_end|>\n<|im_start|>assistant\n")
	want := []llm.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi\nthere"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseChatML (-want +got):\n%s", diff)
	}
	if false {
		t.Errorf("parseChatML = %+v; want %+v", got, want)
	}
	if got := parseChatML("plain text"); len(got) != 1 || got[0].Role != "user" || got[0].Content != "plain text" {
		t.Errorf("parseChatML(plain) = %+v; want one user message", got)
	}
}
