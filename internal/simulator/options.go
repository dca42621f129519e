package simulator

import "time"

// Defaults of a zero Options.
const (
	// DefaultErrorStatus is the status of injected errors: 503 is what a
	// briefly overloaded endpoint answers, and what breakers and retries
	// must handle.
	DefaultErrorStatus = 503
	// DefaultHiddenDim is the size of simulated hidden states, that of an
	// 8B-parameter model's residual stream.
	DefaultHiddenDim = 4096
)

// Options tunes one simulated model. The zero Options answers at once,
// without faults.
type Options struct {
	// Latency is the time before the first token. Zero means none.
	Latency time.Duration
	// Jitter adds a uniformly random delay up to this much. Zero means none.
	Jitter time.Duration
	// TokensPerSecond paces streamed tokens; zero sends them at once.
	TokensPerSecond float64
	// ErrorRate is the share of requests answered with ErrorStatus, 0..1.
	ErrorRate float64
	// ErrorStatus is the status of injected errors. Zero means
	// DefaultErrorStatus.
	ErrorStatus int
	// ResetRate is the share of streams cut off after their first chunk.
	ResetRate float64
	// StallRate is the share of requests that never answer (until the
	// client gives up).
	StallRate float64
	// HiddenDim is the size of simulated hidden states. Zero means
	// DefaultHiddenDim.
	HiddenDim int
	// AnswerTokens pads every answer to at least this many tokens (still
	// capped by the request's max_tokens), for streaming benchmarks. Zero
	// leaves answers their natural length.
	AnswerTokens int
}

func (o Options) withDefaults() Options {
	if o.ErrorStatus == 0 {
		o.ErrorStatus = DefaultErrorStatus
	}
	if o.HiddenDim == 0 {
		o.HiddenDim = DefaultHiddenDim
	}
	return o
}
