package config

import "time"

// Config is the whole configuration of one Cato process. Load fills it from
// Default or a YAML file, and the environment; Validate checks it. A zero
// value that a package defaults stays zero here (see applyDefaults): the
// field's comment names that package's default.
type Config struct {
	// Listen is the address the gateway serves on. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// Store is where state lives, chosen by URL scheme:
	// embedded://PATH (one local file, the default embedded://.cato),
	// redis://[user:pass@]host:port/db, postgres://…, or
	// dynamodb://TABLE?region=REGION[&endpoint=URL].
	Store string `yaml:"store"`
	// Log selects the log format and level.
	Log Log `yaml:"log"`
	// Server tunes the HTTP server facing clients.
	Server Server `yaml:"server"`
	// Upstream tunes the HTTP client that reaches model endpoints.
	Upstream Upstream `yaml:"upstream"`
	// Models maps a model name (a tier such as bedrock_haiku) to its endpoint.
	Models map[string]Model `yaml:"models"`
	// Routing says which model answers a request.
	Routing Routing `yaml:"routing"`
	// Breakers configures the circuit breaker of each model; the key
	// "default" applies to every model without its own entry.
	Breakers map[string]Breaker `yaml:"breakers"`
	// Retries configures retries of retryable upstream failures.
	Retries Retries `yaml:"retries"`
	// Auth configures client and admin keys.
	Auth Auth `yaml:"auth"`
	// Session configures working memory.
	Session Session `yaml:"session"`
	// Cache configures the semantic cache.
	Cache Cache `yaml:"cache"`
	// Embeddings selects the embedder used by the cache, exemplar routes and
	// memory.
	Embeddings Embeddings `yaml:"embeddings"`
	// Memory configures long-term memory; see the type.
	Memory Memory `yaml:"memory"`
	// Rollout configures the migration from the legacy upstream.
	Rollout Rollout `yaml:"rollout"`
	// Feedback configures users' ratings of answers (docs/api.md).
	Feedback Feedback `yaml:"feedback"`
	// Telemetry configures OpenTelemetry traces; off unless an endpoint
	// is set.
	Telemetry Telemetry `yaml:"telemetry"`
}

// Telemetry configures the export of OpenTelemetry traces over OTLP/HTTP.
// The standard OTEL_* environment variables fill what it leaves unset
// (docs/operations.md, "Tracing").
type Telemetry struct {
	// OTLPEndpoint is the base URL of an OTLP/HTTP collector, as
	// OTEL_EXPORTER_OTLP_ENDPOINT is: spans are sent to /v1/traces under
	// it (http://otel-collector:4318 sends to
	// http://otel-collector:4318/v1/traces). Empty (the default) takes
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT
	// from the environment; with neither, tracing is off and costs
	// nothing.
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// SampleRatio is the share of new traces recorded, between 0 and 1:
	// a request that arrives with a W3C traceparent follows its caller's
	// decision, others are sampled at this ratio by trace id. Unset
	// takes OTEL_TRACES_SAMPLER_ARG when OTEL_TRACES_SAMPLER is
	// traceidratio or parentbased_traceidratio, else 1 (every trace).
	SampleRatio *float64 `yaml:"sample_ratio"`
}

// Log selects the log output.
type Log struct {
	// Format is "text" (default) or "json".
	Format string `yaml:"format"`
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Payloads lists the tenants whose requests and answers are logged
	// (info level, message "payload"), for debugging one tenant's
	// traffic. Empty (the default) logs no prompt, answer, key or hidden
	// state.
	Payloads []string `yaml:"payloads"`
}

