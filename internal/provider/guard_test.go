package provider

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cato-gateway/cato/internal/backoff"
	"github.com/cato-gateway/cato/internal/breaker"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/google/go-cmp/cmp"
)

func outcomes(cds []CallDone) []breaker.Outcome {
	var out []breaker.Outcome
	for _, cd := range cds {
		out = append(out, cd.Outcome)
	}
	return out
}

func statusOf(err error) (int, string) {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.StatusCode, string(pe.Code)
	}
	return 0, ""
}

var req = &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}

const (
	S = breaker.Success
	F = breaker.Failure
	I = breaker.Ignored
)

func TestGuardChat(t *testing.T) {
	connRefused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name        string
		cfg         GuardConfig
		deadline    time.Duration // of the caller's context; zero: none
		replies     []func(context.Context) (*llm.Response, error)
		wantStatus  int // zero: success
		wantCode    string
		wantCalls   int
		wantElapsed time.Duration // -1: do not check
		want        []breaker.Outcome
	}{
		{
			name:      "5xx then success is retried",
			cfg:       GuardConfig{MaxAttempts: 2},
			replies:   fns(fail(upstreamErr(503, 0)), answer("ok")),
			wantCalls: 2, wantElapsed: -1, want: []breaker.Outcome{F, S},
		},
		{
			name:       "retries stop at MaxAttempts",
			cfg:        GuardConfig{MaxAttempts: 3},
			replies:    fns(fail(upstreamErr(502, 0))),
			wantStatus: 502, wantCode: "Bad Gateway", wantCalls: 3, wantElapsed: -1, want: []breaker.Outcome{F, F, F},
		},
		{
			name:       "a 400 is neither retried nor counted as a failure",
			cfg:        GuardConfig{MaxAttempts: 3},
			replies:    fns(fail(upstreamErr(400, 0))),
			wantStatus: 400, wantCode: "Bad Request", wantCalls: 1, wantElapsed: 0, want: []breaker.Outcome{S},
		},
		{
			name:      "429 waits for a Retry-After up to the backoff's max and is not a breaker failure",
			cfg:       GuardConfig{MaxAttempts: 2, Backoff: backoff.Policy{Max: 5 * time.Second}},
			replies:   fns(fail(upstreamErr(429, 3*time.Second)), answer("ok")),
			wantCalls: 2, wantElapsed: 3 * time.Second, want: []breaker.Outcome{I, S},
		},
		{
			name:      "429 with Retry-After: 1 within the default max is retried",
			cfg:       GuardConfig{MaxAttempts: 2},
			replies:   fns(fail(upstreamErr(429, time.Second)), answer("ok")),
			wantCalls: 2, wantElapsed: time.Second, want: []breaker.Outcome{I, S},
		},
		{
			name:       "429 with a Retry-After past the backoff's max is not waited for",
			cfg:        GuardConfig{MaxAttempts: 3},
			replies:    fns(fail(upstreamErr(429, 100*time.Second)), answer("ok")),
			wantStatus: 429, wantCode: "Too Many Requests", wantCalls: 1, wantElapsed: 0, want: []breaker.Outcome{I},
		},
		{
			name:       "429 counts when the configured statuses name it",
			cfg:        GuardConfig{MaxAttempts: 1, FailureStatuses: []int{429, 503}},
			replies:    fns(fail(upstreamErr(429, 0))),
			wantStatus: 429, wantCode: "Too Many Requests", wantCalls: 1, wantElapsed: 0, want: []breaker.Outcome{F},
		},
		{
			name:       "Retry-After past the deadline is not waited for",
			cfg:        GuardConfig{MaxAttempts: 2},
			deadline:   2 * time.Second,
			replies:    fns(fail(upstreamErr(429, 5*time.Second)), answer("ok")),
			wantStatus: 429, wantCode: "Too Many Requests", wantCalls: 1, wantElapsed: 0, want: []breaker.Outcome{I},
		},
		{
			name:      "a stalled attempt times out and is retried",
			cfg:       GuardConfig{MaxAttempts: 2, Timeout: time.Second},
			replies:   fns(stall, answer("ok")),
			wantCalls: 2, wantElapsed: -1, want: []breaker.Outcome{F, S},
		},
		{
			name:       "timeouts exhaust the attempts with a 504",
			cfg:        GuardConfig{MaxAttempts: 2, Timeout: time.Second},
			replies:    fns(stall),
			wantStatus: http.StatusGatewayTimeout, wantCode: "timeout", wantCalls: 2, wantElapsed: -1, want: []breaker.Outcome{F, F},
		},
		{
			name:      "a refused connection is retried and counted",
			cfg:       GuardConfig{MaxAttempts: 2},
			replies:   fns(fail(connRefused), answer("ok")),
			wantCalls: 2, wantElapsed: -1, want: []breaker.Outcome{F, S},
		},
		{
			name:      "an unclassified error is neither retried nor counted",
			cfg:       GuardConfig{MaxAttempts: 3},
			replies:   fns(fail(errors.New("encoding request: bad tool schema"))),
			wantCalls: 1, wantStatus: -1, wantElapsed: 0, want: []breaker.Outcome{I},
		},
		{
			name:       "statuses outside FailureStatuses do not count",
			cfg:        GuardConfig{MaxAttempts: 1, FailureStatuses: []int{503}},
			replies:    fns(fail(upstreamErr(500, 0))),
			wantStatus: 500, wantCode: "Internal Server Error", wantCalls: 1, wantElapsed: 0, want: []breaker.Outcome{S},
		},
		{
			name:       "a status in FailureStatuses counts",
			cfg:        GuardConfig{MaxAttempts: 1, FailureStatuses: []int{503}},
			replies:    fns(fail(upstreamErr(503, 0))),
			wantStatus: 503, wantCode: "Service Unavailable", wantCalls: 1, wantElapsed: 0, want: []breaker.Outcome{F},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rec recorder
				tt.cfg.OnCallDone = rec.record
				fake := chatSeq(tt.replies...)
				g := NewGuard("m", fake, nil, tt.cfg, nil)
				ctx := t.Context()
				if tt.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.deadline)
					defer cancel()
				}
				start := time.Now()
				resp, err := g.Chat(ctx, req)
				elapsed := time.Since(start)

				switch {
				case tt.wantStatus == 0 && err != nil:
					t.Fatalf("Chat() = %v; want an answer", err)
				case tt.wantStatus == 0 && resp.Message.Content != "ok":
					t.Errorf("Chat() answered %q; want %q", resp.Message.Content, "ok")
				case tt.wantStatus == -1 && err == nil:
					t.Errorf("Chat() = nil error; want one")
				case tt.wantStatus > 0:
					if status, code := statusOf(err); status != tt.wantStatus || code != tt.wantCode {
						t.Errorf("Chat() = %v (status %d, code %q); want status %d, code %q", err, status, code, tt.wantStatus, tt.wantCode)
					}
				}
				if got := fake.Calls(); got != tt.wantCalls {
					t.Errorf("upstream calls = %d; want %d", got, tt.wantCalls)
				}
				if tt.wantElapsed >= 0 && elapsed != tt.wantElapsed {
					t.Errorf("Chat took %v; want %v", elapsed, tt.wantElapsed)
				}
				if diff := cmp.Diff(tt.want, outcomes(rec.events())); diff != "" {
					t.Errorf("breaker outcomes mismatch (-want +got):\n%s", diff)
				}
				for i, cd := range rec.events() {
					if cd.Attempt != i+1 || cd.Model != "m" || cd.Stream {
						t.Errorf("CallDone[%d] = %+v; want attempt %d of model m, not a stream", i, cd, i+1)
					}
				}
			})
		})
	}
}

