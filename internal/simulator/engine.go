package simulator

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
)

// Fault is what the engine injects into one request.
type Fault int

// Faults, decided per request from the configured rates.
const (
	NoFault Fault = iota
	// ErrorFault answers with the configured error status.
	ErrorFault
	// ResetFault cuts a stream off after its first chunk (a plain answer is
	// cut off before it is sent).
	ResetFault
	// StallFault never answers, until the client gives up.
	StallFault
)

// Engine produces simulated answers. It is safe for concurrent use.
type Engine struct {
	name string
	cfg  Options
}

// NewEngine returns an engine for the model called name.
func NewEngine(name string, opts Options) *Engine {
	return &Engine{name: name, cfg: opts.withDefaults()}
}

// Name returns the model name the engine answers as.
func (e *Engine) Name() string { return e.name }

// Config returns the engine's settings, defaults applied.
func (e *Engine) Config() Options { return e.cfg }

// Fault decides the fault for one request.
func (e *Engine) Fault() Fault {
	r := rand.Float64()
	switch {
	case r < e.cfg.StallRate:
		return StallFault
	case r < e.cfg.StallRate+e.cfg.ErrorRate:
		return ErrorFault
	case r < e.cfg.StallRate+e.cfg.ErrorRate+e.cfg.ResetRate:
		return ResetFault
	}
	return NoFault
}

// Wait sleeps for the time to first token, or until ctx is done.
func (e *Engine) Wait(ctx context.Context) error {
	d := e.cfg.Latency
	if e.cfg.Jitter > 0 {
		d += rand.N(e.cfg.Jitter)
	}
	return sleep(ctx, d)
}

// TokenGap is the pause between two streamed tokens.
func (e *Engine) TokenGap() time.Duration {
	if e.cfg.TokensPerSecond <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / e.cfg.TokensPerSecond)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Reply is one simulated answer.
type Reply struct {
	// Tokens are the pieces the answer streams as; joined they are the text.
	Tokens []string
	Usage  llm.Usage
}

// Text returns the whole answer.
func (r Reply) Text() string { return strings.Join(r.Tokens, "") }

// Answer returns the deterministic answer to req: the same messages give
// the same answer. It answers small arithmetic, remembers a name the user
// gave earlier in the conversation or that long-term memory recalled into
// a system message ("The user's name is …", and then says so), and
// otherwise says what it was asked.
func (e *Engine) Answer(req *llm.Request) Reply {
	text := e.answerText(req)
	tokens := splitTokens(text)
	for i := 0; len(tokens) < e.cfg.AnswerTokens; i++ {
		tokens = append(tokens, " "+fillerWords[i%len(fillerWords)])
	}
	if limit := req.TokenLimit(); limit > 0 && len(tokens) > limit {
		tokens = tokens[:limit]
	}
	prompt := 0
	for _, m := range req.Messages {
		prompt += approxTokens(m.Content) + 4
	}
	return Reply{Tokens: tokens, Usage: llm.Usage{PromptTokens: prompt, CompletionTokens: len(tokens)}}
}

var (
	arithRe  = regexp.MustCompile(`(-?\d+(?:\.\d+)?)\s*([-+*/x×])\s*(-?\d+(?:\.\d+)?)`)
	nameRe   = regexp.MustCompile(`(?i)\bmy name is ([A-Z][\p{L}'-]*)`)
	askNameR = regexp.MustCompile(`(?i)\bwhat(?:'s| is) my name\b`)
	// recalledNameRe finds the name in the note long-term memory adds.
	recalledNameRe = regexp.MustCompile(`\bThe user's name is (\p{Lu}[\p{L}'-]*)`)
)

