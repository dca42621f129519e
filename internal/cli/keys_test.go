package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/api"
	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/store/embedded"
)

// keysGateway serves the real admin keys API over an embedded store, with
// the admin key "admin".
func keysGateway(t *testing.T) (string, *keys.Gate) {
	t.Helper()
	db, err := embedded.Open(embedded.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	g, err := keys.New(keys.Options{Store: embedded.NewKeyStore(db)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	auth := &api.Auth{Keys: g}
	auth.SetAdminKey("admin")
	srv := httptest.NewServer(api.New(api.Options{Auth: auth}))
	t.Cleanup(srv.Close)
	return srv.URL, g
}

func keysCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), append([]string{"keys"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func TestKeysCommand(t *testing.T) {
	url, g := keysGateway(t)
	conn := []string{"--url", url, "--admin-key", "admin"}

	out, errOut, code := keysCmd(t, append([]string{"create", "--tenant", "team-a", "--models", "m1, m2", "--rpm", "600", "--budget-usd", "50"}, conn...)...)
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`key (key_[0-9a-f]+) for tenant team-a:\n(cato-[0-9a-f]{64})\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create printed %q; want the id and the secret", out)
	}
	id, secret := m[1], m[2]
	k, err := g.Authenticate(t.Context(), secret)
	if err != nil || k.Tenant != "team-a" || k.Limits.RPM != 600 || strings.Join(k.Limits.Models, ",") != "m1,m2" || k.Limits.BudgetUSD != 50 {
		t.Fatalf("the created key: %+v, %v", k, err)
	}

	out, errOut, code = keysCmd(t, append([]string{"list"}, conn...)...)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "m1,m2") || !strings.Contains(out, "0 / 50") || strings.Contains(out, secret) {
		t.Fatalf("list: exit %d %s\n%s; want the key with its limits and spend, without its secret", code, errOut, out)
	}
	if out, _, _ := keysCmd(t, append([]string{"list", "--tenant", "team-b"}, conn...)...); strings.TrimSpace(out) != "no keys" {
		t.Errorf("list --tenant team-b: %q; want no keys", out)
	}

	if out, errOut, code = keysCmd(t, append([]string{"revoke", id}, conn...)...); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: exit %d: %s %s", code, out, errOut)
	}
	if _, err := g.Authenticate(t.Context(), secret); err == nil {
		t.Error("the revoked key is still accepted")
	}
	if out, _, _ = keysCmd(t, append([]string{"list"}, conn...)...); !strings.Contains(out, "revoked 20") {
		t.Errorf("list after revoke: %s; want the key marked revoked", out)
	}

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"wrong admin key", []string{"list", "--url", url, "--admin-key", "nope"}, 1, "403"},
		{"unknown id", append([]string{"revoke", "key_0000000000000000"}, conn...), 1, "404"},
		{"bad limits", append([]string{"create", "--tenant", "t", "--budget-period", "week"}, conn...), 1, "budget_period"},
		{"no tenant", append([]string{"create"}, conn...), 2, "--tenant"},
		{"no id", append([]string{"revoke"}, conn...), 2, "id"},
		{"unknown subcommand", append([]string{"rotate"}, conn...), 2, "unknown subcommand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := keysCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d mentioning %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}
