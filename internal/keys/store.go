package keys

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when no key has the id or hash asked for.
var ErrNotFound = errors.New("key not found")

// ErrExists is returned by Store.Create when a key with the same id or
// hash is already stored.
var ErrExists = errors.New("key exists")

// Store keeps keys and their counters where every replica sees them.
// Implementations must be safe for concurrent use, and Admit must be
// atomic across every replica sharing the store: two replicas admitting
// the last request of a minute at once admit one of them.
type Store interface {
	// Create stores k; ErrExists when its id or hash is taken.
	Create(ctx context.Context, k Key) error
	// Lookup returns the key whose Hash is hash, revoked or not;
	// ErrNotFound when there is none.
	Lookup(ctx context.Context, hash string) (Key, error)
	// List returns every stored key, revoked ones included, oldest first
	// (ties by id).
	List(ctx context.Context) ([]Key, error)
	// Revoke marks the key with id revoked at the time given (a revoked
	// key stays revoked: a second Revoke keeps the first time);
	// ErrNotFound when there is none.
	Revoke(ctx context.Context, id string, at time.Time) error
	// Admit counts one request of a.Tokens tokens in a's window and
	// returns the counts, unless a limit refuses it: then it counts
	// nothing and says which (Verdict.Refused). See Admission for the
	// rule.
	Admit(ctx context.Context, a Admission) (Verdict, error)
	// Settle adds s.Tokens (which may be negative) to s.Window's token
	// count and s.CostNano to the spend of s.Period.
	Settle(ctx context.Context, s Settlement) error
	// Spent returns the spend of key id in period, in billionths of a
	// dollar; zero when nothing was spent.
	Spent(ctx context.Context, id, period string) (int64, error)
}

// Admission asks a Store to count one request. Admit refuses it, counting
// nothing, when
//
//   - BudgetNano > 0 and the spend of Period is already BudgetNano or more
//     (Refused = RefusedBudget);
//   - RPM > 0 and Window already counts RPM requests (RefusedRPM);
//   - TPM > 0, Window already counts some tokens and those plus Tokens
//     exceed TPM (RefusedTPM). A request alone larger than TPM is let
//     through in an empty window, so that it is not refused forever.
//
// In that order: a spent budget is reported before a busy minute.
type Admission struct {
	ID string
	// Window names the calendar minute (see windowID); counts of a window
	// may be dropped once it is over.
	Window     string
	Period     string
	Tokens     int64
	RPM, TPM   int64
	BudgetNano int64
}

// Refusal says which limit refused an admission; the zero Refusal admits.
type Refusal uint8

// Refusals.
const (
	Admitted Refusal = iota
	RefusedRPM
	RefusedTPM
	RefusedBudget
)

func (r Refusal) String() string {
	switch r {
	case RefusedRPM:
		return "rpm"
	case RefusedTPM:
		return "tpm"
	case RefusedBudget:
		return "budget"
	}
	return "admitted"
}

// Verdict is Admit's answer: the refusal, if any, and the window's counts
// and the period's spend as Admit saw them (after counting an admitted
// request).
type Verdict struct {
	Refused   Refusal
	Requests  int64
	Tokens    int64
	SpentNano int64
}

// Settlement corrects a window's token count with an answer's actual
// usage and adds its cost to a period's spend.
type Settlement struct {
	ID       string
	Window   string
	Tokens   int64
	Period   string
	CostNano int64
}
