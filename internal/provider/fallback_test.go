package provider

import (
	"context"
	"errors"
	"net/http"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cato-gateway/cato/internal/breaker"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/google/go-cmp/cmp"
)

var chain = []string{"bedrock_sonnet", "bedrock_haiku"}

func TestFallbackChat(t *testing.T) {
	openBreaker := func() *breaker.Breaker {
		b := breaker.New("bedrock_sonnet", breaker.Config{Failures: 1}, breaker.Options{})
		done, _ := b.Allow()
		done(breaker.Failure)
		return b
	}
	tests := []struct {
		name        string
		sonnet      *fakeProvider // nil: not configured
		sonnetB     func() *breaker.Breaker
		sonnetCfg   GuardConfig
		budget      time.Duration
		wantModel   string // empty: an error
		wantStatus  int
		wantSonnet  int // calls
		wantHaiku   int
		wantFailure []string
	}{
		{
			name:      "primary answers",
			sonnet:    chatSeq(answer("ok")),
			wantModel: "bedrock_sonnet", wantSonnet: 1,
		},
		{
			name:      "a retryable failure falls back after the primary's retries",
			sonnet:    chatSeq(fail(upstreamErr(503, 0))),
			sonnetCfg: GuardConfig{MaxAttempts: 2},
			wantModel: "bedrock_haiku", wantSonnet: 2, wantHaiku: 1, wantFailure: []string{"bedrock_sonnet"},
		},
		{
			name:      "throttling falls back",
			sonnet:    chatSeq(fail(upstreamErr(429, time.Minute))),
			sonnetCfg: GuardConfig{MaxAttempts: 2},
			budget:    10 * time.Second,
			wantModel: "bedrock_haiku", wantSonnet: 1, wantHaiku: 1, wantFailure: []string{"bedrock_sonnet"},
		},
		{
			name:       "a 400 does not fall back",
			sonnet:     chatSeq(fail(upstreamErr(400, 0))),
			wantStatus: 400, wantSonnet: 1, wantFailure: []string{"bedrock_sonnet"},
		},
		{
			name:      "an open breaker falls back without calling the primary",
			sonnet:    chatSeq(answer("ok")),
			sonnetB:   openBreaker,
			wantModel: "bedrock_haiku", wantSonnet: 0, wantHaiku: 1, wantFailure: []string{"bedrock_sonnet"},
		},
		{
			name:      "a timeout falls back within the budget",
			sonnet:    chatSeq(stall),
			sonnetCfg: GuardConfig{MaxAttempts: 2, Timeout: time.Second},
			budget:    10 * time.Second,
			wantModel: "bedrock_haiku", wantSonnet: 2, wantHaiku: 1, wantFailure: []string{"bedrock_sonnet"},
		},
		{
			name:       "a spent budget ends the chain with a 504",
			sonnet:     chatSeq(stall),
			budget:     5 * time.Second,
			wantStatus: http.StatusGatewayTimeout, wantSonnet: 1, wantFailure: []string{"bedrock_sonnet"},
		},
		{
			name:      "an unconfigured model is skipped",
			wantModel: "bedrock_haiku", wantHaiku: 1, wantFailure: []string{"bedrock_sonnet"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				haiku := chatSeq(answer("from haiku"))
				guards := map[string]*Guard{"bedrock_haiku": NewGuard("bedrock_haiku", haiku, nil, GuardConfig{}, nil)}
				if tt.sonnet != nil {
					var b *breaker.Breaker
					if tt.sonnetB != nil {
						b = tt.sonnetB()
					}
					guards["bedrock_sonnet"] = NewGuard("bedrock_sonnet", tt.sonnet, b, tt.sonnetCfg, nil)
				}
				fb := NewFallback(Lookup(guards), tt.budget, nil)
				a, err := fb.Chat(t.Context(), chain, &llm.Request{Model: "auto"})
				if tt.wantModel != "" {
					if err != nil {
						t.Fatalf("Chat() = %v; want an answer from %s", err, tt.wantModel)
					}
					if a.Model != tt.wantModel || a.FallbackUsed != (tt.wantModel != chain[0]) || a.Response == nil {
						t.Errorf("Chat() = model %q, fallback %v; want %q", a.Model, a.FallbackUsed, tt.wantModel)
					}
				} else if status, _ := statusOf(err); status != tt.wantStatus {
					t.Errorf("Chat() = %v (status %d); want status %d", err, status, tt.wantStatus)
				}
				var failed []string
				for _, f := range a.Failures {
					failed = append(failed, f.Model)
				}
				if diff := cmp.Diff(tt.wantFailure, failed); diff != "" {
					t.Errorf("Failures mismatch (-want +got):\n%s", diff)
				}
				if tt.sonnet != nil && tt.sonnet.Calls() != tt.wantSonnet {
					t.Errorf("sonnet calls = %d; want %d", tt.sonnet.Calls(), tt.wantSonnet)
				}
				if haiku.Calls() != tt.wantHaiku {
					t.Errorf("haiku calls = %d; want %d", haiku.Calls(), tt.wantHaiku)
				}
				if tt.wantHaiku > 0 && haiku.models[0] != "bedrock_haiku" {
					t.Errorf("haiku was asked for model %q; want bedrock_haiku", haiku.models[0])
				}
			})
		})
	}
}