// Server tunes the client-facing HTTP server.
type Server struct {
	// MaxBodyBytes caps a request body. Default 4 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request. Default 60s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response, streams included, so it must
	// outlast the longest answer. Default 10m.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout closes keep-alive connections idle this long. Default
	// 30s: an idle connection holds a file descriptor and buffers, and a
	// client reconnects cheaply.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxInFlight caps the client requests served at once (every path a
	// client key may call; health, metrics and the admin API are not
	// counted). A request with a body is counted only once its body has
	// arrived, so that clients sending bodies slowly cannot fill it. Past
	// it a request is answered 503 with Retry-After and the error code
	// "overloaded", before anything of it is processed. Zero derives it from
	// the open-file limit (half of it, less a reserve, since an HTTP/1.1
	// request in flight holds a client and an upstream socket) and, when
	// the process has a memory limit, from what it holds (48 KiB a
	// request after Cato's own 128 MiB and the cache's budget); -1 sets
	// no cap.
	MaxInFlight int `yaml:"max_in_flight"`
	// MaxConnectionsPerIP caps the connections one client address holds
	// open; a connection past it is closed as soon as it is accepted.
	// Zero derives it from the open-file limit (a quarter of it); -1 sets
	// no cap. Clients behind one NAT or proxy share an address: raise it
	// there, or use HTTP/2, which carries many requests per connection.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// MaxConnections caps the client connections held open at once, from
	// all addresses together; at the cap Cato stops accepting until one
	// closes, and new connections wait in the kernel's listen backlog. Zero derives it from the open-file limit (half of
	// it, leaving the rest for upstream connections, the store and the
	// admin listener); -1 sets no cap.
	MaxConnections int `yaml:"max_connections"`
	// ShedSlowConnections, when true, makes room at MaxConnections for a
	// new connection by closing the open one that sends its request the
	// slowest (still receiving it for at least a second, the fewest bytes
	// per second of a sample), never one whose request has arrived or
	// that is idle; the new connection is closed only when none qualifies.
	// Default false: the new connection is closed. Shedding lets more of
	// ordinary clients' new connections in under a flood of slow ones,
	// but costs more CPU per flood connection (docs/reliability.md).
	ShedSlowConnections bool `yaml:"shed_slow_connections"`
	// AdminListen, when set (e.g. ":9090"), opens a second listener that
	// serves only health, /metrics and the admin API, never client
	// routes, and is not subject to the client connection caps: probes
	// and scrapes keep answering while clients flood the main listener.
	// Empty (the default) opens none.
	AdminListen string `yaml:"admin_listen"`
	// BodyReadGrace and BodyMinRate bound how long a request body may
	// take to arrive: the bytes past the n-th must come within
	// BodyReadGrace plus n/BodyMinRate seconds of the body's start, or
	// the request is answered 408 and its connection closed. A slow
	// client is so cut off within about BodyReadGrace of falling behind,
	// whatever the body's size. Defaults 5s and 65536 bytes per second;
	// a BodyMinRate of -1 sets no such deadline (read_timeout still
	// bounds the request).
	BodyReadGrace time.Duration `yaml:"body_read_grace"`
	BodyMinRate   int64         `yaml:"body_min_rate"`
	// BodyBudgetBytes caps the bytes of request bodies read and held at
	// once: each body takes its share as its bytes arrive (the buffer
	// holding them, at most twice what has arrived and never more than
	// its Content-Length or max_body_bytes), not from its Content-Length
	// before they do, and keeps it until its request ends; one whose next
	// share does not fit is answered 503 with Retry-After and its
	// connection closed, before anything of it is processed. Default 64 ×
	// max_body_bytes (256 MiB with the default 4 MiB); at least
	// max_body_bytes; -1 sets no budget.
	BodyBudgetBytes int64 `yaml:"body_budget_bytes"`
	// ShutdownTimeout is how long in-flight requests may take to finish
	// after SIGTERM. Default 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// HTTP2 serves HTTP/2 without TLS (h2c) beside HTTP/1.1 on the plain
	// listener, so one client connection can carry thousands of concurrent
	// requests. Default true.
	HTTP2 *bool `yaml:"http2"`
	// MaxConcurrentStreams caps concurrent requests per HTTP/2 connection.
	// Clients open more connections past it. Default 250: Go's HTTP/2
	// server schedules writes round-robin over a connection's streams, and
	// its cost grows with their number (bench/RESULTS.md).
	MaxConcurrentStreams int `yaml:"max_concurrent_streams"`
	// GCPercent is the garbage collector's target (Go's GOGC) when the
	// GOGC environment variable is not set. A proxy's heap is small and
	// churns fast: at Go's 100 it collects many times a second, and each
	// cycle's CPU shows up as tail latency. Default 400; -1 leaves Go's own.
	GCPercent int `yaml:"gc_percent"`
	// ReusePort sets SO_REUSEPORT on the listener so that several Cato
	// processes can share one port. Default false.
	ReusePort bool `yaml:"reuse_port"`
}

