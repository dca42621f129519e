package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// rolloutPath is the admin endpoint `cato rollout` talks to.
const rolloutPath = "/api/admin/cato/rollout"

// rolloutFlag and rolloutView mirror the admin API's JSON
// (rollout.Flag, rollout.AdminView); cli does not import rollout.
type rolloutFlag struct {
	Percentage float64   `json:"percentage"`
	Version    int64     `json:"version"`
	Source     string    `json:"source"`
	Actor      string    `json:"actor"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
}

type rolloutView struct {
	UseNewOrchestrator struct {
		Percentage float64 `json:"percentage"`
	} `json:"use_new_orchestrator"`
	Current rolloutFlag   `json:"current"`
	History []rolloutFlag `json:"history"`
}

func runRollout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "report" {
		return runRolloutReport(ctx, args[1:], stdout, stderr)
	}
	fs := newFlagSet("rollout", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: cato rollout status | set N | rollback [flags]

  status     print the share of users on the new orchestrator and the history of changes
  set N      put N% (0..100) of users on the new orchestrator
  rollback   put every user back on the legacy upstream (set 0)
  report     write the cutover evidence report (cato rollout report -h)

Flags:
`)
		fs.PrintDefaults()
	}
	url := fs.String("url", envOr("CATO_URL", "http://127.0.0.1:8080"), "the gateway's base URL (env CATO_URL)")
	key := fs.String("admin-key", os.Getenv("CATO_ADMIN_KEY"), "the admin key (env CATO_ADMIN_KEY)")
	reason := fs.String("reason", "", "why, recorded in the history (set, rollback)")
	actor := fs.String("actor", defaultActor(), "who, recorded in the history")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the gateway")
	asJSON := fs.Bool("json", false, "print the admin API's JSON answer")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return usageError{"name a subcommand: status, set N or rollback"}
	}
	c := adminClient{base: strings.TrimSuffix(*url, "/"), key: *key, hc: &http.Client{Timeout: *timeout}}
	var view rolloutView
	var raw []byte
	switch sub := pos[0]; sub {
	case "status":
		if len(pos) != 1 {
			return usageError{"status takes no arguments"}
		}
		raw, err = c.do(ctx, http.MethodGet, nil, &view)
		if err != nil {
			return err
		}
	case "set", "rollback":
		pct := 0.0
		if sub == "set" {
			if len(pos) != 2 {
				return usageError{"set needs the percentage: cato rollout set 10"}
			}
			pct, err = strconv.ParseFloat(strings.TrimSuffix(pos[1], "%"), 64)
			if err != nil || pct < 0 || pct > 100 {
				return usageError{fmt.Sprintf("percentage %q is not a number between 0 and 100", pos[1])}
			}
		} else if len(pos) != 1 {
			return usageError{"rollback takes no arguments"}
		}
		if sub == "rollback" && *reason == "" {
			*reason = "rollback"
		}
		body := map[string]any{
			"use_new_orchestrator": map[string]float64{"percentage": pct},
			"source":               "cli", "actor": *actor, "reason": *reason,
		}
		raw, err = c.do(ctx, http.MethodPut, body, &view)
		if err != nil {
			return err
		}
	default:
		return usageError{fmt.Sprintf("unknown subcommand %q: use status, set N or rollback", sub)}
	}
	if *asJSON {
		_, err := stdout.Write(raw)
		return err
	}
	printRollout(stdout, view)
	return nil
}

func printRollout(w io.Writer, v rolloutView) {
	cur := v.Current
	fmt.Fprintf(w, "new orchestrator: %s%% of users\n", pct(v.UseNewOrchestrator.Percentage))
	if cur.Version > 0 {
		fmt.Fprintf(w, "changed %s by %s (%s)", cur.At.UTC().Format(time.RFC3339), orDash(cur.Actor), cur.Source)
		if cur.Reason != "" {
			fmt.Fprintf(w, ": %s", cur.Reason)
		}
		fmt.Fprintf(w, " [version %d]\n", cur.Version)
	}
	if len(v.History) == 0 {
		fmt.Fprintln(w, "history: none")
		return
	}
	fmt.Fprintln(w, "\nhistory, newest first:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  WHEN\tPERCENT\tSOURCE\tWHO\tWHY")
	for _, f := range v.History {
		fmt.Fprintf(tw, "  %s\t%s%%\t%s\t%s\t%s\n", f.At.UTC().Format(time.RFC3339), pct(f.Percentage), f.Source, orDash(f.Actor), orDash(f.Reason))
	}
	tw.Flush()
}

func pct(p float64) string { return strconv.FormatFloat(p, 'f', -1, 64) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// adminClient calls a gateway's admin API.
type adminClient struct {
	base, key string
	hc        *http.Client
}

// do sends body (JSON) with method to the rollout endpoint, decodes the
// answer into out and returns it raw.
func (c adminClient) do(ctx context.Context, method string, body any, out any) ([]byte, error) {
	return c.doPath(ctx, method, rolloutPath, body, out)
}

// doPath sends body (JSON) with method to the admin API's path, decodes
// the answer into out (unless out is nil) and returns it raw.
func (c adminClient) doPath(ctx context.Context, method, path string, body any, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, usageError{fmt.Sprintf("bad --url %q: %v", c.base, err)}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reaching the gateway at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the gateway's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		msg := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		if resp.StatusCode == http.StatusUnauthorized && c.key == "" {
			msg += " (set --admin-key or CATO_ADMIN_KEY)"
		}
		return nil, fmt.Errorf("the admin API answered %d: %s", resp.StatusCode, msg)
	}
	if out == nil {
		return raw, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("the gateway's answer to %s is not the document expected: %w", path, err)
	}
	return raw, nil
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments (cato rollout set 10 --reason x), and returns the
// positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// defaultActor names the operator: user@host.
func defaultActor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	switch {
	case name != "" && host != "":
		return name + "@" + host
	case name != "":
		return name
	}
	return "cli"
}