func (e *Engine) answerText(req *llm.Request) string {
	q := strings.TrimSpace(req.LastUserText())
	if askNameR.MatchString(q) {
		for i := len(req.Messages) - 1; i >= 0; i-- {
			if req.Messages[i].Role == llm.RoleSystem {
				continue
			}
			if m := nameRe.FindStringSubmatch(req.Messages[i].Content); m != nil {
				return fmt.Sprintf("Your name is %s. (simulated answer from %s)", m[1], e.name)
			}
		}
		for _, msg := range req.Messages {
			if m := recalledNameRe.FindStringSubmatch(msg.Content); m != nil && msg.Role == llm.RoleSystem {
				return fmt.Sprintf("Your name is %s, as I remember from an earlier conversation. (simulated answer from %s)", m[1], e.name)
			}
		}
		// A session's summary, also a system message, may hold the name.
		for i := len(req.Messages) - 1; i >= 0; i-- {
			if m := nameRe.FindStringSubmatch(req.Messages[i].Content); m != nil {
				return fmt.Sprintf("Your name is %s. (simulated answer from %s)", m[1], e.name)
			}
		}
		return fmt.Sprintf("I do not know your name yet. (simulated answer from %s)", e.name)
	}
	if m := nameRe.FindStringSubmatch(q); m != nil {
		return fmt.Sprintf("Nice to meet you, %s. (simulated answer from %s)", m[1], e.name)
	}
	if m := arithRe.FindStringSubmatch(q); m != nil && len(q) < 80 {
		if v, ok := arith(m[1], m[2], m[3]); ok {
			return fmt.Sprintf("%s (simulated answer from %s)", v, e.name)
		}
	}
	short := q
	if len(short) > 120 {
		short = short[:120] + "…"
	}
	return fmt.Sprintf("This is a simulated answer from %s to %q. %s", e.name, short, filler(q))
}

func arith(a, op, b string) (string, bool) {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return "", false
	}
	var v float64
	switch op {
	case "+":
		v = x + y
	case "-":
		v = x - y
	case "*", "x", "×":
		v = x * y
	case "/":
		if y == 0 {
			return "", false
		}
		v = x / y
	}
	return strconv.FormatFloat(v, 'f', -1, 64), true
}

// fillerWords pad answers to Simulate.AnswerTokens.
var fillerWords = strings.Fields("and so the answer goes on at length for the benefit of the benchmark")

var fillerSentences = []string{
	"A careful answer would weigh the trade-offs and name its assumptions.",
	"It depends on the context, the data available and the constraints that matter most.",
	"The short version is that several factors interact, and each deserves a closer look.",
	"Evidence from practice points in the same direction, with a few notable exceptions.",
	"A real model would go into detail here; this one only stands in for it.",
	"Checking the result against an independent source is always worthwhile.",
}

// filler returns one to three deterministic sentences chosen by q, so that
// answers have realistic, varied lengths.
func filler(q string) string {
	h := fnv.New64a()
	h.Write([]byte(q))
	seed := h.Sum64()
	n := 1 + int(seed%3)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fillerSentences[(seed>>(8*uint(i+1)))%uint64(len(fillerSentences))]
	}
	return strings.Join(parts, " ")
}

// splitTokens splits text into word-sized tokens, each keeping its leading
// space, so that joining them gives the text back.
func splitTokens(text string) []string {
	var out []string
	start := 0
	for i := 1; i < len(text); i++ {
		if text[i] == ' ' {
			out = append(out, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// approxTokens estimates tokens as OpenAI's rule of thumb: 4 bytes each.
func approxTokens(s string) int { return (len(s) + 3) / 4 }

// HiddenStates returns a deterministic unit vector of the configured size
// derived from the prompt, standing in for a model's pooled hidden state.
func (e *Engine) HiddenStates(req *llm.Request) *llm.HiddenStates {
	h := fnv.New64a()
	for _, m := range req.Messages {
		h.Write([]byte(m.Role))
		h.Write([]byte(m.Content))
	}
	rnd := rand.New(rand.NewPCG(h.Sum64(), 0x5eed))
	v := make([]float32, e.cfg.HiddenDim)
	var norm float64
	for i := range v {
		x := rnd.NormFloat64()
		v[i] = float32(x)
		norm += x * x
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] = float32(float64(v[i]) / norm)
	}
	return &llm.HiddenStates{Model: e.name, Layer: -1, Pooling: "last_token", Dim: len(v), Values: v}
}
