package requestid

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestHandlerStampsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler{slog.NewTextHandler(&buf, nil)}).With("component", "x")
	log.InfoContext(With(context.Background(), "abc123"), "hello")
	log.InfoContext(context.Background(), "no id")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines: %q", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "request_id=abc123") || !strings.Contains(lines[0], "component=x") {
		t.Errorf("first line %q lacks the request id or the logger's attributes", lines[0])
	}
	if strings.Contains(lines[1], "request_id") {
		t.Errorf("second line %q has a request id; its context had none", lines[1])
	}
}
