package loadtest

import (
	"encoding/json"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
)

// API paths of the two endpoint kinds.
const (
	chatPath  = "/v1/chat/completions"
	queryPath = "/api/cato/query"
)

// generator turns a Workload into request bodies: it picks queries by
// weight, paraphrases uniformly, users uniformly, keys by the user's tenant,
// and continues multi-turn sessions whose previous turn has been answered.
// It is safe for concurrent use.
type generator struct {
	w      *Workload
	path   string
	apiKey string // used when the workload names no tenants
	prefix string // session ids are prefix + a counter

	queryCum  []float64 // cumulative query weights
	tenantCum []float64 // cumulative tenant weights

	mu       sync.Mutex // guards rng, idle and sessions
	rng      *rand.Rand
	idle     []*session // sessions waiting for their next turn, oldest first
	sessions int64      // sessions started
	uniques  uint64     // the last number given to a Query.Unique text
}

// session is one multi-turn conversation. Only one turn of a session is in
// flight at a time: next hands it out, done returns it.
type session struct {
	id      string
	user    int
	turn    int      // turns sent so far
	script  []string // nil: turns come from the query mix
	history []chatMessage
}

// request is one generated request, ready to send.
type request struct {
	path   string
	body   []byte
	key    string // API key; empty: no Authorization header
	stream bool
	sess   *session // nil for a single query
	text   string   // the user's turn, kept for client-side history
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatBody struct {
	Model         string         `json:"model"`
	Messages      []chatMessage  `json:"messages"`
	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *streamOptions `json:"stream_options,omitempty"`
	MaxTokens     int            `json:"max_tokens,omitempty"`
	User          string         `json:"user,omitempty"`
	SessionID     string         `json:"session_id,omitempty"`
	Cato          *catoExtras    `json:"cato,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type catoExtras struct {
	Domain string `json:"domain,omitempty"`
	Cache  *bool  `json:"cache,omitempty"`
}

type queryBody struct {
	Query     string `json:"query"`
	SessionID string `json:"session_id,omitempty"`
	User      string `json:"user,omitempty"`
	Domain    string `json:"domain,omitempty"`
	Cache     *bool  `json:"cache,omitempty"`
}

// newGenerator returns a generator for w, seeded with seed. Session ids
// start with prefix, which should be unique per run and worker.
func newGenerator(w *Workload, apiKey, prefix string, seed uint64) *generator {
	g := &generator{
		w:      w,
		path:   chatPath,
		apiKey: apiKey,
		prefix: prefix,
		rng:    rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
	}
	// Unique texts are numbered from a base of the run's (and worker's)
	// own, so that two runs against one cache do not ask the same
	// numbered question: prefix starts with a random run id.
	h := fnv.New64a()
	h.Write([]byte(prefix))
	g.uniques = h.Sum64() % 1_000_000 * 1_000_000
	if w.Endpoint == EndpointQuery {
		g.path = queryPath
	}
	for _, q := range w.Queries {
		g.queryCum = appendCum(g.queryCum, q.Weight)
	}
	for _, t := range w.Tenants {
		g.tenantCum = appendCum(g.tenantCum, t.Weight)
	}
	return g
}

// appendCum appends weight (zero means 1) to a cumulative weight list.
func appendCum(cum []float64, weight float64) []float64 {
	if weight == 0 {
		weight = 1
	}
	total := 0.0
	if len(cum) > 0 {
		total = cum[len(cum)-1]
	}
	return append(cum, total+weight)
}

// pick returns an index into cum chosen by weight, for u uniform in [0, 1).
func pick(cum []float64, u float64) int {
	i := sort.SearchFloat64s(cum, u*cum[len(cum)-1])
	// SearchFloat64s finds the first cum >= x; x equal to a boundary belongs
	// to the next entry.
	for i < len(cum)-1 && cum[i] <= u*cum[len(cum)-1] {
		i++
	}
	return min(i, len(cum)-1)
}

// next returns the next request to send. A session turn's session is
// handed back through done.
func (g *generator) next() *request {
	g.mu.Lock()
	stream := g.w.Endpoint == EndpointChat && g.w.Stream > 0 && g.rng.Float64() < g.w.Stream
	var (
		q    *Query
		s    *session
		text string
		user int
	)
	if g.w.Sessions.Share > 0 && g.rng.Float64() < g.w.Sessions.Share {
		s = g.takeSessionLocked()
		user = s.user
		if s.script != nil {
			text = s.script[s.turn]
		}
		s.turn++
	} else {
		user = g.rng.IntN(g.w.Users)
	}
	if text == "" {
		q = &g.w.Queries[pick(g.queryCum, g.rng.Float64())]
		text = g.textLocked(q)
	}
	g.mu.Unlock()

	// The session, if any, is ours until done: encode outside the lock.
	r := &request{path: g.path, key: g.keyFor(user), stream: stream, sess: s, text: text}
	r.body = g.body(q, text, user, s, stream)
	return r
}

// takeSessionLocked returns the oldest idle session, or starts one.
// g.mu must be held.
func (g *generator) takeSessionLocked() *session {
	if len(g.idle) > 0 {
		s := g.idle[0]
		g.idle[0] = nil
		g.idle = g.idle[1:]
		return s
	}
	g.sessions++
	s := &session{id: g.prefix + strconv.FormatInt(g.sessions, 10), user: g.rng.IntN(g.w.Users)}
	if n := len(g.w.Sessions.Scripts); n > 0 {
		s.script = g.w.Sessions.Scripts[g.rng.IntN(n)]
	}
	return s
}

// done hands a session turn's request back after its answer (empty when the
// turn failed), so that the session's next turn can be sent. It does nothing
// for single queries.
func (g *generator) done(r *request, answer string) {
	s := r.sess
	if s == nil {
		return
	}
	if g.w.Sessions.History == HistoryClient && answer != "" {
		s.history = append(s.history,
			chatMessage{Role: "user", Content: r.text},
			chatMessage{Role: "assistant", Content: answer})
	}
	limit := g.w.Sessions.Turns
	if s.script != nil {
		limit = min(limit, len(s.script))
	}
	if s.turn >= limit {
		return
	}
	g.mu.Lock()
	g.idle = append(g.idle, s)
	g.mu.Unlock()
}

// textLocked picks the text of q: its text, or one of its paraphrases,
// numbered when q asks for unique texts. g.mu must be held.
func (g *generator) textLocked(q *Query) string {
	text := q.Text
	if len(q.Paraphrases) > 0 {
		text = q.Paraphrases[g.rng.IntN(len(q.Paraphrases))]
	}
	if q.Unique {
		g.uniques++
		text += " #" + strconv.FormatUint(g.uniques, 10)
	}
	return text
}

// keyFor returns the API key of user u: a key of the user's tenant, or the
// command line's key when there are no tenants.
func (g *generator) keyFor(u int) string {
	if len(g.tenantCum) == 0 {
		return g.apiKey
	}
	t := &g.w.Tenants[pick(g.tenantCum, unitHash(uint64(u)))]
	return t.Keys[u%len(t.Keys)]
}

// unitHash maps x to [0, 1) (splitmix64), so that a user's tenant does not
// depend on the order of requests.
func unitHash(x uint64) float64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// body encodes one request body. q is nil for a scripted session turn.
func (g *generator) body(q *Query, text string, user int, s *session, stream bool) []byte {
	model, domain := g.w.Model, ""
	var cache *bool
	if q != nil {
		if q.Model != "" {
			model = q.Model
		}
		domain, cache = q.Domain, q.Cache
	}
	userID := "user-" + strconv.Itoa(user)
	sessionID := ""
	if s != nil && g.w.extras() {
		sessionID = s.id
	}
	var v any
	if g.w.Endpoint == EndpointQuery {
		v = queryBody{Query: text, SessionID: sessionID, User: userID, Domain: domain, Cache: cache}
	} else {
		b := chatBody{Model: model, MaxTokens: g.w.MaxTokens, User: userID, SessionID: sessionID}
		if g.w.System != "" {
			b.Messages = append(b.Messages, chatMessage{Role: "system", Content: g.w.System})
		}
		if s != nil {
			b.Messages = append(b.Messages, s.history...)
		}
		b.Messages = append(b.Messages, chatMessage{Role: "user", Content: text})
		if stream {
			b.Stream, b.StreamOptions = true, &streamOptions{IncludeUsage: true}
		}
		if g.w.extras() && (domain != "" || cache != nil) {
			b.Cato = &catoExtras{Domain: domain, Cache: cache}
		}
		v = b
	}
	data, err := json.Marshal(v)
	if err != nil {
		panic("loadtest: encoding a request body: " + err.Error()) // only strings and numbers: cannot fail
	}
	return data
}