func TestFallbackAllFail(t *testing.T) {
	guards := map[string]Provider{
		"bedrock_sonnet": chatSeq(fail(upstreamErr(503, 0))),
		"bedrock_haiku":  chatSeq(fail(upstreamErr(429, 0))),
	}
	_, err := NewFallback(Lookup(guards), 0, nil).Chat(t.Context(), chain, req)
	if status, _ := statusOf(err); status != 503 {
		t.Errorf("Chat() = %v (status %d); want the primary's 503 found first", err, status)
	}
	want := "no model answered (tried bedrock_sonnet, bedrock_haiku): "
	if err == nil || len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("Chat() = %v; want it to start %q", err, want)
	}
}

func TestFallbackClientCancelDoesNotFallBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sonnet, haiku := chatSeq(stall), chatSeq(answer("ok"))
		fb := NewFallback(Lookup(map[string]Provider{"bedrock_sonnet": sonnet, "bedrock_haiku": haiku}), time.Minute, nil)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		_, err := fb.Chat(ctx, chain, req)
		if !errors.Is(err, context.Canceled) || haiku.Calls() != 0 {
			t.Errorf("Chat() = %v with %d haiku calls; want context.Canceled and none", err, haiku.Calls())
		}
	})
}

func TestFallbackOverloaded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		sonnet := &fakeProvider{}
		sonnet.chat = func(ctx context.Context, req *llm.Request) (*llm.Response, error) {
			<-gate
			return answer("ok")(ctx)
		}
		guards := map[string]*Guard{
			"bedrock_sonnet": NewGuard("bedrock_sonnet", sonnet, nil, GuardConfig{MaxConcurrency: 1}, nil),
			"bedrock_haiku":  NewGuard("bedrock_haiku", chatSeq(answer("ok")), nil, GuardConfig{}, nil),
		}
		fb := NewFallback(Lookup(guards), 0, nil)
		go fb.Chat(t.Context(), chain, req)
		synctest.Wait()
		a, err := fb.Chat(t.Context(), chain, req)
		if err != nil || a.Model != "bedrock_haiku" || !errors.Is(a.Failures[0].Err, ErrOverloaded) {
			t.Errorf("Chat() = %+v, %v; want haiku answering for an overloaded sonnet", a, err)
		}
		close(gate)
	})
}

