package feedback

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

var (
	// ErrUnknownRequest is returned by Store.Rate when the tenant has no
	// remembered answer with the request id: it never existed, belongs to
	// another tenant, or is older than StoreOptions.AnswerTTL.
	ErrUnknownRequest = errors.New("no answer with this request id")
	// ErrInvalid is returned (wrapped) when a rating or an answer record is
	// malformed: a rating out of range, an empty or overlong request id, a
	// comment over MaxCommentBytes.
	ErrInvalid = errors.New("invalid feedback")
	// ErrStoreUnavailable is wrapped around a Store's failure to read or
	// write, by those who report it (api answers it with 503).
	ErrStoreUnavailable = errors.New("feedback store unavailable")
)

// Limits of a rating's fields.
const (
	// MaxKeyLen caps the length in bytes of a tenant, a request id, a user
	// and the side, model and route of an answer.
	MaxKeyLen = 256
	// MaxCommentBytes caps a comment: room for a paragraph, not a document.
	MaxCommentBytes = 4096
)

// Sides of the rollout, as answers record them.
const (
	SideNew    = "new"
	SideLegacy = "legacy"
)

// Answer is what Cato remembers of one answer it gave, so that a rating
// given later can be counted against the side and model that answered.
type Answer struct {
	Tenant string
	// RequestID is the answer's X-Request-Id.
	RequestID string
	// Side is SideNew or SideLegacy.
	Side string
	// Model is the model that answered ("legacy" on the legacy side).
	Model string
	// Route is the endpoint that answered, as cato_requests_total labels
	// it: chat, responses or query.
	Route string
	// Cached is true when the semantic cache answered.
	Cached bool
	// At is when the answer was given.
	At time.Time
}

// Validate returns an error wrapping ErrInvalid unless a's keys are
// usable.
func (a Answer) Validate() error {
	if a.RequestID == "" {
		return fmt.Errorf("%w: empty request id", ErrInvalid)
	}
	if a.Side != SideNew && a.Side != SideLegacy {
		return fmt.Errorf("%w: side %q is not new or legacy", ErrInvalid, a.Side)
	}
	return checkText(map[string]string{"tenant": a.Tenant, "request id": a.RequestID, "model": a.Model, "route": a.Route})
}

// Scale is how a rating is expressed.
type Scale string

// Scales of a rating.
const (
	// Thumbs rates -1 (bad), 0 (neutral) or 1 (good).
	Thumbs Scale = "thumbs"
	// Stars rates 1 to 5: 1–2 negative, 3 neutral, 4–5 positive.
	Stars Scale = "stars"
)

// Verdict is what a rating says, whatever its scale.
type Verdict string

// Verdicts, as the metrics and /status name them.
const (
	Positive Verdict = "positive"
	Neutral  Verdict = "neutral"
	Negative Verdict = "negative"
)

// Judge returns the verdict of rating on scale. An empty scale reads -1,
// 0 and 1 as Thumbs and 2 to 5 as Stars, so a client rating on five stars
// must say so to give a 1. It returns the scale used, and an error wrapping
// ErrInvalid for a rating outside the scale.
func Judge(rating int, scale Scale) (Verdict, Scale, error) {
	if scale == "" {
		scale = Thumbs
		if rating >= 2 {
			scale = Stars
		}
	}
	switch scale {
	case Thumbs:
		switch rating {
		case -1:
			return Negative, scale, nil
		case 0:
			return Neutral, scale, nil
		case 1:
			return Positive, scale, nil
		}
		return "", scale, fmt.Errorf("%w: rating %d is out of range (-1, 0 or 1 on scale thumbs; 1 to 5 on scale stars)", ErrInvalid, rating)
	case Stars:
		switch {
		case rating >= 1 && rating <= 2:
			return Negative, scale, nil
		case rating == 3:
			return Neutral, scale, nil
		case rating >= 4 && rating <= 5:
			return Positive, scale, nil
		}
		return "", scale, fmt.Errorf("%w: rating %d is out of range (1 to 5 on scale stars)", ErrInvalid, rating)
	}
	return "", scale, fmt.Errorf("%w: scale %q is not thumbs or stars", ErrInvalid, scale)
}

