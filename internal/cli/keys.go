package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// keysPath is the admin endpoint `cato keys` talks to.
const keysPath = "/api/admin/cato/keys"

// keyCreated and keyListed mirror the admin API's JSON; cli does not
// import keys or api.
type keyCreated struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Tenant string `json:"tenant"`
}

type keyListed struct {
	ID           string     `json:"id"`
	Tenant       string     `json:"tenant"`
	Models       []string   `json:"models"`
	RPM          int64      `json:"rpm"`
	TPM          int64      `json:"tpm"`
	BudgetUSD    float64    `json:"budget_usd"`
	BudgetPeriod string     `json:"budget_period"`
	Period       string     `json:"period"`
	SpentUSD     float64    `json:"spent_usd"`
	Source       string     `json:"source"`
	Revoked      *time.Time `json:"revoked"`
}

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: cato keys create --tenant T [limits] | list [--tenant T] | revoke ID [flags]

  create     make a client key; its secret is printed once and stored nowhere
  list       list keys (no secrets) with their limits and spend this period
  revoke ID  refuse key ID from now on, on every replica (within 2s)

Flags:
`)
		fs.PrintDefaults()
	}
	base := fs.String("url", envOr("CATO_URL", "http://127.0.0.1:8080"), "the gateway's base URL (env CATO_URL)")
	key := fs.String("admin-key", os.Getenv("CATO_ADMIN_KEY"), "the admin key (env CATO_ADMIN_KEY)")
	tenant := fs.String("tenant", "", "the key's tenant (create; list: only this tenant's keys)")
	models := fs.String("models", "", "comma-separated models the key may call (create; empty: any)")
	rpm := fs.Int64("rpm", 0, "requests per minute (create; 0: no limit)")
	tpm := fs.Int64("tpm", 0, "tokens per minute (create; 0: no limit)")
	budget := fs.Float64("budget-usd", 0, "spend per period in US dollars (create; 0: no limit)")
	period := fs.String("budget-period", "month", "the budget's period, day or month (create)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the gateway")
	asJSON := fs.Bool("json", false, "print the admin API's JSON answer")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return usageError{"name a subcommand: create, list or revoke ID"}
	}
	c := adminClient{base: strings.TrimSuffix(*base, "/"), key: *key, hc: &http.Client{Timeout: *timeout}}
	switch sub := pos[0]; sub {
	case "create":
		if len(pos) != 1 || *tenant == "" {
			return usageError{"create takes no arguments and needs --tenant"}
		}
		ms := []string{}
		for m := range strings.SplitSeq(*models, ",") {
			if m = strings.TrimSpace(m); m != "" {
				ms = append(ms, m)
			}
		}
		doc := map[string]any{"tenant": *tenant, "models": ms, "rpm": *rpm, "tpm": *tpm, "budget_usd": *budget, "budget_period": *period}
		var out keyCreated
		raw, err := c.doPath(ctx, http.MethodPost, keysPath, doc, &out)
		if err != nil {
			return err
		}
		if *asJSON {
			_, err := stdout.Write(raw)
			return err
		}
		fmt.Fprintf(stdout, "key %s for tenant %s:\n%s\n(shown once: Cato keeps only its hash)\n", out.ID, out.Tenant, out.Key)
	case "list":
		if len(pos) != 1 {
			return usageError{"list takes no arguments"}
		}
		path := keysPath
		if *tenant != "" {
			path += "?tenant=" + url.QueryEscape(*tenant)
		}
		var out struct {
			Keys []keyListed `json:"keys"`
		}
		raw, err := c.doPath(ctx, http.MethodGet, path, nil, &out)
		if err != nil {
			return err
		}
		if *asJSON {
			_, err := stdout.Write(raw)
			return err
		}
		printKeys(stdout, out.Keys)
	case "revoke":
		if len(pos) != 2 {
			return usageError{"revoke needs the key's id: cato keys revoke key_…"}
		}
		if _, err := c.doPath(ctx, http.MethodDelete, keysPath+"/"+url.PathEscape(pos[1]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %s revoked\n", pos[1])
	default:
		return usageError{fmt.Sprintf("unknown subcommand %q: use create, list or revoke ID", sub)}
	}
	return nil
}

func printKeys(w io.Writer, ks []keyListed) {
	if len(ks) == 0 {
		fmt.Fprintln(w, "no keys")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTENANT\tSOURCE\tMODELS\tRPM\tTPM\tSPENT / BUDGET USD\tSTATE")
	for _, k := range ks {
		state := "valid"
		if k.Revoked != nil {
			state = "revoked " + k.Revoked.UTC().Format(time.RFC3339)
		}
		models := strings.Join(k.Models, ",")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s / %s (%s)\t%s\n", k.ID, k.Tenant, k.Source, orDash(models),
			limit(k.RPM), limit(k.TPM), strconv.FormatFloat(k.SpentUSD, 'f', -1, 64), budgetText(k.BudgetUSD), k.Period, state)
	}
	tw.Flush()
}

func limit(n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

func budgetText(usd float64) string {
	if usd == 0 {
		return "-"
	}
	return strconv.FormatFloat(usd, 'f', -1, 64)
}
