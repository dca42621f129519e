package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/feedback"
	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/store/dynamostore"
	"github.com/cato-gateway/cato/internal/testenv"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		kind    Kind
		check   func(t *testing.T, loc Location)
		wantErr string
	}{
		{url: "embedded://.cato", kind: Embedded, check: func(t *testing.T, l Location) {
			if l.Embedded.Dir != ".cato" {
				t.Errorf("Dir = %q", l.Embedded.Dir)
			}
		}},
		{url: "redis://127.0.0.1:6379/2?prefix=x:&pool_size=7", kind: Redis, check: func(t *testing.T, l Location) {
			r := l.Redis.Redis
			if l.Redis.Prefix != "x:" || r.DB != 2 || r.PoolSize != 7 || r.Addr != "127.0.0.1:6379" {
				t.Errorf("got prefix %q db %d pool %d addr %q", l.Redis.Prefix, r.DB, r.PoolSize, r.Addr)
			}
			if r.DialTimeout != time.Second || r.MaxRetries != -1 || !r.ContextTimeoutEnabled {
				t.Errorf("fail-fast defaults not applied: dial %v retries %d", r.DialTimeout, r.MaxRetries)
			}
		}},
		{url: "redis://h:6379?dial_timeout=3s&max_retries=2", kind: Redis, check: func(t *testing.T, l Location) {
			if r := l.Redis.Redis; r.DialTimeout != 3*time.Second || r.MaxRetries != 2 {
				t.Errorf("URL settings overridden: dial %v retries %d", r.DialTimeout, r.MaxRetries)
			}
		}},
		{url: "rediss://user:pw@h:6380/0", kind: Redis},
		{url: "postgres://u:p@db.example:5433/cato?sslmode=require&pool_max_conns=9&vector=off", kind: Postgres, check: func(t *testing.T, l Location) {
			p := l.Postgres.Pool
			if p.MaxConns != 9 || p.ConnConfig.Port != 5433 || p.ConnConfig.Database != "cato" || l.Postgres.Vector != 1 {
				t.Errorf("got max %d port %d db %q vector %v", p.MaxConns, p.ConnConfig.Port, p.ConnConfig.Database, l.Postgres.Vector)
			}
			if p.ConnConfig.ConnectTimeout != 2*time.Second {
				t.Errorf("ConnectTimeout = %v; want the 2s default", p.ConnConfig.ConnectTimeout)
			}
		}},
		{url: "postgresql://h/db?application_name=cato&search_path=cato", kind: Postgres},
		{url: "dynamodb://cato?region=eu-west-1&endpoint=http://127.0.0.1:8000", kind: Dynamo, check: func(t *testing.T, l Location) {
			if d := l.Dynamo; d.Table != "cato" || d.Region != "eu-west-1" || d.Endpoint != "http://127.0.0.1:8000" {
				t.Errorf("got %+v", d)
			}
		}},
		{url: "dynamodb://cato?regio=x", wantErr: `unknown parameter "regio"`},
		{url: "redis://h?unknown=1", wantErr: "unexpected option"},
		{url: "redis://h?prefix=a&prefix=b", wantErr: "given 2 times"},
		{url: "postgres://h/db?sslmod=disable", wantErr: `unknown parameter "sslmod"`},
		{url: "postgres://h/db?vector=maybe", wantErr: "vector"},
		{url: "embedded://x?nosync=1", wantErr: "unknown parameter"},
		{url: "mysql://h/db", wantErr: "unknown scheme"},
		{url: ".cato", wantErr: "want embedded://PATH"},
		{url: "postgres://bob:hunter2@h/db?bad=1", wantErr: "bob:xxxxx@h"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			loc, err := ParseURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseURL error = %v; want it to mention %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if loc.Kind != tt.kind {
				t.Errorf("Kind = %q; want %q", loc.Kind, tt.kind)
			}
			if tt.check != nil {
				tt.check(t, loc)
			}
		})
	}
}

