package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Endpoint kinds a workload can target.
const (
	// EndpointChat is POST /v1/chat/completions (OpenAI Chat Completions).
	EndpointChat = "chat"
	// EndpointQuery is POST /api/cato/query (Cato's native call).
	EndpointQuery = "query"
)

// Session history modes.
const (
	// HistoryServer sends only the new turn and the session id: the gateway
	// keeps the conversation (Cato's working memory).
	HistoryServer = "server"
	// HistoryClient resends the whole conversation with every turn, as a
	// plain OpenAI client does.
	HistoryClient = "client"
)

// Workload describes the traffic of a load test: which endpoint, which
// queries in which proportions, how many of them belong to multi-turn
// sessions, how many stream, and who sends them. ParseWorkload reads it from
// YAML; the zero value is not valid.
type Workload struct {
	// Name labels the workload in reports. Default: the file name.
	Name string `yaml:"name"`
	// Endpoint is EndpointChat (default) or EndpointQuery.
	Endpoint string `yaml:"endpoint"`
	// Model is the model asked for. Default "auto" (Cato's router chooses).
	Model string `yaml:"model"`
	// Stream is the share of chat requests sent with "stream": true, in
	// [0, 1]. Default 0. Must be 0 for EndpointQuery.
	Stream float64 `yaml:"stream"`
	// MaxTokens is sent as max_tokens when positive. Default 0: not sent.
	MaxTokens int `yaml:"max_tokens"`
	// System is a system prompt put before every chat conversation.
	// Default empty: none.
	System string `yaml:"system"`
	// CatoExtras sends Cato's request extras (session_id, the cato object,
	// the X-Cato-Session header). Set it to false for a strict
	// OpenAI-compatible endpoint. Default true.
	CatoExtras *bool `yaml:"cato_extras"`
	// Users is how many distinct user ids ("user" field) requests come from,
	// uniformly. Default 1.
	Users int `yaml:"users"`
	// Tenants lists API keys by tenant; each user belongs to one tenant,
	// chosen by weight. Empty: every request uses the --api-key, if any.
	Tenants []Tenant `yaml:"tenants"`
	// Queries is the mix of single questions. At least one is required.
	Queries []Query `yaml:"queries"`
	// Sessions configures multi-turn conversations. Zero: none.
	Sessions Sessions `yaml:"sessions"`
}

// Tenant is one tenant's API keys. Its users spread evenly over its keys.
type Tenant struct {
	// Name labels the tenant. Required, unique.
	Name string `yaml:"name"`
	// Weight is the tenant's share of users relative to the others.
	// Zero means 1.
	Weight float64 `yaml:"weight"`
	// Keys are API keys sent as "Authorization: Bearer KEY".
	Keys []string `yaml:"keys"`
	// KeysEnv names environment variables holding more keys; LoadWorkload
	// resolves them into Keys.
	KeysEnv []string `yaml:"keys_env"`
}

// Query is one entry of the query mix: a single text, or a family of
// paraphrases of the same question (one is picked uniformly each time), so
// that a semantic cache can be measured.
type Query struct {
	// Name labels the query or family in error messages. Optional.
	Name string `yaml:"name"`
	// Text is the question. Set Text or Paraphrases, not both.
	Text string `yaml:"text"`
	// Paraphrases are wordings of one question.
	Paraphrases []string `yaml:"paraphrases"`
	// Weight is the entry's share of requests relative to the others.
	// Zero means 1.
	Weight float64 `yaml:"weight"`
	// Domain is sent as Cato's domain hint. Optional.
	Domain string `yaml:"domain"`
	// Model overrides the workload's model for this entry. Optional.
	Model string `yaml:"model"`
	// Cache, when set, asks Cato to use (true) or skip (false) its cache.
	Cache *bool `yaml:"cache"`
	// Unique appends a number of its own to each request's text (" #N",
	// counting up from a base drawn per run and worker), so that no two
	// requests ask the same question, in one run or across runs: every
	// lookup in a semantic cache misses, and is paid in full.
	Unique bool `yaml:"unique"`
}

// Sessions configures multi-turn conversations. A session's turns are sent
// one after the other; the next turn waits for the previous answer.
type Sessions struct {
	// Share is the share of requests that are session turns, in [0, 1].
	// Default 0: none.
	Share float64 `yaml:"share"`
	// Turns is the number of turns per session. Required (>= 1) when Share
	// is positive.
	Turns int `yaml:"turns"`
	// History is HistoryServer (default) or HistoryClient.
	History string `yaml:"history"`
	// Scripts are conversations whose turns are sent in order; a session
	// takes one at random. Empty: turns are drawn from the query mix.
	Scripts [][]string `yaml:"scripts"`
}

// extras reports whether Cato's request extras are sent.
func (w *Workload) extras() bool { return w.CatoExtras == nil || *w.CatoExtras }

// maxWorkloadBytes bounds a workload file; real ones are a few KiB.
const maxWorkloadBytes = 8 << 20