// Upstream tunes the shared HTTP client that reaches model endpoints.
type Upstream struct {
	// Timeout bounds one attempt of one call, unless the model sets its own:
	// the whole answer, or for a stream the wait for its first chunk.
	// Default 30s. With retries.max_attempts it must leave every
	// fallback its share of retries.budget (Validate checks).
	Timeout time.Duration `yaml:"timeout"`
	// StreamIdleTimeout bounds the wait for each chunk of a started
	// stream; a stream silent this long ends with an error event. Default
	// 30s; negative disables.
	StreamIdleTimeout time.Duration `yaml:"stream_idle_timeout"`
	// DialTimeout bounds opening a connection. Default 5s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// MaxConnsPerHost caps connections to one upstream host; calls beyond
	// it wait for a free connection, within their own time. Zero means a
	// cap derived from the open-file limit (a quarter of it, at least
	// 64), so that Cato queues calls rather than run out of file
	// descriptors; negative means no cap. Default 0.
	MaxConnsPerHost int `yaml:"max_conns_per_host"`
	// MaxIdleConnsPerHost is how many idle connections to one host are kept
	// for reuse. Default 1024.
	MaxIdleConnsPerHost int `yaml:"max_idle_conns_per_host"`
	// HTTP2 speaks HTTP/2 to upstreams: over TLS when they offer it, and as
	// h2c to plain http:// upstreams when set to "h2c". "auto" (default)
	// uses HTTP/2 over TLS only; "off" never.
	HTTP2 string `yaml:"http2"`
}

// Model is one model endpoint.
type Model struct {
	// Provider is the wire protocol: bedrock, sagemaker, openai, nli or
	// simulated.
	Provider string `yaml:"provider"`
	// ModelID is the upstream's model id (Bedrock model id, the model name
	// sent to an OpenAI-compatible server). Default: the model's key.
	ModelID string `yaml:"model_id"`
	// Region is the AWS region. Default: the SDK's (AWS_REGION), else us-east-1.
	Region string `yaml:"region"`
	// Endpoint overrides the AWS endpoint URL (a VPC endpoint, a proxy, a
	// local protocol server such as `cato simulate`).
	Endpoint string `yaml:"endpoint"`
	// EndpointName is the SageMaker endpoint's name.
	EndpointName string `yaml:"endpoint_name"`
	// Variant is the SageMaker production variant to target; empty lets
	// SageMaker choose.
	Variant string `yaml:"variant"`
	// HiddenStatesVariant is the SageMaker variant that serves requests
	// asking for hidden states, so they do not interleave with plain ones on
	// the same servers. Empty means Variant.
	HiddenStatesVariant string `yaml:"hidden_states_variant"`
	// BaseURL is an OpenAI-compatible server's URL, /v1 included.
	BaseURL string `yaml:"base_url"`
	// APIKeyEnv names the environment variable holding the upstream key.
	APIKeyEnv string `yaml:"api_key_env"`
	// API selects the Bedrock API: "converse" (default) or "invoke"
	// (InvokeModel with the Anthropic Messages body).
	API string `yaml:"api"`
	// Payload selects the SageMaker payload format: "sglang" (default; the
	// /generate body, hidden states inline), "openai" (the messages body of
	// vLLM containers) or "tgi" (inputs/parameters).
	Payload string `yaml:"payload"`
	// HiddenStates configures how hidden states are reduced.
	HiddenStates HiddenStates `yaml:"hidden_states"`
	// Timeout bounds one attempt; zero means Upstream.Timeout.
	Timeout time.Duration `yaml:"timeout"`
	// MaxConcurrency caps concurrent calls to this model. Zero (the
	// default) means, for a model reached over the network, the upstream
	// connection cap per host (Upstream.MaxConnsPerHost, or the cap derived
	// from the open-file limit), and no cap for a simulated model; negative
	// means no cap.
	MaxConcurrency int `yaml:"max_concurrency"`
	// MaxQueue is how many calls may wait for a slot once MaxConcurrency is
	// reached; more are refused at once with 503 model_overloaded. Zero
	// means no queue when MaxConcurrency is set, and as many calls as the
	// cap when the cap is the default one.
	MaxQueue int `yaml:"max_queue"`
	// Price is the model's price; zero values take the built-in price of
	// known Claude models.
	Price Price `yaml:"price"`
	// Simulate tunes a simulated model.
	Simulate Simulate `yaml:"simulate"`
}

