package rollout

import "github.com/cato-gateway/cato/internal/feedback"

// Report gathers the rollout's figures for /status. Every field but
// Decider may be nil, leaving its part out. The zero Report is not valid.
type Report struct {
	Decider *Decider
	Stats   *Stats
	Shadow  *Shadow
	Guard   *Guard
	Poller  *Poller
	// Satisfaction returns the ratings counted last (feedback.Tally).
	Satisfaction func() feedback.Snapshot
}

// Status is the rollout section of /status.
type Status struct {
	// Percentage is the share of users on the new side now.
	Percentage float64 `json:"percentage"`
	// Current is the flag in force on this replica, with its change.
	Current Flag `json:"current"`
	// Traffic counts the requests each side served since start.
	Traffic map[string]uint64 `json:"traffic"`
	// Sides has per-side error rate and latency over the sliding window.
	Sides        map[string]SideStats `json:"sides,omitempty"`
	Shadow       *ShadowStats         `json:"shadow,omitempty"`
	AutoRollback *GuardStats          `json:"auto_rollback,omitempty"`
	// Satisfaction sums each side's ratings over the feedback window, from
	// the shared store: {"new": …, "legacy": …}.
	Satisfaction map[string]feedback.Satisfaction `json:"satisfaction,omitempty"`
	// History lists the latest changes, newest first.
	History []Flag `json:"history"`
}

// Status returns the figures now. It does no I/O: the history is the one
// the Poller read last.
func (r Report) Status() Status {
	f := r.Decider.Flag()
	st := Status{Percentage: f.Percentage, Current: f, Traffic: map[string]uint64{"new": 0, "legacy": 0}, History: []Flag{}}
	if r.Stats != nil {
		st.Sides = r.Stats.Sides()
		for side, s := range st.Sides {
			st.Traffic[side] = s.Requests
		}
	}
	if r.Shadow != nil {
		s := r.Shadow.Stats()
		st.Shadow = &s
	}
	if r.Guard != nil {
		g := r.Guard.Stats()
		st.AutoRollback = &g
	}
	if r.Poller != nil {
		st.History = r.Poller.History()
	}
	if r.Satisfaction != nil {
		st.Satisfaction = r.Satisfaction().Sides
	}
	return st
}
