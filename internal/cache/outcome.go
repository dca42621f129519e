package cache

// Outcome is what a lookup did, as X-Cato-Cache reports it.
type Outcome int

const (
	// Miss: no equivalent question in scope; the answer may be stored.
	Miss Outcome = iota
	// Hit: a stored answer is served.
	Hit
	// Bypass: the cache must not serve this request, nor store its answer.
	Bypass
)

// String returns "miss", "hit" or "bypass".
func (o Outcome) String() string {
	switch o {
	case Hit:
		return "hit"
	case Miss:
		return "miss"
	case Bypass:
		return "bypass"
	}
	return "unknown"
}

// Reason says why a request bypassed the cache. The rule is written down
// in docs/cache.md; Reasons lists them in that order.
type Reason string

const (
	// ReasonNone: the request did not bypass.
	ReasonNone Reason = ""
	// ReasonDisabled: the cache is off, globally or for this request
	// (cato.cache: false).
	ReasonDisabled Reason = "disabled"
	// ReasonTemperature: sampled hotter than cache.max_temperature.
	ReasonTemperature Reason = "temperature"
	// ReasonTools: the request offers tools or carries tool calls.
	ReasonTools Reason = "tools"
	// ReasonAnswerShape: the request asks for more than a stored answer's
	// text: n > 1 choices, logprobs, or audio.
	ReasonAnswerShape Reason = "answer_shape"
	// ReasonNonText: a message carries a content part other than text
	// (an image, audio, a file): the question's text does not say what
	// is asked about, so two such requests cannot be compared.
	ReasonNonText Reason = "non_text_content"
	// ReasonSessionMemory: the answer depends on session memory or
	// recalled long-term memory.
	ReasonSessionMemory Reason = "session_memory"
	// ReasonHistory: the request carries earlier turns of a conversation.
	ReasonHistory Reason = "history"
	// ReasonTooLarge: the question is longer than Options.MaxEntryBytes;
	// it is not embedded.
	ReasonTooLarge Reason = "too_large"
	// ReasonPersonal: the question is about the asker ("What is my name?").
	ReasonPersonal Reason = "personal"
	// ReasonContext: the question refers to the conversation or to
	// something only the asker can see ("what did you say above?",
	// "why does this fail?").
	ReasonContext Reason = "context"
	// ReasonTimeSensitive: the answer changes with time ("today",
	// "latest").
	ReasonTimeSensitive Reason = "time_sensitive"
	// ReasonError: the query could not be embedded.
	ReasonError Reason = "error"
)

// Reasons lists every bypass reason, in the order the rule checks them.
var Reasons = []Reason{ReasonDisabled, ReasonTemperature, ReasonTools, ReasonAnswerShape, ReasonNonText, ReasonSessionMemory, ReasonHistory, ReasonTooLarge, ReasonPersonal, ReasonContext, ReasonTimeSensitive, ReasonError}
