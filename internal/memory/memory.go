package memory

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of the stores and of Memory. Stores return them wrapped.
var (
	// ErrInvalidKey is returned for a tenant or user Cato cannot store:
	// empty tenant, too long, NUL bytes.
	ErrInvalidKey = errors.New("invalid memory key")
	// ErrInvalidInteraction is returned for an interaction without text,
	// or too large.
	ErrInvalidInteraction = errors.New("invalid interaction")
	// ErrConflict is returned by Store.Apply when the user's memory
	// changed since the Version the change was planned on.
	ErrConflict = errors.New("memory changed since it was read")
	// ErrDuplicate is returned by Store.Apply when the change's
	// interaction was consolidated already: its episode exists.
	ErrDuplicate = errors.New("interaction already consolidated")
	// ErrForgotten is returned by Store.Apply when the change's
	// interaction belongs to a user or session forgotten after it was
	// made.
	ErrForgotten = errors.New("interaction belongs to forgotten memory")
	// ErrDisabled is returned by Memory for a tenant whose memory is off.
	ErrDisabled = errors.New("long-term memory is disabled")
)

// Limits of what memory stores.
const (
	// MaxKeyLen bounds a tenant, user or session id, in bytes.
	MaxKeyLen = 256
	// MaxTextBytes bounds an interaction's query and response, each.
	MaxTextBytes = 64 << 10
)

// DefaultDomain is the domain of an interaction that names none.
const DefaultDomain = "general"

// Key names one user's memory: User of Tenant. User may be empty: the
// tenant's unnamed user, whose memory the API reaches when a call names
// no user.
type Key struct {
	Tenant string
	User   string
}

// Validate reports whether k can be stored: a tenant, no part too long,
// holding a NUL byte or invalid UTF-8, and a user other than ".", ".."
// and "/".
func (k Key) Validate() error {
	if k.Tenant == "" {
		return fmt.Errorf("%w: tenant is empty", ErrInvalidKey)
	}
	for _, p := range []string{k.Tenant, k.User} {
		if err := checkID(p); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
	}
	if k.User == "." || k.User == ".." || k.User == "/" {
		// DELETE /api/cato/memory/users/{user} cannot name such a user (an
		// HTTP path is cleaned of dot segments, and the router matches no
		// segment that is one escaped slash), so nothing is kept for one.
		return fmt.Errorf("%w: user %q cannot be named in a URL path", ErrInvalidKey, k.User)
	}
	return nil
}

func checkID(s string) error {
	switch {
	case len(s) > MaxKeyLen:
		return fmt.Errorf("%d bytes; at most %d", len(s), MaxKeyLen)
	case strings.ContainsRune(s, 0):
		return errors.New("holds a NUL byte")
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	}
	return nil
}

// Interaction is one exchange to remember: a user's query and the answer
// they got. ID and At are set by Memory when it takes the interaction.
type Interaction struct {
	ID        string `json:"id"`
	Tenant    string `json:"tenant"`
	User      string `json:"user,omitempty"`
	SessionID string `json:"session_id,omitempty"`
	Domain    string `json:"domain,omitempty"`
	Query     string `json:"query"`
	Response  string `json:"response,omitempty"`
	Model     string `json:"model,omitempty"`
	// Source says where it came from: api (POSTed), chat (answered by a
	// model), cache (answered by the semantic cache) or legacy (answered
	// by the legacy side of the rollout).
	Source string    `json:"source,omitempty"`
	At     time.Time `json:"at"`
}

// Key returns whose interaction it is.
func (i *Interaction) Key() Key { return Key{Tenant: i.Tenant, User: i.User} }

// Validate reports whether i can be queued.
func (i *Interaction) Validate() error {
	if err := i.Key().Validate(); err != nil {
		return err
	}
	if err := checkID(i.SessionID); err != nil {
		return fmt.Errorf("%w: session_id %v", ErrInvalidInteraction, err)
	}
	if err := checkID(i.Domain); err != nil {
		return fmt.Errorf("%w: domain %v", ErrInvalidInteraction, err)
	}
	if strings.TrimSpace(i.Query) == "" && strings.TrimSpace(i.Response) == "" {
		return fmt.Errorf("%w: query and response are both empty", ErrInvalidInteraction)
	}
	if len(i.Query) > MaxTextBytes || len(i.Response) > MaxTextBytes {
		return fmt.Errorf("%w: query or response over %d bytes", ErrInvalidInteraction, MaxTextBytes)
	}
	return nil
}

// domain returns the interaction's domain, DefaultDomain when unset.
func (i *Interaction) domain() string {
	if i.Domain == "" {
		return DefaultDomain
	}
	return i.Domain
}

// newID returns a fresh identifier: 8 bytes of the time in nanoseconds
// and 8 random bytes, in hex, so that identifiers sort roughly by time.
func newID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(b[8:])
	return hex.EncodeToString(b[:])
}

