package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ForgetUser deletes every interaction, episode and fact of k, and drops
// k's interactions still queued when they come up.
func (m *Memory) ForgetUser(ctx context.Context, k Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return m.opt.Store.ForgetUser(ctx, k, m.opt.Now())
}

// ForgetSession forgets what was derived from session sessionID of tenant:
// its episodes, and its share of facts. A fact stated only in the session
// is deleted; one also stated elsewhere loses the session's sources. A
// fact the deleted one had superseded is current again, unless the
// deleted one was itself superseded, in which case its superseder takes
// over. The session's interactions still queued are dropped when they
// come up.
func (m *Memory) ForgetSession(ctx context.Context, tenant, sessionID string) error {
	if sessionID == "" {
		return nil
	}
	if err := (Key{Tenant: tenant}).Validate(); err != nil {
		return err
	}
	// The tombstone first, so that nothing of the session is consolidated
	// after the episodes are listed.
	if err := m.opt.Store.ForgetSession(ctx, tenant, sessionID, m.opt.Now()); err != nil {
		return err
	}
	refs, err := m.opt.Store.SessionEpisodes(ctx, tenant, sessionID)
	if err != nil {
		return err
	}
	byUser := map[string][]string{}
	for _, r := range refs {
		byUser[r.User] = append(byUser[r.User], r.ID)
	}
	for user, eps := range byUser {
		if err := m.forgetSessionOf(ctx, Key{Tenant: tenant, User: user}, sessionID, eps); err != nil {
			return fmt.Errorf("forgetting session %s of user %q: %w", sessionID, user, err)
		}
	}
	return nil
}

func (m *Memory) forgetSessionOf(ctx context.Context, k Key, sessionID string, episodes []string) error {
	for range maxReplans {
		st, err := m.opt.Store.Load(ctx, k, AllFacts)
		if err != nil {
			return err
		}
		ch := forgetPlan(st, k, sessionID, episodes)
		err = m.opt.Store.Apply(ctx, ch)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return ErrConflict
}

// forgetPlan is the change that removes session sessionID from st.
func forgetPlan(st State, k Key, sessionID string, episodes []string) Change {
	ch := Change{Key: k, Version: st.Version, DeleteEpisodes: episodes}
	byID := map[string]*Fact{}
	facts := slices.Clone(st.Facts)
	for i := range facts {
		byID[facts[i].ID] = &facts[i]
	}
	gone := map[string]bool{}
	changed := map[string]bool{}
	for i := range facts {
		f := &facts[i]
		kept := slices.DeleteFunc(slices.Clone(f.Sources), func(s Source) bool { return s.SessionID == sessionID })
		switch {
		case len(kept) == 0:
			gone[f.ID] = true
		case len(kept) < len(f.Sources):
			f.Sources = kept
			f.StatedAt = kept[0].At
			for _, s := range kept {
				if s.At.After(f.StatedAt) {
					f.StatedAt = s.At
				}
			}
			changed[f.ID] = true
		}
	}
	// successor returns who takes over from a deleted fact: its own
	// superseder if that is kept, following the chain, or nobody.
	successor := func(id string) (string, bool) {
		for seen := 0; gone[id] && seen <= len(facts); seen++ {
			f := byID[id]
			if f == nil || f.SupersededBy == "" {
				return "", false
			}
			id = f.SupersededBy
		}
		if gone[id] {
			return "", false
		}
		return id, true
	}
	for i := range facts {
		f := &facts[i]
		if gone[f.ID] || f.SupersededBy == "" || !gone[f.SupersededBy] {
			continue
		}
		if next, ok := successor(f.SupersededBy); ok {
			f.SupersededBy = next
		} else {
			f.SupersededBy, f.SupersededAt = "", time.Time{}
		}
		changed[f.ID] = true
	}
	for _, f := range facts {
		switch {
		case gone[f.ID]:
			ch.Delete = append(ch.Delete, f.ID)
		case changed[f.ID]:
			ch.Put = append(ch.Put, f)
		}
	}
	return ch
}
