package app

import (
	"context"
	"errors"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// The store wrappers put a span around each operation a request makes on
// the store ("store.sessions.load", "store.cache.put"…), at the boundary
// between the domain packages and the backends, so that every backend is
// traced the same way without a line of its own.

func startStore(ctx context.Context, tr *telemetry.Tracing, kind, name string) (context.Context, trace.Span) {
	ctx, span := tr.Start(ctx, name)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("cato.store", kind))
	}
	return ctx, span
}

func endStore(span trace.Span, err error, expected ...error) {
	if err == nil || !span.IsRecording() {
		return
	}
	for _, e := range expected {
		if errors.Is(err, e) {
			span.SetAttributes(attribute.String("cato.store.result", e.Error()))
			return
		}
	}
	telemetry.Fail(span, "error")
}

// tracedSessionStore traces a session.Store.
type tracedSessionStore struct {
	tr   *telemetry.Tracing
	kind string
	next session.Store
}

// traceSessionStore returns next traced, a session.Sweeper still when
// next is one.
func traceSessionStore(tr *telemetry.Tracing, kind string, next session.Store) session.Store {
	t := tracedSessionStore{tr: tr, kind: kind, next: next}
	if sw, ok := next.(session.Sweeper); ok {
		return sweepingSessionStore{t, sw}
	}
	return t
}

func (s tracedSessionStore) Load(ctx context.Context, k session.Key) (*session.Session, error) {
	ctx, span := startStore(ctx, s.tr, s.kind, "store.sessions.load")
	defer span.End()
	sess, err := s.next.Load(ctx, k)
	endStore(span, err, session.ErrNotFound)
	return sess, err
}

func (s tracedSessionStore) Append(ctx context.Context, k session.Key, turns ...session.Turn) error {
	ctx, span := startStore(ctx, s.tr, s.kind, "store.sessions.append")
	defer span.End()
	err := s.next.Append(ctx, k, turns...)
	endStore(span, err)
	return err
}

func (s tracedSessionStore) Fold(ctx context.Context, k session.Key, f session.Fold) error {
	ctx, span := startStore(ctx, s.tr, s.kind, "store.sessions.fold")
	defer span.End()
	err := s.next.Fold(ctx, k, f)
	endStore(span, err, session.ErrNotFound, session.ErrConflict)
	return err
}

func (s tracedSessionStore) Delete(ctx context.Context, k session.Key) error {
	ctx, span := startStore(ctx, s.tr, s.kind, "store.sessions.delete")
	defer span.End()
	err := s.next.Delete(ctx, k)
	endStore(span, err)
	return err
}

type sweepingSessionStore struct {
	tracedSessionStore
	sw session.Sweeper
}

func (s sweepingSessionStore) Sweep(ctx context.Context) (int, error) { return s.sw.Sweep(ctx) }

// tracedCacheStore traces the writes of a cache.Store; lookups are served
// from the cache's index in memory, so they make no store call.
type tracedCacheStore struct {
	tr   *telemetry.Tracing
	kind string
	next cache.Store
}

func (s tracedCacheStore) Put(ctx context.Context, e cache.Entry) error {
	ctx, span := startStore(ctx, s.tr, s.kind, "store.cache.put")
	defer span.End()
	err := s.next.Put(ctx, e)
	endStore(span, err)
	return err
}

func (s tracedCacheStore) Delete(ctx context.Context, ids ...string) error {
	ctx, span := startStore(ctx, s.tr, s.kind, "store.cache.delete")
	defer span.End()
	err := s.next.Delete(ctx, ids...)
	endStore(span, err)
	return err
}

func (s tracedCacheStore) DeleteBySession(ctx context.Context, tenant, sessionID string) ([]string, error) {
	ctx, span := startStore(ctx, s.tr, s.kind, "store.cache.delete_by_session")
	defer span.End()
	ids, err := s.next.DeleteBySession(ctx, tenant, sessionID)
	endStore(span, err)
	return ids, err
}

func (s tracedCacheStore) Purge(ctx context.Context, f cache.Filter) (int, error) {
	ctx, span := startStore(ctx, s.tr, s.kind, "store.cache.purge")
	defer span.End()
	n, err := s.next.Purge(ctx, f)
	endStore(span, err, cache.ErrEmptyFilter)
	return n, err
}

func (s tracedCacheStore) List(ctx context.Context, fn func(cache.Entry) error) error {
	return s.next.List(ctx, fn)
}

func (s tracedCacheStore) Watch(ctx context.Context) (<-chan cache.Change, error) {
	return s.next.Watch(ctx)
}
