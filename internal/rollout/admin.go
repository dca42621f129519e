package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
)

// ErrStoreUnavailable is returned (wrapped) by Admin when the FlagStore
// could not be read or written. api answers it with 503.
var ErrStoreUnavailable = errors.New("rollout store unavailable")

// AdminView is the body of GET /api/admin/cato/rollout and of the answer
// to PUT: the runbook's document, plus the current change and the history.
type AdminView struct {
	UseNewOrchestrator Setting `json:"use_new_orchestrator"`
	// Current is the flag in force, with who set it, when and why.
	Current Flag `json:"current"`
	// History lists the latest changes, newest first.
	History []Flag `json:"history"`
}

// AdminChange is the body of PUT /api/admin/cato/rollout: the runbook's
// document {"use_new_orchestrator": {"percentage": N}}, optionally with who
// makes the change, why, and source "cli" when `cato rollout` sends it.
type AdminChange struct {
	UseNewOrchestrator *Setting `json:"use_new_orchestrator"`
	Actor              string   `json:"actor,omitempty"`
	Reason             string   `json:"reason,omitempty"`
	Source             Source   `json:"source,omitempty"`
}

// AdminOptions wires an Admin. Store and Decider are required.
type AdminOptions struct {
	Store   FlagStore
	Decider *Decider
	Log     *slog.Logger
}

// Admin reads and changes the flag for the admin API, which api serves at
// /api/admin/cato/rollout behind its admin key. A change is written to the
// store (every replica picks it up through its Poller) and applied on this
// replica at once. Admin knows no HTTP: it returns errors wrapping
// ErrInvalidFlag or ErrStoreUnavailable. It is safe for concurrent use.
type Admin struct {
	opts AdminOptions
}

// NewAdmin returns an Admin.
func NewAdmin(opts AdminOptions) *Admin {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Admin{opts: opts}
}

// AdminHistory is how many changes the admin API returns unless asked for
// another number (at most HistoryLimit, all the store keeps).
const AdminHistory = 20

// ParseChange reads a PUT body. The percentage must be 0..100; source may
// be empty (admin_api) or cli, never a source Cato sets itself.
func ParseChange(body []byte) (Flag, error) {
	pct, err := ParseDocument(body)
	if err != nil {
		return Flag{}, err
	}
	var ch AdminChange
	if err := json.Unmarshal(body, &ch); err != nil {
		return Flag{}, fmt.Errorf("%w: %v", ErrInvalidFlag, err)
	}
	switch ch.Source {
	case "":
		ch.Source = SourceAdminAPI
	case SourceAdminAPI, SourceCLI:
	default:
		return Flag{}, fmt.Errorf("%w: source %q is not admin_api or cli", ErrInvalidFlag, ch.Source)
	}
	return Flag{Percentage: pct, Source: ch.Source, Actor: ch.Actor, Reason: ch.Reason}, nil
}

// Set validates f, writes it to the store and applies it here at once,
// and logs the change. It returns the stored flag.
func (a *Admin) Set(ctx context.Context, f Flag) (Flag, error) {
	if err := f.Validate(); err != nil {
		return Flag{}, err
	}
	stored, err := a.opts.Store.Set(ctx, f)
	if err != nil {
		return Flag{}, fmt.Errorf("%w: setting rollout flag (nothing changed): %w", ErrStoreUnavailable, err)
	}
	a.opts.Decider.Apply(stored)
	a.opts.Log.Info("rollout flag changed", flagAttrs(stored)...)
	return stored, nil
}

// View returns the current flag and up to limit changes of history. With
// nothing stored yet, the current flag is the one this replica started
// with.
func (a *Admin) View(ctx context.Context, limit int) (AdminView, error) {
	cur, err := a.opts.Store.Get(ctx)
	if errors.Is(err, ErrNoFlag) {
		cur, err = a.opts.Decider.Flag(), nil
	}
	if err != nil {
		return AdminView{}, fmt.Errorf("%w: reading rollout flag: %w", ErrStoreUnavailable, err)
	}
	h, err := a.opts.Store.History(ctx, limit)
	if err != nil {
		return AdminView{}, fmt.Errorf("%w: reading rollout history: %w", ErrStoreUnavailable, err)
	}
	if h == nil {
		h = []Flag{}
	}
	p := cur.Percentage
	return AdminView{UseNewOrchestrator: Setting{Percentage: &p}, Current: cur, History: h}, nil
}
