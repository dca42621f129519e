package session

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultTTL is how long an idle session is kept when StoreOptions.TTL is zero.
const DefaultTTL = 24 * time.Hour

// MaxKeyLen caps the length in bytes of a tenant and of a session id.
const MaxKeyLen = 256

var (
	// ErrNotFound is returned when a session does not exist, was deleted or
	// has expired.
	ErrNotFound = errors.New("session not found")
	// ErrConflict is returned by Store.Fold when the session's summary
	// changed after the session was loaded (another replica folded first).
	ErrConflict = errors.New("session changed since it was loaded")
	// ErrInvalidKey is returned when a tenant or session id is empty where
	// required, too long, or holds a character that is not printable.
	ErrInvalidKey = errors.New("invalid session key")
)

// Key names a session within a tenant's namespace. Two tenants may use the
// same ID: they are different sessions, and neither can read the other's.
type Key struct {
	// Tenant is the tenant of the API key; "" is the namespace of
	// unauthenticated traffic.
	Tenant string
	// ID is the client's session id (session_id, X-Cato-Session).
	ID string
}

// String returns tenant/id, for logs.
func (k Key) String() string { return k.Tenant + "/" + k.ID }

// Validate returns an error wrapping ErrInvalidKey unless ID is non-empty,
// both parts are at most MaxKeyLen bytes of valid UTF-8, and both are
// printable: letters, marks, numbers, punctuation, symbols and the ASCII
// space (unicode.IsPrint), and ID is not ".", ".." or "/", which no URL
// path can name. C0 and C1 controls (U+0085 among them), DEL,
// format characters such as bidirectional overrides, and spaces other than
// U+0020 are refused, so that an id cannot forge log lines or hide itself.
func (k Key) Validate() error {
	if k.ID == "" {
		return fmt.Errorf("%w: empty session id", ErrInvalidKey)
	}
	if k.ID == "." || k.ID == ".." || k.ID == "/" {
		// GET and DELETE /api/cato/sessions/{id} cannot name such a
		// session (an HTTP path is cleaned of dot segments, and the
		// router matches no segment that is one escaped slash), so none
		// is kept.
		return fmt.Errorf("%w: session id %q cannot be named in a URL path", ErrInvalidKey, k.ID)
	}
	for _, p := range []struct{ name, v string }{{"tenant", k.Tenant}, {"session id", k.ID}} {
		if len(p.v) > MaxKeyLen {
			return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidKey, p.name, MaxKeyLen)
		}
		if !validText(p.v) {
			return fmt.Errorf("%w: %s holds a character that is not printable, or invalid UTF-8", ErrInvalidKey, p.name)
		}
	}
	return nil
}

func validText(s string) bool {
	for _, r := range s {
		// U+FFFD is what range yields for invalid UTF-8.
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// Turn is one message of a session.
type Turn struct {
	// Seq is the turn's position in the session, from 1, with no gaps. The
	// store assigns it on Append; the value passed to Append is ignored.
	Seq  int64
	Role string // llm.RoleUser or llm.RoleAssistant
	// Content is the message's text.
	Content string
	// Model is the model that produced an assistant turn ("" for user turns).
	Model string
	// Tokens is the length of Content as Cato's tokenizer counts it
	// (cl100k_base), used for the context budget.
	Tokens int
	// At is when the turn was recorded.
	At time.Time
}

// Session is the stored state of one conversation.
type Session struct {
	Key
	// Turns are the turns not yet folded into Summary, in Seq order.
	Turns []Turn
	// Summary condenses the turns folded so far; "" when none were.
	Summary string
	// SummaryThrough is the Seq of the last turn folded into Summary, 0 when
	// none was. The first of Turns, if any, has Seq SummaryThrough+1.
	SummaryThrough int64
	// UpdatedAt is when a turn was last appended.
	UpdatedAt time.Time
}

// LastSeq returns the Seq of the session's last turn, folded or not.
func (s *Session) LastSeq() int64 {
	if n := len(s.Turns); n > 0 {
		return s.Turns[n-1].Seq
	}
	return s.SummaryThrough
}

// Fold replaces the turns up to Through by Summary.
type Fold struct {
	// From is the session's SummaryThrough when it was loaded. Fold fails
	// with ErrConflict when the session's differs, so that two replicas
	// folding the same turns cannot overwrite each other's summary.
	From int64
	// Through is the Seq of the last turn folded; From < Through <= LastSeq.
	Through int64
	// Summary is the new summary, covering every turn up to Through.
	Summary string
}

// Store keeps sessions. Implementations live in internal/store/embedded,
// redisstore and pgstore, and pass sessiontest.Run. They must be safe for
// concurrent use, from one process and from several sharing the backend.
//
// Every Append refreshes the session's expiry to now+TTL (StoreOptions);
// Fold and Delete leave it as it is. An expired session reads as
// ErrNotFound and an Append to it starts afresh.
type Store interface {
	// Load returns the session, or ErrNotFound.
	Load(ctx context.Context, k Key) (*Session, error)
	// Append adds turns at the end of the session, creating it if needed,
	// atomically: concurrent Appends are all kept, each one's turns
	// contiguous and in order, in the order the store received them.
	Append(ctx context.Context, k Key, turns ...Turn) error
	// Fold atomically replaces the turns up to f.Through by f.Summary. Turns
	// appended meanwhile are kept. It returns ErrNotFound or ErrConflict.
	Fold(ctx context.Context, k Key, f Fold) error
	// Delete removes the session. Deleting a missing session is not an error.
	Delete(ctx context.Context, k Key) error
}

// Sweeper is implemented by stores that do not expire sessions by
// themselves (embedded, PostgreSQL). Sweep deletes the expired ones and says
// how many; Memory calls it periodically.
type Sweeper interface {
	Sweep(ctx context.Context) (int, error)
}

// StoreOptions configure a Store implementation. The zero value is valid.
type StoreOptions struct {
	// TTL is how long a session lives after its last Append. Zero means
	// DefaultTTL.
	TTL time.Duration
	// Now returns the current time. Nil means time.Now. Tests inject a fake.
	Now func() time.Time
}

// WithDefaults returns o with its zero fields set to their defaults.
func (o StoreOptions) WithDefaults() StoreOptions {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// CheckFold returns an error unless f can apply to a session whose summary
// ends at through and whose last turn is last. Stores use it to share the
// rule and its errors.
func CheckFold(f Fold, through, last int64) error {
	if f.From != through {
		return fmt.Errorf("folding from turn %d, but the summary now ends at %d: %w", f.From, through, ErrConflict)
	}
	if f.Through <= f.From || f.Through > last {
		return fmt.Errorf("folding through turn %d: want a turn after %d and at most %d", f.Through, f.From, last)
	}
	return nil
}
