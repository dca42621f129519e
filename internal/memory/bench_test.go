package memory_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/store/embedded"
)

// openEmbedded returns the embedded memory store in a fresh directory.
func openEmbedded(b *testing.B) memory.Backend {
	db, err := embedded.Open(embedded.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	s, err := embedded.NewMemoryStore(db, memory.QueueOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func percentiles(b *testing.B, lat []time.Duration, unit string) {
	slices.Sort(lat)
	div := float64(time.Microsecond)
	if unit == "ns" {
		div = 1
	}
	b.ReportMetric(float64(lat[len(lat)/2])/div, "p50-"+unit)
	b.ReportMetric(float64(lat[len(lat)*99/100])/div, "p99-"+unit)
}

// BenchmarkRecord is the request path's cost of remembering an exchange,
// on the embedded store with the recorder writing to it meanwhile:
//
//	go test -run '^$' -bench Record -benchtime 200000x ./internal/memory/
func BenchmarkRecord(b *testing.B) {
	st := openEmbedded(b)
	m, err := memory.New(memory.Options{Store: st, Queue: st, Embedder: localEmbedder(b), Buffer: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	in := memory.Interaction{Tenant: "acme", User: "u-42", SessionID: "s-1", Domain: "general",
		Query: "What is the capital of Australia?", Response: "Canberra is the capital of Australia.", Model: "bedrock_haiku", Source: "chat"}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		t := time.Now()
		m.Record(in)
		lat = append(lat, time.Since(t))
	}
	b.StopTimer()
	cancel()
	<-done
	percentiles(b, lat, "ns")
	if s := m.Status(); s.Dropped > 0 {
		b.Logf("%d of %d dropped", s.Dropped, b.N)
	}
}

// BenchmarkEnqueueEmbedded is the durable write the recorder makes: one
// interaction, or a batch, per bbolt transaction (one fsync each).
func BenchmarkEnqueueEmbedded(b *testing.B) {
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			st := openEmbedded(b)
			items := make([]memory.Interaction, n)
			for i := range items {
				items[i] = memory.Interaction{ID: fmt.Sprintf("i%d", i), Tenant: "acme", User: "u", Query: "What is the capital of Australia?", Response: "Canberra.", At: time.Now()}
			}
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t := time.Now()
				if err := st.Enqueue(context.Background(), items); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t))
			}
			percentiles(b, lat, "µs")
		})
	}
}

// workload returns n interactions of 100 users: a third plain statements
// about the user (which make facts and contradictions), the rest
// questions with answers of a few sentences.
func workload(n int) []memory.Interaction {
	statements := []string{"My name is %s.", "I live in %s.", "I work at %s.", "I'm allergic to %s.", "My favourite colour is %s.", "I moved to %s."}
	objects := []string{"Alice", "Berlin", "Siemens", "peanuts", "green", "Lisbon", "Bob", "Paris", "Airbus", "cats"}
	questions := []string{"What is the capital of Australia?", "How do I reverse a list in Python?", "Explain photosynthesis.", "What causes tides?", "Summarise the French revolution."}
	out := make([]memory.Interaction, n)
	t0 := time.Now()
	for i := range out {
		in := memory.Interaction{ID: fmt.Sprintf("%016x%016x", t0.UnixNano(), i), Tenant: "acme", User: fmt.Sprintf("u-%d", i%100),
			SessionID: fmt.Sprintf("s-%d", i%300), At: t0.Add(time.Duration(i) * time.Millisecond), Source: "chat"}
		if i%3 == 0 {
			in.Query = fmt.Sprintf(statements[(i/3)%len(statements)], objects[(i/7)%len(objects)])
			in.Response = "Noted. This is a simulated answer from bedrock_haiku."
		} else {
			in.Query = questions[i%len(questions)]
			in.Response = "This is a simulated answer from bedrock_haiku. A careful answer would weigh the trade-offs and name its assumptions. It depends on the context."
		}
		out[i] = in
	}
	return out
}

// BenchmarkConsolidate is one worker's throughput with the rule extractor
// and judge and the local embedder, on the in-memory store (the CPU's
// share) and on the embedded store (one fsync per interaction):
//
//	go test -run '^$' -bench Consolidate -benchtime 1x ./internal/memory/
func BenchmarkConsolidate(b *testing.B) {
	const n = 3000
	for _, kind := range []string{"memory", "embedded"} {
		b.Run("store="+kind, func(b *testing.B) {
			for b.Loop() {
				var st memory.Backend = newMemStore(memory.QueueOptions{})
				if kind == "embedded" {
					st = openEmbedded(b)
				}
				if err := st.Enqueue(context.Background(), workload(n)); err != nil {
					b.Fatal(err)
				}
				m, err := memory.New(memory.Options{Store: st, Queue: st, Embedder: localEmbedder(b), Workers: 1, Batch: 32})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				drain, stop := runMemory(b, m, st)
				drain()
				d := time.Since(start)
				stop()
				if ok := m.Status().Consolidations["ok"]; ok != n {
					b.Fatalf("consolidated %d of %d", ok, n)
				}
				b.ReportMetric(float64(n)/d.Seconds(), "interactions/s")
				b.ReportMetric(float64(d.Microseconds())/n, "µs/interaction")
			}
		})
	}
}

// BenchmarkRecall is what long-term memory adds to a chat turn before the
// model call, on the embedded store, for a user with 20 facts and 2,000
// episodes: load the facts, embed the query, search the episodes, write
// the note.
//
//	go test -run '^$' -bench Recall -benchtime 2000x ./internal/memory/
func BenchmarkRecall(b *testing.B) {
	st := openEmbedded(b)
	m, err := memory.New(memory.Options{Store: st, Queue: st, Embedder: localEmbedder(b), Workers: 2, Batch: 64})
	if err != nil {
		b.Fatal(err)
	}
	all := workload(6000) // 100 users: about 60 interactions, 20 of them statements, each
	if err := st.Enqueue(context.Background(), all); err != nil {
		b.Fatal(err)
	}
	drain, stop := runMemory(b, m, st)
	drain()
	stop()
	// One heavy user: 2,000 more episodes.
	heavy := workload(2000)
	for i := range heavy {
		heavy[i].User, heavy[i].ID = "u-1", "h"+heavy[i].ID
	}
	if err := st.Enqueue(context.Background(), heavy); err != nil {
		b.Fatal(err)
	}
	drain, stop = runMemory(b, m, st)
	drain()
	stop()
	k := memory.Key{Tenant: "acme", User: "u-1"}
	queries := []string{"What is my name?", "Where do I live now?", "Recommend a dinner recipe for me.", "What causes tides?", "How do I sort a map in Go?"}
	lat := make([]time.Duration, 0, b.N)
	added := 0
	ctx := context.Background()
	i := 0
	b.ResetTimer()
	for b.Loop() {
		t := time.Now()
		r, err := m.Recall(ctx, k, queries[i%len(queries)], "s-new")
		lat = append(lat, time.Since(t))
		if err != nil {
			b.Fatal(err)
		}
		if r.Text != "" {
			added++
		}
		i++
	}
	b.StopTimer()
	percentiles(b, lat, "µs")
	b.ReportMetric(float64(added)/float64(len(lat)), "added/op")
}