// TestRunbookBreakerAndFallback is the migration runbook's check at the
// provider level: five recorded Sonnet failures open its breaker, "Hello" is
// then answered by bedrock_haiku without calling Sonnet, and after the
// cool-down Sonnet, recovered, answers again and its breaker closes.
func TestRunbookBreakerAndFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, err := config.Load("", nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Retries.MaxAttempts = 1 // one recorded failure per request
		healthy := false
		sonnet := &fakeProvider{}
		sonnet.chat = func(ctx context.Context, req *llm.Request) (*llm.Response, error) {
			if healthy {
				return answer("from sonnet")(ctx)
			}
			return nil, &Error{Model: "bedrock_sonnet", StatusCode: 503, Code: "ServiceUnavailableException", Retryable: true, Err: errUpstream}
		}
		haiku := chatSeq(answer("from haiku"))
		var transitions []string
		guards := NewGuards(cfg, map[string]Provider{"bedrock_sonnet": sonnet, "bedrock_haiku": haiku}, GuardHooks{
			OnStateChange: func(tr breaker.Transition) { transitions = append(transitions, tr.Model+":"+tr.To.String()) },
		}, nil)
		fb := NewFallback(Lookup(guards), cfg.Retries.Budget, nil)
		chain := append([]string{cfg.Routing.Complex}, cfg.Routing.Fallbacks[cfg.Routing.Complex]...)
		ask := func(q string) Answer {
			t.Helper()
			a, err := fb.Chat(t.Context(), chain, &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: q}}})
			if err != nil {
				t.Fatalf("Chat(%q) = %v; want an answer", q, err)
			}
			return a
		}

		for i := range 5 {
			if a := ask("Explain the implications of quantum computing on cryptography"); a.Model != "bedrock_haiku" || !a.FallbackUsed {
				t.Fatalf("request %d answered by %s (fallback %v); want bedrock_haiku as fallback", i, a.Model, a.FallbackUsed)
			}
		}
		if s := guards["bedrock_sonnet"].Status().Breaker; s.State != breaker.Open || s.ConsecutiveFailures != 5 {
			t.Fatalf("sonnet breaker = %+v; want open after 5 failures", s)
		}
		if a := ask("Hello"); a.Model != "bedrock_haiku" || !a.FallbackUsed || sonnet.Calls() != 5 {
			t.Errorf("Hello answered by %s (fallback %v) after %d sonnet calls; want bedrock_haiku without a sixth call", a.Model, a.FallbackUsed, sonnet.Calls())
		}

		time.Sleep(breaker.DefaultCooldown) // breakers.default leaves the cooldown to package breaker
		healthy = true
		if a := ask("Hello"); a.Model != "bedrock_sonnet" || a.FallbackUsed {
			t.Errorf("after the cool-down, Hello answered by %s (fallback %v); want bedrock_sonnet", a.Model, a.FallbackUsed)
		}
		if diff := cmp.Diff([]string{"bedrock_sonnet:open", "bedrock_sonnet:half_open", "bedrock_sonnet:closed"}, transitions); diff != "" {
			t.Errorf("transitions mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestFallbackStream(t *testing.T) {
	tests := []struct {
		name      string
		sonnet    []func(context.Context) (llm.Stream, error)
		wantModel string
		wantText  string
		wantRead  error
	}{
		{
			name:      "the primary streams",
			sonnet:    fns(streams("Hel", "lo")),
			wantModel: "bedrock_sonnet", wantText: "Hello",
		},
		{
			name:      "a failure to open falls back",
			sonnet:    fns(streamFails(upstreamErr(503, 0))),
			wantModel: "bedrock_haiku", wantText: "from haiku",
		},
		{
			name:      "a reset before the first chunk falls back",
			sonnet:    fns(streamBreaks(upstreamErr(502, 0))),
			wantModel: "bedrock_haiku", wantText: "from haiku",
		},
		{
			name:      "a reset after the first chunk is reported in the stream",
			sonnet:    fns(streamBreaks(syscall.ECONNRESET, "Hel")),
			wantModel: "bedrock_sonnet", wantText: "Hel", wantRead: syscall.ECONNRESET,
		},
		{
			name:      "a rejected stream does not fall back",
			sonnet:    fns(streamFails(upstreamErr(400, 0))),
			wantModel: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sonnet, haiku := streamSeq(tt.sonnet...), streamSeq(streams("from ", "haiku"))
				// Unguarded providers: Fallback peeks the first chunk itself.
				fb := NewFallback(Lookup(map[string]Provider{"bedrock_sonnet": sonnet, "bedrock_haiku": haiku}), time.Minute, nil)
				a, err := fb.ChatStream(t.Context(), chain, req)
				if tt.wantModel == "" {
					if status, _ := statusOf(err); status != 400 || haiku.Calls() != 0 {
						t.Errorf("ChatStream() = %v, haiku calls %d; want the 400 and no fallback", err, haiku.Calls())
					}
					return
				}
				if err != nil {
					t.Fatalf("ChatStream() = %v; want a stream", err)
				}
				if a.Model != tt.wantModel || a.FallbackUsed != (tt.wantModel != chain[0]) {
					t.Errorf("ChatStream() model %q fallback %v; want %q", a.Model, a.FallbackUsed, tt.wantModel)
				}
				text, err := readAll(a.Stream)
				if text != tt.wantText || !errors.Is(err, tt.wantRead) || (tt.wantRead == nil) != (err == nil) {
					t.Errorf("stream read %q, %v; want %q, %v", text, err, tt.wantText, tt.wantRead)
				}
			})
		})
	}
}

func TestFallbackStreamThroughGuards(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		sonnet := streamSeq(streamStalls)
		haiku := streamSeq(streams("from ", "haiku"))
		guards := map[string]*Guard{
			"bedrock_sonnet": NewGuard("bedrock_sonnet", sonnet, nil, GuardConfig{MaxAttempts: 2, Timeout: time.Second, OnCallDone: rec.record}, nil),
			"bedrock_haiku":  NewGuard("bedrock_haiku", haiku, nil, GuardConfig{OnCallDone: rec.record}, nil),
		}
		start := time.Now()
		a, err := NewFallback(Lookup(guards), time.Minute, nil).ChatStream(t.Context(), chain, req)
		if err != nil {
			t.Fatal(err)
		}
		text, err := readAll(a.Stream)
		if err != nil || text != "from haiku" || a.Model != "bedrock_haiku" || !a.FallbackUsed {
			t.Errorf("stream = %q, %v from %s; want haiku's answer", text, err, a.Model)
		}
		if d := time.Since(start); d < 2*time.Second || d > 3*time.Second {
			t.Errorf("took %v; want two 1s timeouts and one short backoff", d)
		}
		var got []string
		for _, cd := range rec.events() {
			got = append(got, cd.Model+":"+cd.Outcome.String())
		}
		if diff := cmp.Diff([]string{"bedrock_sonnet:failure", "bedrock_sonnet:failure", "bedrock_haiku:success"}, got); diff != "" {
			t.Errorf("attempts mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestGuardConfigFor(t *testing.T) {
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Models["bedrock_sonnet"]
	m.Timeout, m.MaxConcurrency, m.MaxQueue = 20*time.Second, 64, 128
	cfg.Models["bedrock_sonnet"] = m
	cfg.Breakers["bedrock_sonnet"] = config.Breaker{Failures: 3, FailureRate: 0.5, MinRequests: 10, Window: time.Minute, Cooldown: 10 * time.Second, HalfOpenProbes: 2, Statuses: []int{503}}

	got := GuardConfigFor(cfg, "bedrock_sonnet")
	want := GuardConfig{Timeout: 20 * time.Second, MaxAttempts: 2, MaxConcurrency: 64, MaxQueue: 128, FailureStatuses: []int{503}}
	// want.Backoff stays zero: retries.base and retries.max are left to package backoff's defaults.
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b func(CallDone)) bool { return a == nil && b == nil })); diff != "" {
		t.Errorf("GuardConfigFor(sonnet) mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(breaker.Config{Failures: 3, FailureRate: 0.5, MinRequests: 10, Window: time.Minute, Cooldown: 10 * time.Second, HalfOpenProbes: 2},
		BreakerConfigFor(cfg, "bedrock_sonnet")); diff != "" {
		t.Errorf("BreakerConfigFor(sonnet) mismatch (-want +got):\n%s", diff)
	}
	if got := GuardConfigFor(cfg, "bedrock_haiku"); got.Timeout != 60*time.Second || got.MaxConcurrency != 0 || got.FailureStatuses != nil {
		t.Errorf("GuardConfigFor(haiku) = %+v; want upstream.timeout 60s, no limit, default statuses", got)
	}
	// Zero: breakers.default leaves every tuning to package breaker's defaults.
	if diff := cmp.Diff(breaker.Config{}, BreakerConfigFor(cfg, "bedrock_haiku")); diff != "" {
		t.Errorf("BreakerConfigFor(haiku) mismatch (-want +got):\n%s", diff)
	}
}