func fns[F any](f ...F) []F { return f }

func TestGuardTimeoutError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGuard("bedrock_sonnet", chatSeq(stall), nil, GuardConfig{Timeout: 2 * time.Second}, nil)
		start := time.Now()
		_, err := g.Chat(t.Context(), req)
		if time.Since(start) != 2*time.Second {
			t.Errorf("Chat took %v; want the 2s attempt timeout", time.Since(start))
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.StatusCode != 504 || pe.Code != "timeout" || !pe.Retryable || pe.Model != "bedrock_sonnet" {
			t.Errorf("Chat() = %v; want a retryable 504 timeout of bedrock_sonnet", err)
		}
	})
}

func TestGuardRetryBackoffIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := GuardConfig{MaxAttempts: 4}
		cfg.Backoff.Base, cfg.Backoff.Max = 100*time.Millisecond, 300*time.Millisecond
		g := NewGuard("m", chatSeq(fail(upstreamErr(503, 0))), nil, cfg, nil)
		start := time.Now()
		g.Chat(t.Context(), req)
		// Waits are at most 100ms, 200ms and 300ms.
		if d := time.Since(start); d > 600*time.Millisecond {
			t.Errorf("three backoffs took %v; want at most 600ms", d)
		}
	})
}

func TestGuardClientCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := breaker.New("m", breaker.Config{Failures: 1}, breaker.Options{})
		fake := chatSeq(stall)
		g := NewGuard("m", fake, b, GuardConfig{MaxAttempts: 3, Timeout: time.Minute, OnCallDone: rec.record}, nil)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		_, err := g.Chat(ctx, req)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Chat() = %v; want context.Canceled", err)
		}
		if fake.Calls() != 1 {
			t.Errorf("upstream calls = %d; want 1 (no retry for a caller that left)", fake.Calls())
		}
		if s := b.State(); s != breaker.Closed {
			t.Errorf("breaker = %v; want closed: a client's cancel says nothing about the model", s)
		}
		if diff := cmp.Diff([]breaker.Outcome{I}, outcomes(rec.events())); diff != "" {
			t.Errorf("outcomes mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestGuardCancelDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGuard("m", chatSeq(fail(upstreamErr(429, 10*time.Second))), nil, GuardConfig{MaxAttempts: 2, Backoff: backoff.Policy{Max: time.Minute}}, nil)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		_, err := g.Chat(ctx, req)
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errUpstream) {
			t.Errorf("Chat() = %v; want context.Canceled wrapping the last upstream error", err)
		}
	})
}

func TestGuardBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		healthy := false
		fake := &fakeProvider{}
		fake.chat = func(ctx context.Context, req *llm.Request) (*llm.Response, error) {
			if healthy {
				return answer("ok")(ctx)
			}
			return nil, upstreamErr(503, 0)
		}
		var transitions []breaker.Transition
		b := breaker.New("bedrock_sonnet", breaker.Config{Failures: 5, Cooldown: 30 * time.Second},
			breaker.Options{OnStateChange: func(tr breaker.Transition) { transitions = append(transitions, tr) }})
		g := NewGuard("bedrock_sonnet", fake, b, GuardConfig{MaxAttempts: 1}, nil)

		for i := range 5 {
			if _, err := g.Chat(t.Context(), req); err == nil {
				t.Fatalf("call %d succeeded; want a 503", i)
			}
		}
		if s := g.Status().Breaker; s.State != breaker.Open || s.ConsecutiveFailures != 5 {
			t.Fatalf("after five failures Status().Breaker = %+v; want open with 5 failures", s)
		}
		_, err := g.Chat(t.Context(), req)
		if status, code := statusOf(err); !errors.Is(err, breaker.ErrOpen) || status != 503 || code != "breaker_open" || IsRetryable(err) {
			t.Errorf("Chat() on an open breaker = %v; want a non-retryable 503 breaker_open wrapping ErrOpen", err)
		}
		if fake.Calls() != 5 {
			t.Errorf("upstream calls = %d; want 5: an open breaker must not call", fake.Calls())
		}

		time.Sleep(30 * time.Second)
		healthy = true
		if _, err := g.Chat(t.Context(), req); err != nil {
			t.Fatalf("probe after the cooldown = %v; want an answer", err)
		}
		if s := b.State(); s != breaker.Closed {
			t.Errorf("after a good probe, breaker = %v; want closed", s)
		}
		var path []string
		for _, tr := range transitions {
			path = append(path, tr.To.String())
		}
		if diff := cmp.Diff([]string{"open", "half_open", "closed"}, path); diff != "" {
			t.Errorf("transitions mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestGuardOpenBreakerEndsRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		fake := chatSeq(fail(upstreamErr(503, 0)))
		b := breaker.New("m", breaker.Config{Failures: 2}, breaker.Options{})
		g := NewGuard("m", fake, b, GuardConfig{MaxAttempts: 5, OnCallDone: rec.record}, nil)
		_, err := g.Chat(t.Context(), req)
		if status, _ := statusOf(err); status != 503 || errors.Is(err, breaker.ErrOpen) || !errors.Is(err, errUpstream) {
			t.Errorf("Chat() = %v; want the upstream's 503 that opened the breaker", err)
		}
		if fake.Calls() != 2 {
			t.Errorf("upstream calls = %d; want 2", fake.Calls())
		}
		ev := rec.events()
		if len(ev) != 3 || !errors.Is(ev[2].Err, breaker.ErrOpen) || ev[2].Attempt != 3 {
			t.Errorf("CallDone events = %+v; want two failures and a refused third attempt", ev)
		}
	})
}

func TestGuardConcurrencyLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		gate := make(chan struct{})
		fake := &fakeProvider{}
		fake.chat = func(ctx context.Context, req *llm.Request) (*llm.Response, error) {
			<-gate
			return answer("ok")(ctx)
		}
		g := NewGuard("m", fake, nil, GuardConfig{MaxConcurrency: 1, MaxQueue: 1, OnCallDone: rec.record}, nil)
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := g.Chat(t.Context(), req)
				errs <- err
			}()
			synctest.Wait()
		}
		if s := g.Status(); s.InFlight != 1 || s.Queued != 1 {
			t.Errorf("Status() = %+v; want 1 in flight and 1 queued", s)
		}
		_, err := g.Chat(t.Context(), req)
		if status, code := statusOf(err); !errors.Is(err, ErrOverloaded) || status != 503 || code != "model_overloaded" || IsRetryable(err) {
			t.Errorf("third Chat() = %v; want a non-retryable 503 model_overloaded", err)
		}
		if ev := rec.events(); len(ev) != 1 || ev[0].Attempt != 0 || !errors.Is(ev[0].Err, ErrOverloaded) {
			t.Errorf("CallDone events = %+v; want one refusal with attempt 0", ev)
		}
		close(gate)
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("admitted Chat() = %v; want an answer", err)
			}
		}
		if fake.Calls() != 2 {
			t.Errorf("upstream calls = %d; want 2", fake.Calls())
		}
		if s := g.Status(); s.InFlight != 0 || s.Queued != 0 {
			t.Errorf("Status() after = %+v; want nothing in flight or queued", s)
		}
	})
}

func TestGuardQueuedCallLeavesOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		fake := &fakeProvider{}
		fake.chat = func(ctx context.Context, req *llm.Request) (*llm.Response, error) {
			<-gate
			return answer("ok")(ctx)
		}
		g := NewGuard("m", fake, nil, GuardConfig{MaxConcurrency: 1, MaxQueue: 5}, nil)
		go g.Chat(t.Context(), req)
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := g.Chat(ctx, req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("queued Chat() = %v; want its context's deadline", err)
		}
		if s := g.Status(); s.Queued != 0 {
			t.Errorf("Status().Queued = %d; want 0 after the waiter left", s.Queued)
		}
		close(gate)
	})
}

