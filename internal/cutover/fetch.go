package cutover

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/cato-gateway/cato/internal/rollout"
)

// Paths of the admin API the report reads.
const (
	StatusPath  = "/api/admin/cato/status"
	RolloutPath = "/api/admin/cato/rollout"
)

// maxBody caps an admin answer; a status document is a few kilobytes.
const maxBody = 8 << 20

// Satisfaction is one side's user ratings over the rollout window, as
// /status reports them under rollout.satisfaction.
type Satisfaction struct {
	Ratings       uint64  `json:"ratings"`
	Positive      uint64  `json:"positive"`
	Neutral       uint64  `json:"neutral"`
	Negative      uint64  `json:"negative"`
	NegativeShare float64 `json:"negative_share"`
}

// rolloutStatus is the rollout section of /status: rollout.Status, and
// the ratings per side when the gateway collects them.
type rolloutStatus struct {
	rollout.Status
	Satisfaction map[string]Satisfaction `json:"satisfaction,omitempty"`
}

// statusDoc is the part of /status the report reads.
type statusDoc struct {
	Version string         `json:"version"`
	UptimeS int64          `json:"uptime_s"`
	Rollout *rolloutStatus `json:"rollout"`
}

// Snapshot is what one replica's admin API answered.
type Snapshot struct {
	URL     string
	Version string
	UptimeS int64
	Rollout rolloutStatus
	// History is the admin API's list of changes, newest first.
	History []rollout.Flag
}

// Client reads replicas' admin APIs.
type Client struct {
	// HTTP sends the requests. Nil means http.DefaultClient.
	HTTP *http.Client
	// AdminKey is sent as a bearer token; empty sends none.
	AdminKey string
}

// Fetch reads the status and the rollout history of the replica at base.
func (c Client) Fetch(ctx context.Context, base string) (*Snapshot, error) {
	base = strings.TrimSuffix(base, "/")
	var st statusDoc
	if err := c.get(ctx, base+StatusPath, &st); err != nil {
		return nil, err
	}
	if st.Rollout == nil {
		return nil, fmt.Errorf("%s: the status has no rollout section (is this a Cato gateway?)", base)
	}
	var view rollout.AdminView
	if err := c.get(ctx, base+RolloutPath+"?limit="+strconv.Itoa(rollout.HistoryLimit), &view); err != nil {
		return nil, err
	}
	return &Snapshot{URL: base, Version: st.Version, UptimeS: st.UptimeS, Rollout: *st.Rollout, History: view.History}, nil
}

func (c Client) get(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("bad URL %q: %w", url, err)
	}
	if c.AdminKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.AdminKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("reaching %s: %w", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("reading %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(raw))
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		if resp.StatusCode == http.StatusUnauthorized && c.AdminKey == "" {
			msg += " (set --admin-key or CATO_ADMIN_KEY)"
		}
		return fmt.Errorf("%s answered %d: %s", url, resp.StatusCode, msg)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: not the document expected: %w", url, err)
	}
	return nil
}