// ParseWorkload decodes and checks a YAML workload. Unknown keys are errors;
// every problem found is reported, joined. It does not read the environment:
// KeysEnv is left for LoadWorkload to resolve.
func ParseWorkload(data []byte) (*Workload, error) {
	if len(data) > maxWorkloadBytes {
		return nil, fmt.Errorf("workload is %d bytes; the limit is %d", len(data), maxWorkloadBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("workload is empty")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var w Workload
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("decoding workload: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("workload has more than one YAML document")
	}
	w.setDefaults()
	if err := w.Validate(); err != nil {
		return nil, err
	}
	return &w, nil
}

// LoadWorkload reads the workload file at path, parses it, and resolves
// tenants' KeysEnv with getenv (os.Getenv when nil). The name defaults to
// the file's base name without extension.
func LoadWorkload(path string, getenv func(string) string) (*Workload, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading workload: %w", err)
	}
	w, err := ParseWorkload(data)
	if err != nil {
		return nil, fmt.Errorf("workload %s: %w", path, err)
	}
	if w.Name == "" {
		base := path[strings.LastIndexByte(path, '/')+1:]
		w.Name = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	if err := w.resolveKeys(getenv); err != nil {
		return nil, fmt.Errorf("workload %s: %w", path, err)
	}
	return w, nil
}

func (w *Workload) setDefaults() {
	if w.Endpoint == "" {
		w.Endpoint = EndpointChat
	}
	if w.Model == "" {
		w.Model = "auto"
	}
	if w.Users == 0 {
		w.Users = 1
	}
	if w.Sessions.History == "" {
		w.Sessions.History = HistoryServer
	}
}

// resolveKeys appends the values of each tenant's KeysEnv to its Keys.
func (w *Workload) resolveKeys(getenv func(string) string) error {
	var errs []error
	for i := range w.Tenants {
		t := &w.Tenants[i]
		for _, name := range t.KeysEnv {
			v := getenv(name)
			if v == "" {
				errs = append(errs, fmt.Errorf("tenants[%d] (%s): keys_env %s is not set", i, t.Name, name))
				continue
			}
			t.Keys = append(t.Keys, v)
		}
		t.KeysEnv = nil
	}
	return errors.Join(errs...)
}

// Validate reports every problem with w, joined; nil means w can be run.
// ParseWorkload calls it after filling in defaults.
func (w *Workload) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch w.Endpoint {
	case EndpointChat, EndpointQuery:
	default:
		bad("endpoint %q: want %q or %q", w.Endpoint, EndpointChat, EndpointQuery)
	}
	if !isShare(w.Stream) {
		bad("stream %v: want a share between 0 and 1", w.Stream)
	} else if w.Stream > 0 && w.Endpoint == EndpointQuery {
		bad("stream %v: the query endpoint does not stream; set stream: 0 or endpoint: chat", w.Stream)
	}
	if w.MaxTokens < 0 {
		bad("max_tokens %d: want 0 (not sent) or more", w.MaxTokens)
	}
	if w.System != "" && w.Endpoint == EndpointQuery {
		bad("system: the query endpoint takes no system prompt; remove it or set endpoint: chat")
	}
	if w.Users < 1 {
		bad("users %d: want at least 1", w.Users)
	}
	names := map[string]bool{}
	for i, t := range w.Tenants {
		if t.Name == "" {
			bad("tenants[%d]: name is required", i)
		} else if names[t.Name] {
			bad("tenants[%d]: name %q is used twice", i, t.Name)
		}
		names[t.Name] = true
		if !isWeight(t.Weight) {
			bad("tenants[%d] (%s): weight %v: want 0 (means 1) or more", i, t.Name, t.Weight)
		}
		if len(t.Keys) == 0 && len(t.KeysEnv) == 0 {
			bad("tenants[%d] (%s): no keys: set keys or keys_env", i, t.Name)
		}
		for j, k := range t.Keys {
			if k == "" || strings.ContainsAny(k, " \t\r\n") {
				bad("tenants[%d] (%s): keys[%d] is empty or has white space", i, t.Name, j)
			}
		}
	}
	if len(w.Queries) == 0 {
		bad("queries: at least one query is required")
	}
	for i, q := range w.Queries {
		label := fmt.Sprintf("queries[%d]", i)
		if q.Name != "" {
			label += " (" + q.Name + ")"
		}
		switch {
		case q.Text != "" && len(q.Paraphrases) > 0:
			bad("%s: set text or paraphrases, not both", label)
		case q.Text == "" && len(q.Paraphrases) == 0:
			bad("%s: set text or paraphrases", label)
		}
		for j, p := range q.Paraphrases {
			if strings.TrimSpace(p) == "" {
				bad("%s: paraphrases[%d] is empty", label, j)
			}
		}
		if !isWeight(q.Weight) {
			bad("%s: weight %v: want 0 (means 1) or more", label, q.Weight)
		}
	}
	s := w.Sessions
	if !isShare(s.Share) {
		bad("sessions.share %v: want a share between 0 and 1", s.Share)
	}
	if s.Turns < 0 || (s.Share > 0 && s.Turns < 1) {
		bad("sessions.turns %d: want at least 1 when sessions.share is set", s.Turns)
	}
	switch s.History {
	case HistoryServer:
	case HistoryClient:
		if w.Endpoint == EndpointQuery {
			bad("sessions.history client: the query endpoint takes one query, not a conversation; use history: server")
		}
	default:
		bad("sessions.history %q: want %q or %q", s.History, HistoryServer, HistoryClient)
	}
	if s.History == HistoryServer && s.Share > 0 && !w.extras() {
		bad("sessions with history: server need cato_extras (the session id); set history: client or cato_extras: true")
	}
	for i, script := range s.Scripts {
		if len(script) == 0 {
			bad("sessions.scripts[%d] is empty", i)
		}
		for j, turn := range script {
			if strings.TrimSpace(turn) == "" {
				bad("sessions.scripts[%d][%d] is empty", i, j)
			}
		}
	}
	return errors.Join(errs...)
}

func isShare(v float64) bool  { return v >= 0 && v <= 1 } // false for NaN
func isWeight(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }
