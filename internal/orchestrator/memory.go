package orchestrator

import (
	"context"
	"errors"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/memory"
)

// longTermMemory is implemented by memory.Memory.
type longTermMemory interface {
	On(tenant string) bool
	Recall(ctx context.Context, k memory.Key, query, sessionID string) (memory.Recalled, error)
	Record(in memory.Interaction)
}

// Degradation name of long-term memory.
const degradedMemory = "memory_store"

// recallTimeout bounds recall on the request path: a store that is slow
// costs the answer its memory, not its latency, and after a failure the
// memory store's guard skips recall until it tries the store again.
const recallTimeout = 250 * time.Millisecond

// usesLongTerm reports whether q recalls from and is recorded in long-term
// memory: there is a user to remember, memory is on for the tenant and the
// request, and it is not a mirrored (shadow) request. A request for hidden
// states is recorded but recalls nothing, so that its hidden states are
// those of the prompt as sent.
func (o *Orchestrator) usesLongTerm(q *Query) bool {
	return o.opt.Memory != nil && q.User != "" && q.memoryOn() && !q.Shadow && o.opt.Memory.On(q.Tenant)
}

// recall returns the note of what long-term memory holds for q, "" when
// nothing is relevant. A store that cannot be reached degrades the answer.
func (o *Orchestrator) recall(ctx context.Context, q *Query) (string, []string) {
	if !o.usesLongTerm(q) || q.Request.HiddenStates {
		return "", nil
	}
	var r memory.Recalled
	err := o.memoryStore.call(ctx, func(ctx context.Context) error {
		var err error
		r, err = o.opt.Memory.Recall(ctx, memory.Key{Tenant: q.Tenant, User: q.User}, q.Request.LastUserText(), q.SessionID)
		return err
	})
	if err != nil {
		if !errors.Is(err, errStoreDown) {
			o.opt.Log.WarnContext(ctx, "long-term memory unavailable; answering without it", "user", q.User, "err", err)
		}
		return "", []string{degradedMemory}
	}
	return r.Text, nil
}

// withNote returns msgs with note added as a system message after the
// leading system and developer messages.
func withNote(msgs []llm.Message, note string) []llm.Message {
	head := 0
	for head < len(msgs) && (msgs[head].Role == llm.RoleSystem || msgs[head].Role == llm.RoleDeveloper) {
		head++
	}
	out := make([]llm.Message, 0, len(msgs)+1)
	out = append(out, msgs[:head]...)
	out = append(out, llm.Message{Role: llm.RoleSystem, Content: note})
	return append(out, msgs[head:]...)
}

// enqueue hands the exchange of t to long-term memory, answered by a
// model or by the cache; it never waits.
func (o *Orchestrator) enqueue(t *turn, r reply) {
	q := t.q
	if !o.usesLongTerm(q) {
		return
	}
	source := "chat"
	if t.cached() {
		source = "cache"
	}
	o.opt.Memory.Record(memory.Interaction{
		Tenant: q.Tenant, User: q.User, SessionID: q.SessionID, Domain: q.Domain,
		Query: q.Request.LastUserText(), Response: r.text, Model: r.model, Source: source,
	})
}