// Episode is an interaction as episodic memory keeps it: searchable by the
// meaning of its text. Its ID is the interaction's.
type Episode struct {
	ID        string    `json:"id"`
	Tenant    string    `json:"tenant"`
	User      string    `json:"user,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	Domain    string    `json:"domain,omitempty"`
	Query     string    `json:"query"`
	Response  string    `json:"response,omitempty"`
	At        time.Time `json:"at"`
	// FactIDs are the facts the interaction stated, as consolidation left
	// them (a fact merged into an earlier one is that one). An episode
	// whose facts are all superseded is not recalled: it would bring back
	// what was replaced.
	FactIDs []string `json:"facts,omitempty"`
	// Vector embeds the query and response; nil when the embedder could
	// not be reached, and the episode is then never found by search.
	Vector []float32 `json:"-"`
}

// Key returns whose episode it is.
func (e *Episode) Key() Key { return Key{Tenant: e.Tenant, User: e.User} }

// EpisodeHit is an episode found by search, with its cosine similarity to
// the query.
type EpisodeHit struct {
	Episode
	Score float32
}

// EpisodeRef names one episode of a user.
type EpisodeRef struct {
	User string
	ID   string
}

// Source is one interaction a fact was stated in.
type Source struct {
	Interaction string    `json:"interaction"`
	SessionID   string    `json:"session_id,omitempty"`
	At          time.Time `json:"at"`
}

// Fact is one atomic statement consolidated from interactions: Subject
// Predicate Object, or its negation. Facts about the user have Subject
// "user". A fact is current until a later statement contradicts it; it is
// then kept, with SupersededBy and SupersededAt, but no longer served.
type Fact struct {
	ID        string `json:"id"`
	Tenant    string `json:"tenant"`
	User      string `json:"user,omitempty"`
	Subject   string `json:"subject"`
	Predicate string `json:"predicate"`
	Object    string `json:"object"`
	Negated   bool   `json:"negated,omitempty"`
	Domain    string `json:"domain"`
	// Confidence is in (0, 1]: the extractor's, raised each time another
	// interaction states the fact again.
	Confidence float64 `json:"confidence"`
	// Sources are the interactions that stated it, oldest first.
	Sources []Source `json:"sources"`
	// StatedAt is when it was last stated: the newest source's time. Of
	// two contradicting facts, the one stated later wins.
	StatedAt     time.Time `json:"stated_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	SupersededBy string    `json:"superseded_by,omitempty"`
	SupersededAt time.Time `json:"superseded_at,omitzero"`
	// Vector embeds Statement(), for recall and for the judge; nil when
	// the embedder could not be reached.
	Vector Vector `json:"vector,omitempty"`
}

// Current reports whether the fact is served: not superseded.
func (f *Fact) Current() bool { return f.SupersededBy == "" }

// Key returns whose fact it is.
func (f *Fact) Key() Key { return Key{Tenant: f.Tenant, User: f.User} }

// SessionID returns the session of the fact's first source.
func (f *Fact) SessionID() string {
	if len(f.Sources) == 0 {
		return ""
	}
	return f.Sources[0].SessionID
}

// Vector is an embedding. Its JSON is the base64 of its little-endian
// float32s, a fifth of the size of a JSON array of numbers and many times
// faster to read.
type Vector []float32

// MarshalJSON encodes v as a base64 string.
func (v Vector) MarshalJSON() ([]byte, error) {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	out := make([]byte, 0, base64.StdEncoding.EncodedLen(len(b))+2)
	out = append(out, '"')
	out = base64.StdEncoding.AppendEncode(out, b)
	return append(out, '"'), nil
}

// UnmarshalJSON decodes a base64 string, or null.
func (v *Vector) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*v = nil
		return nil
	}
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return errors.New("vector: want a base64 string")
	}
	b, err := base64.StdEncoding.AppendDecode(nil, data[1:len(data)-1])
	if err != nil || len(b)%4 != 0 {
		return fmt.Errorf("vector: not base64 of float32s: %v", err)
	}
	out := make(Vector, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	*v = out
	return nil
}

// State is a user's facts, as Store.Load selected them, as of Version.
type State struct {
	// Version counts the changes applied to the user's memory; Apply
	// refuses a change planned on another version.
	Version int64
	Facts   []Fact
}

// Change is what one step of consolidation or forgetting writes to one
// user's memory, atomically.
type Change struct {
	Key Key
	// Version is the State.Version the change was planned on.
	Version int64
	// Interaction, when set, is the interaction this change consolidates:
	// Apply refuses it with ErrDuplicate when its episode exists and with
	// ErrForgotten when its user or session was forgotten at or after its
	// time.
	Interaction *Interaction
	// Episode, when set, is stored (its ID is the interaction's).
	Episode *Episode
	// Put are facts to store, replacing those of the same ID.
	Put []Fact
	// Delete are IDs of facts to delete.
	Delete []string
	// DeleteEpisodes are IDs of episodes to delete.
	DeleteEpisodes []string
}

// Delivery is one interaction claimed from a Queue. Attempt counts its
// deliveries, 1 for the first; Receipt is the queue's handle, for Ack.
type Delivery struct {
	Interaction Interaction
	Attempt     int
	Receipt     string
}

// QueueStats describes a queue.
type QueueStats struct {
	// Depth is how many interactions wait or are being consolidated.
	Depth int64
	// InFlight is how many of them are claimed and not yet acknowledged.
	InFlight int64
	// Oldest is when the oldest of them was enqueued; zero when empty.
	Oldest time.Time
}
