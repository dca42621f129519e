package pgstore

import (
	"testing"

	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/keys/keystest"
	"github.com/cato-gateway/cato/internal/testenv"
)

// TestKeyStore runs the conformance suite on PostgreSQL 15, two replicas
// in a schema of their own (not on pglite, which runs every connection in
// one session and so has no concurrent admissions to order).
func TestKeyStore(t *testing.T) {
	raw := testenv.PostgresURL(t)
	keystest.Run(t, func(t *testing.T) (a, b keys.Store) {
		da, db := openSchema(t, raw, uniqueApp())
		return NewKeyStore(da), NewKeyStore(db)
	})
}
