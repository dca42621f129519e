package dynamostore

import (
	"testing"

	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/session/sessiontest"
)

func TestSessionStore(t *testing.T) {
	db := openDB(t)
	sessiontest.Run(t, func(t *testing.T, o session.StoreOptions) session.Store {
		return NewSessionStore(db, o)
	})
}