// FuzzParseURL checks that ParseURL never panics, and that what it accepts
// has a kind and never leaks a password into errors.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"embedded://.cato", "embedded:///var/lib/cato?lock_timeout=2s", "embedded://",
		"redis://127.0.0.1:6379/0", "rediss://u:p@h:1/2?prefix=p:&dial_timeout=1s", "redis://h/x",
		"redis://[::1]:6379", "redis://h?db=3", "redis://%zz", "redis://h?max_retries=-5",
		"postgres://u:p@h:5432/db?sslmode=disable&pool_max_conns=4", "postgresql:///db?host=/tmp",
		"postgres://h/db?vector=require", "postgres://h:99999/db", "postgres://h/db?pool_max_conns=0",
		"dynamodb://cato?region=us-east-1", "dynamodb://t-1.x_y?endpoint=http://[::1]:9", "dynamodb://ab",
		"unix:///tmp/redis.sock", "", "://", "embedded://a\x00b", "postgres://h/db?connect_timeout=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		loc, err := ParseURL(raw)
		if err != nil {
			return
		}
		switch loc.Kind {
		case Embedded:
			if loc.Embedded.Dir == "" {
				t.Errorf("ParseURL(%q): embedded without a directory", raw)
			}
		case Redis:
			if loc.Redis.Redis == nil {
				t.Errorf("ParseURL(%q): redis without options", raw)
			}
		case Postgres:
			if loc.Postgres.Pool == nil {
				t.Errorf("ParseURL(%q): postgres without options", raw)
			}
		case Dynamo:
			if loc.Dynamo.Table == "" {
				t.Errorf("ParseURL(%q): dynamodb without a table", raw)
			}
		default:
			t.Errorf("ParseURL(%q): kind %q", raw, loc.Kind)
		}
	})
}

// TestParseURLErrorsHidePasswords: a store URL Cato refuses is named in
// the error with its password masked.
func TestParseURLErrorsHidePasswords(t *testing.T) {
	for _, raw := range []string{
		"postgres://bob:s3cret@h/db?nonsense=1",
		"redis://:s3cret@h:6379/0?bogus=1",
		"mysql://bob:s3cret@h/db",
	} {
		_, err := ParseURL(raw)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseURL(%q) = %v; want an error without the password", raw, err)
		}
	}
}

// TestOpen opens each backend through its URL and round-trips a turn.
func TestOpen(t *testing.T) {
	urls := map[string]func(t *testing.T) string{
		"embedded": func(t *testing.T) string { return "embedded://" + filepath.Join(t.TempDir(), "state") },
		"redis":    func(t *testing.T) string { return testenv.RedisURL(t) + "?prefix=test-open:" },
		"postgres": func(t *testing.T) string { return testenv.PostgresURL(t) },
		"pgvector": func(t *testing.T) string { return testenv.PgvectorURL(t) },
		"dynamodb": dynamoURL,
	}
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b, err := Open(ctx, url(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if err := b.Ping(ctx); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			s := b.Sessions(session.StoreOptions{})
			k := session.Key{Tenant: "open-test", ID: time.Now().Format(time.RFC3339Nano)}
			if err := s.Append(ctx, k, session.Turn{Role: "user", Content: "hi"}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Load(ctx, k)
			if err != nil || len(got.Turns) != 1 {
				t.Fatalf("Load = %+v, %v", got, err)
			}
			if err := s.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
			// Every backend has its own key and feedback stores.
			if n, err := b.Keys().Spent(ctx, "key_open_test", "2026-12"); err != nil || n != 0 {
				t.Errorf("Keys().Spent = %d, %v; want 0", n, err)
			}
			if _, err := b.Feedback(feedback.StoreOptions{}).Counts(ctx, time.Now().Add(-time.Hour), time.Now()); err != nil {
				t.Errorf("Feedback().Counts: %v", err)
			}
		})
	}
}

// dynamoURL returns the URL of the test DynamoDB server with a table of
// the test's own, which it drops at the end.
func dynamoURL(t *testing.T) string { t.Helper(); return dynamoTableURL(t) }

// dynamoTableURL is dynamoURL for tests and benchmarks.
func dynamoTableURL(t testing.TB) string {
	t.Helper()
	loc, err := ParseURL(testenv.DynamoDBURL(t))
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	table := loc.Dynamo.Table + "-" + hex.EncodeToString(suffix)
	t.Cleanup(func() {
		loc.Dynamo.Table = table
		if db, err := dynamostore.Open(context.Background(), loc.Dynamo, nil); err == nil {
			db.DeleteTable(context.Background())
		}
	})
	return strings.Replace(testenv.DynamoDBURL(t), "://"+loc.Dynamo.Table, "://"+table, 1)
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, url := range []string{"redis://127.0.0.1:1/0", "postgres://u@127.0.0.1:1/db?sslmode=disable",
		"dynamodb://cato?region=us-east-1&endpoint=http://127.0.0.1:1"} {
		if b, err := Open(ctx, url, nil); err == nil {
			b.Close()
			t.Errorf("Open(%q) succeeded with nothing listening", url)
		}
	}
}