// HiddenStates configures hidden-state extraction.
type HiddenStates struct {
	// Layer is the layer to return; negative counts from the last. Default -1.
	Layer int `yaml:"layer"`
	// Pooling reduces per-token states to one vector: "last_token"
	// (default) or "mean".
	Pooling string `yaml:"pooling"`
	// MaxDim truncates the vector; zero means no cap.
	MaxDim int `yaml:"max_dim"`
}

// Price is what one million tokens cost, in US dollars.
type Price struct {
	InputPerMTok  float64 `yaml:"input_per_mtok"`
	OutputPerMTok float64 `yaml:"output_per_mtok"`
}

// Simulate tunes a simulated model (provider simulated, or `cato simulate`).
type Simulate struct {
	// Latency is the time before the first token. Default 0.
	Latency time.Duration `yaml:"latency"`
	// Jitter adds a uniformly random delay up to this much. Default 0.
	Jitter time.Duration `yaml:"jitter"`
	// TokensPerSecond paces streamed tokens; zero sends them at once.
	TokensPerSecond float64 `yaml:"tokens_per_second"`
	// ErrorRate is the share of requests answered with ErrorStatus.
	ErrorRate float64 `yaml:"error_rate"`
	// ErrorStatus is the status of injected errors. Zero means
	// simulator.DefaultErrorStatus (503).
	ErrorStatus int `yaml:"error_status"`
	// ResetRate is the share of streams cut off after their first chunk.
	ResetRate float64 `yaml:"reset_rate"`
	// StallRate is the share of requests that never answer (until the
	// client gives up).
	StallRate float64 `yaml:"stall_rate"`
	// HiddenDim is the size of simulated hidden states. Zero means
	// simulator.DefaultHiddenDim (4096).
	HiddenDim int `yaml:"hidden_dim"`
	// AnswerTokens pads every answer to at least this many tokens (still
	// capped by the request's max_tokens), for streaming benchmarks. Zero
	// leaves answers their natural length.
	AnswerTokens int `yaml:"answer_tokens"`
}

// Routing says which model answers a request. Only the built-in default
// (Default) names models of its own; a file names its own.
type Routing struct {
	// Simple is the model for simple queries. Required when more than one
	// model is configured; with one, that model. The built-in default uses
	// bedrock_haiku.
	Simple string `yaml:"simple"`
	// Complex is the model for complex queries. Empty means Simple. The
	// built-in default uses bedrock_sonnet.
	Complex string `yaml:"complex"`
	// HiddenStates is the model for requests that ask for hidden states.
	// Empty means no such rule: those requests are routed like any other.
	// The built-in default uses shadow_self.
	HiddenStates string `yaml:"hidden_states"`
	// ComplexityThreshold is the score at or above which a query is complex.
	// Zero means router.DefaultComplexityThreshold (0.5).
	ComplexityThreshold float64 `yaml:"complexity_threshold"`
	// Domains routes a domain to a model.
	Domains map[string]string `yaml:"domains"`
	// Tenants routes every request of a tenant to a model.
	Tenants map[string]string `yaml:"tenants"`
	// Fallbacks lists, per model, the models tried in order when it fails.
	Fallbacks map[string][]string `yaml:"fallbacks"`
	// Exemplars are routes defined by example queries, matched by embedding
	// similarity before the complexity score.
	Exemplars []Exemplar `yaml:"exemplars"`
}

// Exemplar is a route defined by examples.
type Exemplar struct {
	Name     string   `yaml:"name"`
	Model    string   `yaml:"model"`
	Examples []string `yaml:"examples"`
	// Threshold is the cosine similarity a query needs. Zero means
	// router.DefaultExemplarThreshold (0.8).
	Threshold float64 `yaml:"threshold"`
}

