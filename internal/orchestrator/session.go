package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/session"
)

// workingMemory is implemented by session.Memory.
type workingMemory interface {
	Context(ctx context.Context, k session.Key, req *llm.Request) ([]llm.Message, session.Added, error)
	Record(ctx context.Context, k session.Key, ex session.Exchange) error
	Session(ctx context.Context, k session.Key) (*session.Session, error)
	Delete(ctx context.Context, k session.Key) error
}

// ErrInvalidSession is returned for a session id Cato cannot store (too
// long, control characters).
var ErrInvalidSession = errors.New("invalid session id")

// ErrSessionNotFound is returned by Session for a session that does not
// exist or expired.
var ErrSessionNotFound = errors.New("session not found")

// ErrStoreUnavailable is returned when the state store cannot be reached.
var ErrStoreUnavailable = errors.New("state store unavailable")

// Degradation names.
const degradedSessions = "session_store"

func (q *Query) memoryOn() bool { return q.Memory == nil || *q.Memory }

func (q *Query) sessionKey() session.Key { return session.Key{Tenant: q.Tenant, ID: q.SessionID} }

// usesSession reports whether q reads and writes working memory.
func (o *Orchestrator) usesSession(q *Query) bool {
	return o.opt.Sessions != nil && q.SessionID != "" && q.memoryOn() && !q.Shadow
}

// sessionContext returns the messages to send with the session's context
// added, or nil when it added none. A store that cannot be reached
// degrades the answer, it does not fail it.
func (o *Orchestrator) sessionContext(ctx context.Context, q *Query) ([]llm.Message, []string, error) {
	if !o.usesSession(q) {
		return nil, nil, nil
	}
	msgs, added, err := o.opt.Sessions.Context(ctx, q.sessionKey(), q.Request)
	switch {
	case errors.Is(err, session.ErrInvalidKey):
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidSession, err)
	case err != nil:
		o.opt.Log.WarnContext(ctx, "session context unavailable; answering without it", "session_id", q.SessionID, "err", err)
		return nil, []string{degradedSessions}, nil
	case !added.Summary && added.Turns == 0:
		return nil, nil, nil
	}
	return msgs, nil, nil
}

// record saves the turn to the session; a failure only degrades the answer.
func (o *Orchestrator) record(ctx context.Context, q *Query, answer, model string) []string {
	if !o.usesSession(q) {
		return nil
	}
	err := o.opt.Sessions.Record(ctx, q.sessionKey(), session.Exchange{Question: q.Request.LastUserText(), Answer: answer, Model: model})
	if err != nil {
		o.opt.Log.WarnContext(ctx, "saving the session turn failed", "session_id", q.SessionID, "err", err)
		return []string{degradedSessions}
	}
	o.opt.Metrics.Sessions.Inc()
	return nil
}

// SessionView is a session as the sessions API shows it.
type SessionView struct {
	ID      string
	Turns   []TurnView
	Summary string
}

// TurnView is one turn of a SessionView.
type TurnView struct {
	Role, Content, Model string
	At                   time.Time
}

// Session returns the session id of tenant.
func (o *Orchestrator) Session(ctx context.Context, tenant, id string) (*SessionView, error) {
	if o.opt.Sessions == nil {
		return nil, ErrSessionNotFound
	}
	s, err := o.opt.Sessions.Session(ctx, session.Key{Tenant: tenant, ID: id})
	if err != nil {
		return nil, sessionErr(err)
	}
	v := &SessionView{ID: id, Summary: s.Summary, Turns: make([]TurnView, len(s.Turns))}
	for i, t := range s.Turns {
		v.Turns[i] = TurnView{Role: t.Role, Content: t.Content, Model: t.Model, At: t.At}
	}
	return v, nil
}

// ForgetSession deletes the session id of tenant and what was derived from
// it (its cache entries).
func (o *Orchestrator) ForgetSession(ctx context.Context, tenant, id string) error {
	if o.opt.Sessions != nil {
		if err := o.opt.Sessions.Delete(ctx, session.Key{Tenant: tenant, ID: id}); err != nil {
			return sessionErr(err)
		}
	}
	if o.opt.Forget != nil {
		if err := o.opt.Forget(ctx, tenant, id); err != nil {
			return fmt.Errorf("forgetting what session %s left behind: %w", id, err)
		}
	}
	return nil
}

func sessionErr(err error) error {
	switch {
	case errors.Is(err, session.ErrNotFound):
		return ErrSessionNotFound
	case errors.Is(err, session.ErrInvalidKey):
		return fmt.Errorf("%w: %w", ErrInvalidSession, err)
	case errors.Is(err, session.ErrUnavailable):
		return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	return err
}
