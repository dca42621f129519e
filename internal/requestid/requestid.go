// Package requestid carries a request's id in its context and stamps it on
// every log record written with that context, so that one grep finds all
// that Cato logged about a request. api sets the id; app wraps the logger's
// handler; everyone else logs with the *Context methods of slog.
package requestid

import (
	"context"
	"log/slog"
)

type key struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// Source is what a context may carry in place of the id itself: a value
// that has it, such as a request's own state, so that carrying the id
// costs no allocation of its own (a string in a context is one).
type Source interface {
	RequestID() string
}

// WithSource returns ctx carrying s, whose RequestID is the id.
func WithSource(ctx context.Context, s Source) context.Context {
	return context.WithValue(ctx, key{}, s)
}

// From returns the id ctx carries, or "".
func From(ctx context.Context) string {
	switch v := ctx.Value(key{}).(type) {
	case string:
		return v
	case Source:
		return v.RequestID()
	}
	return ""
}

// SourceOf returns the Source ctx carries; nil when it carries none, or
// carries the id as a string (With).
func SourceOf(ctx context.Context) Source {
	s, _ := ctx.Value(key{}).(Source)
	return s
}

// Handler adds a "request_id" attribute to records whose context carries
// an id. It is safe for concurrent use when the wrapped handler is.
type Handler struct {
	slog.Handler
}

// Handle implements slog.Handler.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return Handler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{h.Handler.WithGroup(name)}
}