// Breaker configures one circuit breaker. Zero values take the defaults
// of package breaker.
type Breaker struct {
	// Failures is how many consecutive failures open the breaker while
	// the window holds fewer than MinRequests calls (at volume the rate
	// decides). Zero means breaker.DefaultFailures (5); negative disables
	// this rule.
	Failures int `yaml:"failures"`
	// FailureRate opens the breaker when the share of failed calls within
	// Window reaches it (with at least MinRequests calls). Zero means
	// breaker.DefaultFailureRate (0.5); negative disables this rule.
	FailureRate float64 `yaml:"failure_rate"`
	// MinRequests is the sample FailureRate needs. Zero means
	// breaker.DefaultMinRequests (20).
	MinRequests int `yaml:"min_requests"`
	// Window is the sliding window of FailureRate. Zero means
	// breaker.DefaultWindow (60s).
	Window time.Duration `yaml:"window"`
	// Cooldown is how long the breaker stays open. Zero means
	// breaker.DefaultCooldown (30s).
	Cooldown time.Duration `yaml:"cooldown"`
	// HalfOpenProbes is how many calls are let through while half open.
	// Zero means breaker.DefaultHalfOpenProbes (1).
	HalfOpenProbes int `yaml:"half_open_probes"`
	// Statuses lists the upstream statuses that count as failures; empty
	// means 408 and 5xx except 501 (a 429 is retried or falls back but
	// does not open the breaker). Timeouts and connection errors always
	// count.
	Statuses []int `yaml:"statuses"`
}

// Retries configures retries of retryable failures.
type Retries struct {
	// MaxAttempts is the number of attempts per model, the first included.
	// Default 2.
	MaxAttempts int `yaml:"max_attempts"`
	// Base is the first backoff. Zero means backoff.DefaultBase (100ms).
	Base time.Duration `yaml:"base"`
	// Max caps one backoff, and is the longest upstream Retry-After Cato
	// waits for before retrying the same model; a longer one falls back
	// at once. Zero means backoff.DefaultMax (2s).
	Max time.Duration `yaml:"max"`
	// Budget bounds a whole request, retries and fallbacks included; for
	// a stream, until its first chunk. Default 120s.
	Budget time.Duration `yaml:"budget"`
}

// Auth configures keys.
type Auth struct {
	// AdminKeyEnv names the environment variable holding the admin key.
	// Default CATO_ADMIN_KEY.
	AdminKeyEnv string `yaml:"admin_key_env"`
	// Keys are the client keys.
	Keys []Key `yaml:"keys"`
	// StoreTimeout bounds each call a request makes to the key store (the
	// lookup of a key created through the admin API, the limits check and
	// the settlement); past it the call fails as a store failure: limits
	// fail open, an unknown key gets 503. Zero means keys.DefaultTimeout
	// (500ms). Raise it for a store far away or slow.
	StoreTimeout time.Duration `yaml:"store_timeout"`
}

// Key is one client key.
type Key struct {
	// KeyEnv names the environment variable holding the key.
	KeyEnv string `yaml:"key_env"`
	// Tenant is the tenant the key belongs to.
	Tenant string `yaml:"tenant"`
	// Models lists the models the key may call (for auto routing, the
	// router's choice and its fallbacks are kept to them). Empty means
	// any.
	Models []string `yaml:"models"`
	// RPM caps the key's requests per calendar minute, across replicas
	// that share a store. Zero means no cap.
	RPM int64 `yaml:"rpm"`
	// TPM caps the key's tokens (prompt and answer) per calendar minute.
	// Zero means no cap.
	TPM int64 `yaml:"tpm"`
	// BudgetUSD caps the key's spend per budget period, in US dollars.
	// Zero means no cap.
	BudgetUSD float64 `yaml:"budget_usd"`
	// BudgetPeriod is day or month (calendar, UTC). Empty means month.
	BudgetPeriod string `yaml:"budget_period"`
}

// Session configures working memory.
type Session struct {
	// TTL is how long an idle session is kept. Zero means
	// session.DefaultTTL (24h).
	TTL time.Duration `yaml:"ttl"`
	// ContextTokens is the token budget of session context added to a
	// prompt. Zero means session's default, 2000.
	ContextTokens int `yaml:"context_tokens"`
	// SummaryModel folds old turns into the summary. Default: the simple
	// routing model.
	SummaryModel string `yaml:"summary_model"`
}

