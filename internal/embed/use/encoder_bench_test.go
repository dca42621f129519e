package use

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// question16 is a question of 16 tokens.
const question16 = "How do I undo the last git commit but keep all my changes?"

// benchQuestions are 32 questions of 6 to 21 tokens (13 on average), as
// users ask them.
var benchQuestions = []string{
	"What is Kafka?",
	"Can you tell me what Kafka is?",
	"How do I undo the last git commit but keep all my changes?",
	"What is the difference between a process and a thread in Linux?",
	"Why does the Kafka consumer group keep rebalancing partitions?",
	"How do I read a large CSV file in Python without running out of memory?",
	"What does HTTP status code 503 mean?",
	"How do I center a div in CSS?",
	"Explain the CAP theorem with an example.",
	"What is the capital of Australia?",
	"Who wrote Pride and Prejudice?",
	"How many bones are in the human body?",
	"Why is the sky blue?",
	"What is the time complexity of binary search?",
	"How do I create a virtual environment in Python?",
	"What is the difference between git merge and git rebase?",
	"How do I add an index to a PostgreSQL table?",
	"What is a goroutine and how is it scheduled?",
	"Translate good morning into Spanish.",
	"Write a haiku about autumn leaves.",
	"Summarize the plot of Hamlet in two sentences.",
	"What are the symptoms of the flu?",
	"How do solar panels generate electricity?",
	"What is retrieval augmented generation?",
	"Is it going to rain tomorrow in London?",
	"My password reset email never arrived, what should I do?",
	"How do I get a refund for a duplicate charge?",
	"What is the best laptop for programming?",
	"Compare Kafka and RabbitMQ for event streaming.",
	"What does DNS stand for?",
	"How do I profile memory usage of a Go program?",
	"Why did the Roman Empire fall?",
}

func tokensPerText(e *Encoder, texts []string) float64 {
	n := 0
	for _, t := range texts {
		n += len(e.Tokenizer().Tokenize(nil, t))
	}
	return float64(n) / float64(len(texts))
}

// report adds the figures every encoder benchmark gives: texts per second
// (wall clock), CPU time per text (all threads), tokens per text.
func report(b *testing.B, e *Encoder, texts []string, perOp int, cpu0 time.Duration) {
	n := float64(b.N * perOp)
	b.ReportMetric(n/b.Elapsed().Seconds(), "texts/s")
	if cpu := processCPU(); cpu0 > 0 {
		b.ReportMetric(float64(cpu-cpu0)/n, "cpu-ns/text")
	}
	b.ReportMetric(tokensPerText(e, texts), "tokens/text")
}

// BenchmarkEmbedQuestion embeds one 16-token question per call, one call at
// a time: the latency of a lone request. It reports the median and 99th
// percentile of the calls.
func BenchmarkEmbedQuestion(b *testing.B) {
	e := builtIn(b)
	ctx := context.Background()
	dst := make([]float32, Dim)
	texts := []string{question16}
	e.EmbedText(ctx, dst, question16)
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if err := e.EmbedText(ctx, dst, question16); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	report(b, e, texts, 1, cpu0)
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkEmbedBatch embeds 32 texts in one call: one forward pass over
// all of them. "mix" is benchQuestions; "16tokens" is question16 32 times.
func BenchmarkEmbedBatch(b *testing.B) {
	e := builtIn(b)
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		texts []string
	}{
		{"mix", benchQuestions},
		{"16tokens", slices.Repeat([]string{question16}, 32)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			dst := make([]float32, len(tt.texts)*Dim)
			e.EmbedTo(ctx, dst, tt.texts)
			b.ReportAllocs()
			cpu0 := processCPU()
			b.ResetTimer()
			for range b.N {
				if err := e.EmbedTo(ctx, dst, tt.texts); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			report(b, e, tt.texts, len(tt.texts), cpu0)
		})
	}
}

// BenchmarkEmbedParallel has 16 callers per GOMAXPROCS each embed one
// question at a time, as concurrent requests do; the micro-batcher groups
// them into passes. Run it with -cpu 1 for the throughput of one core. It
// reports texts per forward pass.
func BenchmarkEmbedParallel(b *testing.B) {
	e := newEncoder(builtIn(b).m, Options{})
	ctx := context.Background()
	// Warm up: let every slot's working memory grow to its working size.
	var wg sync.WaitGroup
	for range 16 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			dst := make([]float32, Dim)
			for _, q := range benchQuestions {
				e.EmbedText(ctx, dst, q)
			}
		})
	}
	wg.Wait()
	e.passes.Store(0)
	var next atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]float32, Dim)
		for pb.Next() {
			q := benchQuestions[next.Add(1)%int64(len(benchQuestions))]
			if err := e.EmbedText(ctx, dst, q); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	report(b, e, benchQuestions, 1, cpu0)
	b.ReportMetric(float64(b.N)/float64(e.passes.Load()), "texts/pass")
}
