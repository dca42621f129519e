package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/cato-gateway/cato/internal/openai"
)

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

// Admin serves GET and PUT /api/admin/cato/rollout. It does not check the
// admin key: api mounts it behind its admin wrapper. A PUT writes the
// store (every replica picks it up through its Poller) and applies the
// change on this replica at once. Admin is safe for concurrent use.
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

// adminHistory is how many changes GET returns unless ?limit= says.
const adminHistory = 20

// maxChangeBytes bounds a PUT body; the document is a few dozen bytes.
const maxChangeBytes = 64 << 10

// ServeHTTP implements http.Handler.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		limit := adminHistory
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				writeError(w, http.StatusBadRequest, openai.TypeInvalidRequest, "invalid_limit", "limit must be a positive integer")
				return
			}
			limit = min(n, HistoryLimit) // the store keeps no more than that
		}
		view, err := a.View(r.Context(), limit)
		if err != nil {
			a.opts.Log.Error("reading rollout flag", slog.Any("err", err))
			writeError(w, http.StatusServiceUnavailable, openai.TypeServer, "store_unavailable", "the rollout store could not be read")
			return
		}
		writeJSON(w, http.StatusOK, view)
	case http.MethodPut:
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxChangeBytes))
		if err != nil {
			writeError(w, http.StatusBadRequest, openai.TypeInvalidRequest, "invalid_rollout", "reading the body: "+err.Error())
			return
		}
		ch, err := ParseChange(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, openai.TypeInvalidRequest, "invalid_rollout", err.Error())
			return
		}
		if ch.Actor == "" {
			ch.Actor = "admin@" + remoteHost(r)
		}
		if _, err := a.Set(r.Context(), ch); err != nil {
			if errors.Is(err, ErrInvalidFlag) {
				writeError(w, http.StatusBadRequest, openai.TypeInvalidRequest, "invalid_rollout", err.Error())
				return
			}
			a.opts.Log.Error("writing rollout flag", slog.Any("err", err))
			writeError(w, http.StatusServiceUnavailable, openai.TypeServer, "store_unavailable", "the rollout store could not be written; nothing changed")
			return
		}
		view, err := a.View(r.Context(), adminHistory)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, openai.TypeServer, "store_unavailable", "the change was written but could not be read back")
			return
		}
		writeJSON(w, http.StatusOK, view)
	default:
		w.Header().Set("Allow", "GET, PUT")
		writeError(w, http.StatusMethodNotAllowed, openai.TypeInvalidRequest, "method_not_allowed", "use GET or PUT")
	}
}

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
		return Flag{}, fmt.Errorf("setting rollout flag: %w", err)
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
		return AdminView{}, fmt.Errorf("reading rollout flag: %w", err)
	}
	h, err := a.opts.Store.History(ctx, limit)
	if err != nil {
		return AdminView{}, fmt.Errorf("reading rollout history: %w", err)
	}
	if h == nil {
		h = []Flag{}
	}
	p := cur.Percentage
	return AdminView{UseNewOrchestrator: Setting{Percentage: &p}, Current: cur, History: h}, nil
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(openai.NewError(openai.TypeServer, "internal_error", "", "encoding the answer failed"))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	writeJSON(w, status, openai.NewError(typ, code, "", msg))
}