// Rating is one user's rating of one answer. The pair (Tenant, RequestID,
// User) identifies it: a second rating by the same user replaces the first.
type Rating struct {
	Tenant    string
	RequestID string
	// User is who rated; "" is the tenant's unnamed user.
	User string
	// Rating and Scale are as the client sent them; Verdict is what they
	// mean (Judge).
	Rating  int
	Scale   Scale
	Verdict Verdict
	// Comment is the user's words. It is stored, and never logged.
	Comment string
	// At is when the rating was given; the store sets it.
	At time.Time
	// Answer is the rated answer's record; the store fills it in.
	Answer Answer
}

// Validate checks r's keys and comment and that Verdict matches Rating
// and Scale.
func (r Rating) Validate() error {
	if r.RequestID == "" {
		return fmt.Errorf("%w: empty request id", ErrInvalid)
	}
	if err := checkText(map[string]string{"tenant": r.Tenant, "request id": r.RequestID, "user": r.User}); err != nil {
		return err
	}
	if len(r.Comment) > MaxCommentBytes {
		return fmt.Errorf("%w: comment longer than %d bytes", ErrInvalid, MaxCommentBytes)
	}
	if !utf8.ValidString(r.Comment) {
		return fmt.Errorf("%w: comment is not valid UTF-8", ErrInvalid)
	}
	v, _, err := Judge(r.Rating, r.Scale)
	if err != nil {
		return err
	}
	if v != r.Verdict {
		return fmt.Errorf("%w: verdict %q does not match rating %d on scale %s", ErrInvalid, r.Verdict, r.Rating, r.Scale)
	}
	return nil
}

// checkText refuses overlong, non-printable or invalid UTF-8 values, so
// that no key can forge a log line or a store key separator.
func checkText(fields map[string]string) error {
	for name, v := range fields {
		if len(v) > MaxKeyLen {
			return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, name, MaxKeyLen)
		}
		for _, r := range v {
			if !unicode.IsPrint(r) || r == utf8.RuneError {
				return fmt.Errorf("%w: %s holds a character that is not printable, or invalid UTF-8", ErrInvalid, name)
			}
		}
	}
	return nil
}

// Rated is what Store.Rate did.
type Rated struct {
	// Rating is the stored rating, with At and Answer filled in.
	Rating Rating
	// Replaced is true when the user had rated the answer before.
	Replaced bool
}

// Count is how many ratings with one verdict answers of one side and
// model got.
type Count struct {
	Side    string
	Model   string
	Verdict Verdict
	N       uint64
}

// Store keeps remembered answers and their ratings, per tenant. Replicas
// sharing a Redis, PostgreSQL or DynamoDB store share both, so a rating
// given on one replica counts on every other. Implementations are in
// internal/store/{embedded,redisstore,pgstore,dynamostore}, and pass
// feedbacktest.Run. They must be safe for concurrent use.
type Store interface {
	// Remember records answers so that they can be rated for
	// StoreOptions.AnswerTTL. A request id remembered again replaces the
	// earlier record.
	Remember(ctx context.Context, answers ...Answer) error
	// Rate stores r against the tenant's remembered answer r.RequestID,
	// replacing the user's earlier rating of it (which then no longer
	// counts), and sets r.At to now. It returns ErrUnknownRequest when
	// there is no such answer, and an error wrapping ErrInvalid for a
	// malformed r.
	Rate(ctx context.Context, r Rating) (Rated, error)
	// Counts returns the ratings given in [since, until), per side, model
	// and verdict, over every tenant; a replaced rating counts once, at the
	// time of its latest version.
	Counts(ctx context.Context, since, until time.Time) ([]Count, error)
	// Sweep deletes expired answers and the ratings older than
	// StoreOptions.Retention, and returns how many records went. Stores
	// whose server expires keys itself return 0.
	Sweep(ctx context.Context) (int, error)
}

// StoreOptions tune a Store. The zero value is valid.
type StoreOptions struct {
	// AnswerTTL is how long an answer can be rated. Zero means
	// DefaultAnswerTTL.
	AnswerTTL time.Duration
	// Retention is how long a rating is kept (and counted). Zero means
	// DefaultRetention.
	Retention time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Defaults of StoreOptions: a week covers a user coming back to rate
// yesterday's answer, and the rollout's canary steps; ratings stay a month
// for the cutover report.
const (
	DefaultAnswerTTL = 7 * 24 * time.Hour
	DefaultRetention = 30 * 24 * time.Hour
)

// WithDefaults returns o with its zero fields set to their defaults.
func (o StoreOptions) WithDefaults() StoreOptions {
	if o.AnswerTTL <= 0 {
		o.AnswerTTL = DefaultAnswerTTL
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