func TestGuardSetsModel(t *testing.T) {
	fake := chatSeq(answer("ok"))
	g := NewGuard("bedrock_haiku", fake, nil, GuardConfig{}, nil)
	r := &llm.Request{Model: "auto"}
	if _, err := g.Chat(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if fake.models[0] != "bedrock_haiku" || r.Model != "auto" {
		t.Errorf("upstream saw model %q, caller's request now %q; want bedrock_haiku and the caller's untouched", fake.models[0], r.Model)
	}
}

func TestGuardStream(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	tests := []struct {
		name      string
		cfg       GuardConfig
		replies   []func(context.Context) (llm.Stream, error)
		wantOpen  int    // status of ChatStream's error; zero: it opens
		wantText  string // what reading the stream gives
		wantRead  error  // error reading the stream ends with
		wantCalls int
		want      []breaker.Outcome
	}{
		{
			name:     "a failure to open is retried",
			cfg:      GuardConfig{MaxAttempts: 2},
			replies:  fns(streamFails(upstreamErr(503, 0)), streams("Hel", "lo")),
			wantText: "Hello", wantCalls: 2, want: []breaker.Outcome{F, S},
		},
		{
			name:     "a reset before the first chunk is retried",
			cfg:      GuardConfig{MaxAttempts: 2},
			replies:  fns(streamBreaks(reset), streams("Hel", "lo")),
			wantText: "Hello", wantCalls: 2, want: []breaker.Outcome{F, S},
		},
		{
			name:     "a stall before the first chunk times out and is retried",
			cfg:      GuardConfig{MaxAttempts: 2, Timeout: time.Second},
			replies:  fns(streamStalls, streams("Hel", "lo")),
			wantText: "Hello", wantCalls: 2, want: []breaker.Outcome{F, S},
		},
		{
			name:     "a reset after the first chunk is not retried but counts",
			cfg:      GuardConfig{MaxAttempts: 3},
			replies:  fns(streamBreaks(reset, "Hel"), streams("Hello")),
			wantText: "Hel", wantRead: syscall.ECONNRESET, wantCalls: 1, want: []breaker.Outcome{F},
		},
		{
			name:     "every attempt failing before the first chunk",
			cfg:      GuardConfig{MaxAttempts: 2},
			replies:  fns(streamFails(upstreamErr(503, 0))),
			wantOpen: 503, wantCalls: 2, want: []breaker.Outcome{F, F},
		},
		{
			name:     "a rejected stream is not retried",
			cfg:      GuardConfig{MaxAttempts: 2},
			replies:  fns(streamFails(upstreamErr(400, 0))),
			wantOpen: 400, wantCalls: 1, want: []breaker.Outcome{S},
		},
		{
			name: "a slow stream outlives the attempt timeout once it has begun",
			cfg:  GuardConfig{MaxAttempts: 1, Timeout: time.Second},
			replies: fns(func(ctx context.Context) (llm.Stream, error) {
				return &chunkStream{ctx: ctx, chunks: textChunks("a", "b", "c", "d"), pause: 900 * time.Millisecond, end: errEOF()}, nil
			}),
			wantText: "abcd", wantCalls: 1, want: []breaker.Outcome{S},
		},
		{
			name:     "an empty answer",
			cfg:      GuardConfig{MaxAttempts: 2},
			replies:  fns(streams()),
			wantText: "", wantCalls: 1, want: []breaker.Outcome{S},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rec recorder
				tt.cfg.OnCallDone = rec.record
				fake := streamSeq(tt.replies...)
				g := NewGuard("m", fake, nil, tt.cfg, nil)
				s, err := g.ChatStream(t.Context(), req)
				if tt.wantOpen != 0 {
					if status, _ := statusOf(err); status != tt.wantOpen {
						t.Fatalf("ChatStream() = %v; want status %d", err, tt.wantOpen)
					}
				} else {
					if err != nil {
						t.Fatalf("ChatStream() = %v; want a stream", err)
					}
					text, err := readAll(s)
					if text != tt.wantText || !errors.Is(err, tt.wantRead) || (tt.wantRead == nil) != (err == nil) {
						t.Errorf("stream read %q, %v; want %q, %v", text, err, tt.wantText, tt.wantRead)
					}
				}
				if got := fake.Calls(); got != tt.wantCalls {
					t.Errorf("upstream calls = %d; want %d", got, tt.wantCalls)
				}
				if diff := cmp.Diff(tt.want, outcomes(rec.events())); diff != "" {
					t.Errorf("breaker outcomes mismatch (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func errEOF() error { return ioEOF }

func TestGuardStreamReportsUsageAndTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		fake := streamSeq(func(ctx context.Context) (llm.Stream, error) {
			u := llm.Usage{PromptTokens: 7, CompletionTokens: 2}
			return &chunkStream{ctx: ctx, pause: 100 * time.Millisecond, end: ioEOF,
				chunks: []llm.Chunk{{Content: "a"}, {Content: "b"}, {FinishReason: llm.FinishStop, Usage: &u}}}, nil
		})
		g := NewGuard("m", fake, nil, GuardConfig{OnCallDone: rec.record}, nil)
		s, err := g.ChatStream(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := readAll(s); err != nil {
			t.Fatal(err)
		}
		want := []CallDone{{Model: "m", Attempt: 1, Stream: true, Duration: 300 * time.Millisecond, FirstChunk: 100 * time.Millisecond,
			Usage: llm.Usage{PromptTokens: 7, CompletionTokens: 2}, Outcome: S}}
		if diff := cmp.Diff(want, rec.events()); diff != "" {
			t.Errorf("CallDone mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestGuardStreamHoldsSlotUntilClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGuard("m", streamSeq(streams("a", "b")), nil, GuardConfig{MaxConcurrency: 1}, nil)
		s, err := g.ChatStream(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.ChatStream(t.Context(), req); !errors.Is(err, ErrOverloaded) {
			t.Errorf("second ChatStream() while the first is open = %v; want ErrOverloaded", err)
		}
		s.Next()
		s.Close()
		s2, err := g.ChatStream(t.Context(), req)
		if err != nil {
			t.Fatalf("ChatStream() after Close = %v; want a stream", err)
		}
		s2.Close()
		if n := g.Status().InFlight; n != 0 {
			t.Errorf("InFlight = %d after every stream closed; want 0", n)
		}
	})
}

func TestGuardStreamClientCancelMidStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New("m", breaker.Config{Failures: 1}, breaker.Options{})
		fake := streamSeq(func(ctx context.Context) (llm.Stream, error) {
			return &chunkStream{ctx: ctx, chunks: textChunks("a", "b"), pause: time.Second, end: ioEOF}, nil
		})
		g := NewGuard("m", fake, b, GuardConfig{}, nil)
		ctx, cancel := context.WithCancel(t.Context())
		s, err := g.ChatStream(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := readAll(s); !errors.Is(err, context.Canceled) {
			t.Errorf("read after cancel = %v; want context.Canceled", err)
		}
		if st := b.State(); st != breaker.Closed {
			t.Errorf("breaker = %v; want closed: the client left", st)
		}
	})
}

var ioEOF = io.EOF
