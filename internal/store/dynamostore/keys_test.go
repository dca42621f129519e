package dynamostore

import (
	"testing"

	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/keys/keystest"
)

func TestKeyStore(t *testing.T) {
	keystest.Run(t, func(t *testing.T) (a, b keys.Store) {
		da := openDB(t)
		db := openTable(t, Options{Table: da.Table(), Region: "us-east-1", Endpoint: endpointOf(t)})
		return NewKeyStore(da), NewKeyStore(db)
	})
}