// Cache configures the semantic cache.
type Cache struct {
	// Enabled turns the cache on. Nil (unset) means true.
	Enabled *bool `yaml:"enabled"`
	// Threshold is the cosine similarity a cache candidate needs before the
	// content agreement gate examines it. Zero means cache.DefaultThreshold
	// (0.3, chosen on the dev pair set for the built-in embedders;
	// docs/cache.md); provider embedders may want another value.
	Threshold float64 `yaml:"threshold"`
	// TTL is how long an entry lives. Zero means cache.DefaultTTL (24h).
	TTL time.Duration `yaml:"ttl"`
	// MaxEntries caps the entries per replica; the oldest go first. Zero
	// means cache.DefaultMaxEntries (100000).
	MaxEntries int `yaml:"max_entries"`
	// MaxTemperature bypasses the cache for requests sampled hotter.
	// Zero means no limit.
	MaxTemperature float64 `yaml:"max_temperature"`
	// MaxEntryBytes is the largest question, and the largest answer, the
	// cache takes: a longer question is neither embedded nor looked up,
	// a longer answer is not stored. Zero means cache.DefaultMaxEntryBytes
	// (32 KiB).
	MaxEntryBytes int `yaml:"max_entry_bytes"`
	// MaxBytes bounds the bytes of the entries a replica holds, in memory
	// and in the store; the oldest go first. Zero means
	// cache.DefaultMaxBytes (256 MiB).
	MaxBytes int64 `yaml:"max_bytes"`
}

// Embeddings selects the embedder.
type Embeddings struct {
	// Provider is "use" (the offline sentence encoder built into the
	// binary, Universal Sentence Encoder lite; empty means use), "local"
	// or "glove" (offline GloVe word vectors built into the binary), "openai" (an OpenAI-compatible /v1/embeddings) or
	// "bedrock" (Titan Text Embeddings v2).
	Provider string `yaml:"provider"`
	// Model is the upstream embedding model id.
	Model string `yaml:"model"`
	// BaseURL is the OpenAI-compatible server's URL, /v1 included.
	BaseURL string `yaml:"base_url"`
	// APIKeyEnv names the environment variable holding the upstream key.
	APIKeyEnv string `yaml:"api_key_env"`
	// Region and Endpoint address Bedrock.
	Region   string `yaml:"region"`
	Endpoint string `yaml:"endpoint"`
}

// Memory configures long-term memory (episodes, facts, consolidation;
// docs/memory.md).
type Memory struct {
	// Enabled turns long-term memory on for every tenant that Tenants does
	// not turn off. Nil (unset) means true.
	Enabled *bool `yaml:"enabled"`
	// Tenants turns memory on (true) or off (false) for single tenants,
	// whatever Enabled says. Default none.
	Tenants map[string]bool `yaml:"tenants"`
	// ExtractModel is the cheap model that extracts facts. Default: the
	// simple routing model.
	ExtractModel string `yaml:"extract_model"`
	// Extractor is "model" (ask ExtractModel for facts in a JSON schema),
	// "rules" (the built-in rule extractor) or "auto" (default): rules when
	// ExtractModel is simulated, the model otherwise.
	Extractor string `yaml:"extractor"`
	// NLIModel names a model of provider nli that judges new facts against
	// old ones; empty (default) uses the rule judge.
	NLIModel string `yaml:"nli_model"`
	// RecallK is how many facts and how many episodes are recalled into a
	// prompt at most. Zero means memory's default, 3.
	RecallK int `yaml:"recall_k"`
	// ContextTokens is the token budget of what recall adds to a prompt.
	// Zero means memory's default, 400.
	ContextTokens int `yaml:"context_tokens"`
	// Workers is how many consolidation workers each replica runs. Zero
	// means memory's default, 2.
	Workers int `yaml:"workers"`
	// Lease is how long a claimed interaction stays with its worker before
	// another may take it over (a worker that died). Zero means memory's
	// default, 1m.
	Lease time.Duration `yaml:"lease"`
}

