package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// SecretPrefix starts every key Cato creates.
const SecretPrefix = "cato-"

// Period is how long a budget lasts before its spend starts again at zero.
// Periods are calendar periods in UTC.
type Period string

// Budget periods. The zero Period means Month.
const (
	Day   Period = "day"
	Month Period = "month"
)

// start returns the id of the period holding t: "2026-12-06" for a day,
// "2026-12" for a month.
func (p Period) id(t time.Time) string {
	t = t.UTC()
	if p == Day {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01")
}

// Limits are what a key may use. The zero Limits limit nothing: a zero
// number and an empty list mean no limit.
type Limits struct {
	// Models lists the models the key may call; empty means any.
	Models []string `json:"models"`
	// RPM caps requests per calendar minute; zero means no cap.
	RPM int64 `json:"rpm"`
	// TPM caps tokens (prompt and answer) per calendar minute; zero means
	// no cap.
	TPM int64 `json:"tpm"`
	// BudgetUSD caps the spend per BudgetPeriod; zero means no cap.
	BudgetUSD float64 `json:"budget_usd"`
	// BudgetPeriod is the budget's period; empty means Month.
	BudgetPeriod Period `json:"budget_period"`
}

// ErrInvalid is returned when limits or a key document are not valid.
var ErrInvalid = errors.New("invalid key")

// Check returns an error wrapping ErrInvalid when l cannot be enforced, and
// fills in the default period.
func (l *Limits) Check() error {
	var errs []error
	if l.RPM < 0 {
		errs = append(errs, fmt.Errorf("rpm %d is negative", l.RPM))
	}
	if l.TPM < 0 {
		errs = append(errs, fmt.Errorf("tpm %d is negative", l.TPM))
	}
	if l.BudgetUSD < 0 || math.IsNaN(l.BudgetUSD) || math.IsInf(l.BudgetUSD, 0) || l.BudgetUSD > 1e6 {
		errs = append(errs, fmt.Errorf("budget_usd %v is not between 0 and 1000000", l.BudgetUSD))
	}
	switch l.BudgetPeriod {
	case "":
		l.BudgetPeriod = Month
	case Day, Month:
	default:
		errs = append(errs, fmt.Errorf("budget_period %q is not day or month", l.BudgetPeriod))
	}
	for _, m := range l.Models {
		if m == "" {
			errs = append(errs, errors.New("models holds an empty name"))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// Allows reports whether the limits let a key call model.
func (l *Limits) Allows(model string) bool {
	return len(l.Models) == 0 || slices.Contains(l.Models, model)
}

// budgetNano is the budget in billionths of a dollar, the unit stores
// count spend in (costs are rounded to it).
func (l *Limits) budgetNano() int64 { return toNano(l.BudgetUSD) }

func toNano(usd float64) int64 { return int64(math.Round(usd * 1e9)) }

func fromNano(n int64) float64 { return float64(n) / 1e9 }

// Key is one client key as stored: never the secret, only its hash.
type Key struct {
	// ID names the key in the admin API; it is not secret.
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	// Hash is the hex SHA-256 of the secret.
	Hash   string `json:"hash"`
	Limits Limits `json:"limits"`
	// Created is when the key was made; zero for a key from config.
	Created time.Time `json:"created"`
	// Revoked is when the key was revoked; zero while it is valid.
	Revoked time.Time `json:"revoked"`
	// FromConfig marks a key of auth.keys: it is not in the store, and
	// config, not the admin API, removes it.
	FromConfig bool `json:"-"`
}

// HashSecret returns the hex SHA-256 of a secret, the form keys are looked
// up and stored by. A key Cato makes carries 256 random bits, so a fast
// hash is safe: there is nothing to guess.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// idOf derives a key's id from its hash, so that every replica gives a key
// from config the same id.
func idOf(hash string) string {
	h := sha256.Sum256([]byte("cato key id:" + hash))
	return "key_" + hex.EncodeToString(h[:8])
}

// newSecret returns a new random secret: "cato-" and 256 bits in hex.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return SecretPrefix + hex.EncodeToString(b)
}
