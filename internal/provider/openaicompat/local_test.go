package openaicompat

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"

	"github.com/cato-gateway/cato/internal/breaker"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
)

// A dial that fails because Cato is out of file descriptors is Cato's
// failure, not the model's: it never opens the model's breaker, however
// often it happens, while a refused connection does.
func TestLocalDialFailureDoesNotOpenBreaker(t *testing.T) {
	tests := []struct {
		name      string
		errno     syscall.Errno
		wantCode  provider.Code
		wantState breaker.State
	}{
		{name: "EMFILE", errno: syscall.EMFILE, wantCode: provider.CodeLocalExhausted, wantState: breaker.Closed},
		{name: "ENFILE", errno: syscall.ENFILE, wantCode: provider.CodeLocalExhausted, wantState: breaker.Closed},
		{name: "ECONNREFUSED", errno: syscall.ECONNREFUSED, wantCode: provider.CodeBreakerOpen, wantState: breaker.Open},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc := &http.Client{Transport: &http.Transport{
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("socket", tt.errno)}
				},
			}}
			c := New(Options{Name: "m", BaseURL: "http://upstream.invalid/v1", ModelID: "x", HTTP: hc})
			b := breaker.New("m", breaker.Config{Failures: 3}, breaker.Options{})
			g := provider.NewGuard("m", c, b, provider.GuardConfig{MaxAttempts: 1}, nil)
			req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}
			var last error
			for range 5 {
				_, last = g.Chat(t.Context(), req)
			}
			var pe *provider.Error
			if !errors.As(last, &pe) || pe.Code != tt.wantCode {
				t.Errorf("Chat() = %v; want code %s", last, tt.wantCode)
			}
			if s := b.State(); s != tt.wantState {
				t.Errorf("breaker = %v; want %v", s, tt.wantState)
			}
		})
	}
}

// A client that goes away does not count against the breaker.
func TestClientCancelDoesNotCount(t *testing.T) {
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
	}}
	c := New(Options{Name: "m", BaseURL: "http://upstream.invalid/v1", ModelID: "x", HTTP: hc})
	b := breaker.New("m", breaker.Config{Failures: 1}, breaker.Options{})
	g := provider.NewGuard("m", c, b, provider.GuardConfig{MaxAttempts: 2}, nil)
	req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}
	for range 3 {
		ctx, cancel := context.WithCancel(t.Context())
		go cancel()
		if _, err := g.Chat(ctx, req); err == nil {
			t.Fatal("Chat() = nil; want the cancellation")
		}
	}
	if s := b.Snapshot(); s.State != breaker.Closed || s.Failures != 0 {
		t.Errorf("breaker = %v with %d failures; want closed with none", s.State, s.Failures)
	}
}