// Rollout configures the migration from the legacy upstream.
type Rollout struct {
	// Percentage is the share of users served by the new orchestrator at
	// start, until an operator changes it. Default 100.
	Percentage *int `yaml:"percentage"`
	// Legacy is the model (provider openai) requests are proxied to when
	// they fall on the legacy side. Required when Percentage < 100.
	Legacy string `yaml:"legacy"`
	// Shadow mirrors traffic to the other side for comparison.
	Shadow Shadow `yaml:"shadow"`
	// DualWrite saves turns served by the legacy side to working memory.
	// Default true.
	DualWrite *bool `yaml:"dual_write"`
	// AutoRollback sets the percentage to 0 when the new side misbehaves.
	AutoRollback AutoRollback `yaml:"auto_rollback"`
	// Poll is how often each replica re-reads the shared flag, as a safety
	// net beside change notifications. Default 1s.
	Poll time.Duration `yaml:"poll"`
	// AppConfig polls the flag from AWS AppConfig when Application is set.
	AppConfig AppConfig `yaml:"appconfig"`
	// SideHeader lets a request force its side with the X-Cato-Side header
	// (new or legacy), for testing a side before users reach it. Default
	// false: the header is ignored.
	SideHeader bool `yaml:"side_header"`
	// Overrides forces a side, whatever the percentage, for a tenant
	// ("team-a": new) or one user of a tenant ("team-a/u-42": legacy); the
	// user's entry wins. Values are new or legacy. Default none.
	Overrides map[string]string `yaml:"overrides"`
}

// Shadow configures shadow traffic.
type Shadow struct {
	// Percentage of primary requests also sent to the other side. Default 0.
	Percentage float64 `yaml:"percentage"`
	// MaxConcurrent caps shadow calls in flight; more are dropped and
	// counted. Default 64.
	MaxConcurrent int `yaml:"max_concurrent"`
}

// AutoRollback configures the guardrails.
type AutoRollback struct {
	// Enabled turns automatic rollback on. Default false.
	Enabled bool `yaml:"enabled"`
	// ErrorRate trips the rollback when reached. Default 0.01.
	ErrorRate float64 `yaml:"error_rate"`
	// P99 trips the rollback when the new side's p99 latency exceeds it.
	// Default 2s.
	P99 time.Duration `yaml:"p99"`
	// Window is the sliding window. Default 60s.
	Window time.Duration `yaml:"window"`
	// MinRequests is the sample needed before tripping. Default 100.
	MinRequests int `yaml:"min_requests"`
	// Satisfaction also trips the rollback on users' ratings (with Enabled
	// only). Nil (unset) means off.
	Satisfaction *SatisfactionRollback `yaml:"satisfaction"`
}

// SatisfactionRollback trips the rollback when the new side's share of
// negative ratings exceeds the legacy side's by more than Margin, each side
// having at least MinRatings ratings in the feedback window.
type SatisfactionRollback struct {
	// Margin is the difference of negative shares allowed, as a share
	// (0.05 is five points). Required: above 0, at most 1.
	Margin float64 `yaml:"margin"`
	// MinRatings is each side's sample. Zero means rollout's default, 50.
	MinRatings int `yaml:"min_ratings"`
}

// AppConfig addresses an AWS AppConfig configuration profile.
type AppConfig struct {
	Application string        `yaml:"application"`
	Environment string        `yaml:"environment"`
	Profile     string        `yaml:"profile"`
	Region      string        `yaml:"region"`
	Endpoint    string        `yaml:"endpoint"`
	Poll        time.Duration `yaml:"poll"`
}

// Feedback configures the ratings of answers: how long an answer can be
// rated, how long ratings are kept, and the window of the satisfaction
// figures.
type Feedback struct {
	// Enabled remembers answers and serves POST /api/cato/feedback. Nil
	// (unset) means true.
	Enabled *bool `yaml:"enabled"`
	// AnswerTTL is how long after an answer it can be rated. Zero means
	// feedback's default, 168h (7 days).
	AnswerTTL time.Duration `yaml:"answer_ttl"`
	// Retention is how long ratings are kept. Zero means feedback's
	// default, 720h (30 days).
	Retention time.Duration `yaml:"retention"`
	// Window is how far back the satisfaction figures (and the
	// satisfaction rollback) count ratings, at most back to the rollout's
	// last change. Zero means feedback's default, 1h.
	Window time.Duration `yaml:"window"`
	// Refresh is how often each replica reads the shared counts. Zero
	// means feedback's default, 10s.
	Refresh time.Duration `yaml:"refresh"`
}
