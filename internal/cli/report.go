package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cato-gateway/cato/internal/cutover"
)

// urlList is a repeatable --url flag.
type urlList []string

func (u *urlList) String() string { return strings.Join(*u, ",") }

func (u *urlList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*u = append(*u, s)
		}
	}
	return nil
}

// errVerdictFailed is returned by `cato rollout report --check` when a
// rule fails.
var errVerdictFailed = errors.New("the report's outcome is FAIL")

func runRolloutReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rollout report", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: cato rollout report [--url URL ...] [--format text|json|html] [-o FILE]

Writes the cutover evidence of the rollout window: requests, error rate,
p50/p99, cache hit rate, cost and satisfaction per side, the shadow
comparison, every rollout change with who and why, and the runbook's
verdicts. Give one --url per replica: counts are summed, percentiles are
listed per replica and the highest one is judged (docs/operations.md).

Flags:
`)
		fs.PrintDefaults()
	}
	var urls urlList
	fs.Var(&urls, "url", "a replica's base `URL`; repeat (or separate with commas) for every replica (default $CATO_URL or http://127.0.0.1:8080)")
	key := fs.String("admin-key", os.Getenv("CATO_ADMIN_KEY"), "the admin key (env CATO_ADMIN_KEY)")
	format := fs.String("format", "text", "text, json or html")
	out := fs.String("o", "", "write the report to `file` (default stdout)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for each replica")
	check := fs.Bool("check", false, "exit with status 1 when a verdict fails")
	crit := cutover.DefaultCriteria()
	fs.Float64Var(&crit.MaxErrorRate, "max-error-rate", crit.MaxErrorRate, "the new side's highest passing error rate")
	fs.DurationVar(&crit.MaxP99, "max-p99", crit.MaxP99, "the new side's highest passing p99")
	fs.Float64Var(&crit.SatisfactionMargin, "satisfaction-margin", crit.SatisfactionMargin, "how much the new side's negative share may exceed the legacy side's")
	fs.Uint64Var(&crit.MinRatings, "min-ratings", crit.MinRatings, "ratings each side needs before satisfaction is judged")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *format != "text" && *format != "json" && *format != "html" {
		return usageError{fmt.Sprintf("--format %q is not text, json or html", *format)}
	}
	if len(urls) == 0 {
		urls = urlList{envOr("CATO_URL", "http://127.0.0.1:8080")}
	}
	client := cutover.Client{HTTP: &http.Client{Timeout: *timeout}, AdminKey: *key}
	snaps := make([]*cutover.Snapshot, 0, len(urls))
	for _, u := range urls {
		s, err := client.Fetch(ctx, u)
		if err != nil {
			// One replica that cannot be read makes the evidence partial:
			// refuse rather than judge on part of the traffic.
			return err
		}
		snaps = append(snaps, s)
	}
	rep := cutover.Build(snaps, crit, time.Now())
	w := stdout
	var f *os.File
	if *out != "" {
		var err error
		if f, err = os.Create(*out); err != nil {
			return err
		}
		w = f
	}
	var err error
	switch *format {
	case "json":
		err = rep.WriteJSON(w)
	case "html":
		err = rep.WriteHTML(w)
	default:
		err = rep.WriteText(w)
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			fmt.Fprintf(stderr, "wrote %s: outcome %s\n", *out, strings.ToUpper(rep.Outcome))
		}
	}
	if err != nil {
		return err
	}
	if *check && rep.Outcome == cutover.Fail {
		return errVerdictFailed
	}
	return nil
}
