package memory

import (
	"context"
	"time"
)

// Store keeps episodes and facts, per tenant and user. Implementations
// live in internal/store (embedded, redisstore, pgstore); they must be
// safe for concurrent use, also by replicas sharing the backend, and pass
// the memorytest suite.
type Store interface {
	// Load returns the facts of k that which selects, and the version of
	// k's memory. A user with no memory has version 0 and no facts.
	// Current facts are few (one per thing the user said that still
	// holds); superseded ones accumulate, so that only the API's history
	// and forgetting read them.
	Load(ctx context.Context, k Key, which Which) (State, error)
	// Apply writes c atomically, or nothing: it returns ErrDuplicate or
	// ErrForgotten for an interaction that must not be consolidated (these
	// two are checked first), and ErrConflict when k's version is no
	// longer c.Version. Applying bumps the version.
	Apply(ctx context.Context, c Change) error
	// SearchEpisodes returns up to n episodes of k most similar to vec
	// (unit length), best first. Episodes without a vector are never
	// found.
	SearchEpisodes(ctx context.Context, k Key, vec []float32, n int) ([]EpisodeHit, error)
	// SessionEpisodes lists the episodes of session sessionID of tenant,
	// whatever their user.
	SessionEpisodes(ctx context.Context, tenant, sessionID string) ([]EpisodeRef, error)
	// ForgetUser deletes every episode and fact of k and records that k was
	// forgotten at at, so that interactions of k made until then and still
	// queued are never consolidated. It bumps k's version.
	ForgetUser(ctx context.Context, k Key, at time.Time) error
	// ForgetSession records that session sessionID of tenant was forgotten
	// at at, so that its interactions made until then and still queued
	// are never consolidated. What was derived from it is deleted by
	// Memory with Apply.
	ForgetSession(ctx context.Context, tenant, sessionID string, at time.Time) error
	// EpisodeSearch names how SearchEpisodes searches, for /status:
	// "hnsw" (the in-process index), "pgvector_hnsw", or "exact_scan".
	EpisodeSearch() string
}

// Which selects the facts Store.Load returns.
type Which int

const (
	// CurrentFacts are the facts not superseded.
	CurrentFacts Which = iota
	// AllFacts adds the superseded facts.
	AllFacts
)

// Queue is the durable queue of interactions waiting for consolidation.
// Delivery is at least once: an interaction claimed and not acknowledged
// within the queue's lease is delivered again, to any consumer.
// Implementations must be safe for concurrent use, also by replicas
// sharing the backend.
type Queue interface {
	// Enqueue adds items durably: when it returns nil they survive a
	// crash of this process.
	Enqueue(ctx context.Context, items []Interaction) error
	// Claim returns up to max interactions for consumer: those never
	// claimed, oldest first, and those whose lease ran out. It waits up to
	// wait for one to be ready, and returns none if none was.
	Claim(ctx context.Context, consumer string, max int, wait time.Duration) ([]Delivery, error)
	// Ack removes consolidated deliveries from the queue. Acknowledging a
	// delivery twice, or one another consumer took over, does no harm.
	Ack(ctx context.Context, ds []Delivery) error
	// Stats describes the queue.
	Stats(ctx context.Context) (QueueStats, error)
}

// Backend is a store and its queue, as internal/store opens them on one
// backend.
type Backend interface {
	Store
	Queue
}

// QueueOptions tune a Queue. The zero value is valid.
type QueueOptions struct {
	// Lease is how long a claimed interaction stays invisible to other
	// consumers before it is delivered again. Zero means DefaultLease.
	Lease time.Duration
	// Now is the queue's clock; nil means time.Now. (Redis measures leases
	// with its own clock.)
	Now func() time.Time
}

// DefaultLease is the default QueueOptions.Lease: consolidating a batch
// takes milliseconds with the rule extractor and seconds with a model, so
// a minute is well past a live worker and short enough after a crash.
const DefaultLease = time.Minute

// WithDefaults returns o with its zero values replaced by the defaults.
func (o QueueOptions) WithDefaults() QueueOptions {
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
