package dynamostore

import (
	"testing"

	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/rollout/rollouttest"
)

func TestFlagStore(t *testing.T) {
	rollouttest.Run(t, func(t *testing.T) (a, b rollout.FlagStore) {
		db := openDB(t)
		replica := openTable(t, Options{Table: db.Table(), Region: "us-east-1", Endpoint: endpointOf(t)})
		return NewFlagStore(db), NewFlagStore(replica)
	})
}
