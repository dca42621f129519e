// Command store measures the latency of the session store on every backend
// the environment offers: Append (one exchange: two turns), Load (a session
// of 20 turns), and a whole stateful turn in working memory
// (Memory.Context before the call + Memory.Record after), one client at a
// time. Run it through the test servers:
//
//	scripts/testenv.sh go run ./bench/store -n 2000
//
// It prints a Markdown table of p50 and p99 per backend.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/store"
)

func main() {
	n := flag.Int("n", 1000, "operations measured per backend and kind")
	flag.Parse()
	if err := run(context.Background(), *n, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "store bench:", err)
		os.Exit(1)
	}
}

type backend struct{ name, url string }

func run(ctx context.Context, n int, out io.Writer) error {
	dir, err := os.MkdirTemp("", "cato-store-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	backends := []backend{{"embedded (bbolt, fsync per write)", "embedded://" + filepath.Join(dir, "state")}}
	for _, b := range []backend{
		{"redis 7 (loopback)", os.Getenv("CATO_TEST_REDIS_URL")},
		{"postgresql 15 (loopback, fsync off)", os.Getenv("CATO_TEST_POSTGRES_URL")},
		{"pglite + pgvector (wasm, loopback)", os.Getenv("CATO_TEST_PGVECTOR_URL")},
		{"dynalite (DynamoDB protocol, in memory, loopback)", os.Getenv("CATO_TEST_DYNAMODB_URL")},
	} {
		if b.url != "" {
			backends = append(backends, b)
		}
	}
	tok, err := session.NewTokenizer()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "| backend | append p50 | append p99 | load p50 | load p99 | turn p50 | turn p99 |\n|---|---|---|---|---|---|---|\n")
	for _, b := range backends {
		r, err := measure(ctx, b.url, n, tok)
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s | %s |\n", b.name,
			pct(r.append, 50), pct(r.append, 99), pct(r.load, 50), pct(r.load, 99), pct(r.turn, 50), pct(r.turn, 99))
	}
	return nil
}

type results struct{ append, load, turn []time.Duration }

func measure(ctx context.Context, url string, n int, tok *session.Tokenizer) (results, error) {
	var r results
	b, err := store.Open(ctx, url, slog.New(slog.DiscardHandler))
	if err != nil {
		return r, err
	}
	defer b.Close()
	s := b.Sessions(session.StoreOptions{TTL: time.Hour})
	run := time.Now().UnixNano()
	exchange := []session.Turn{
		{Role: llm.RoleUser, Content: "What is the capital of France, and why is it famous?", Tokens: 12, At: time.Now()},
		{Role: llm.RoleAssistant, Content: "Paris: the Eiffel Tower, the Louvre and its cafés.", Model: "bedrock_haiku", Tokens: 14, At: time.Now()},
	}
	// Append: each op adds one exchange to one of 100 sessions.
	for i := range n {
		k := session.Key{Tenant: "bench", ID: fmt.Sprint(run, "-a-", i%100)}
		start := time.Now()
		if err := s.Append(ctx, k, exchange...); err != nil {
			return r, err
		}
		r.append = append(r.append, time.Since(start))
	}
	// Load: sessions of 20 turns.
	for i := range 50 {
		k := session.Key{Tenant: "bench", ID: fmt.Sprint(run, "-l-", i)}
		for range 10 {
			if err := s.Append(ctx, k, exchange...); err != nil {
				return r, err
			}
		}
	}
	for i := range n {
		k := session.Key{Tenant: "bench", ID: fmt.Sprint(run, "-l-", i%50)}
		start := time.Now()
		if _, err := s.Load(ctx, k); err != nil {
			return r, err
		}
		r.load = append(r.load, time.Since(start))
	}
	// A stateful turn: Context (load + budget) then Record (append).
	m, err := session.NewMemory(s, session.MemoryOptions{Tokenizer: tok, Timeout: 5 * time.Second})
	if err != nil {
		return r, err
	}
	defer m.Close()
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "And what about Lyon?"}}}
	for i := range n {
		k := session.Key{Tenant: "bench", ID: fmt.Sprint(run, "-l-", i%50)}
		start := time.Now()
		if _, _, err := m.Context(ctx, k, req); err != nil {
			return r, err
		}
		if err := m.Record(ctx, k, session.Exchange{Question: req.Messages[0].Content, Answer: "Lyon is known for its food.", Model: "bedrock_haiku"}); err != nil {
			return r, err
		}
		r.turn = append(r.turn, time.Since(start))
	}
	for _, prefix := range []string{"-a-", "-l-"} {
		for i := range 100 {
			s.Delete(ctx, session.Key{Tenant: "bench", ID: fmt.Sprint(run, prefix, i)})
		}
	}
	return r, nil
}

// pct returns the p-th percentile of ds, rounded for a table.
func pct(ds []time.Duration, p int) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	d := s[(len(s)-1)*p/100]
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
}
