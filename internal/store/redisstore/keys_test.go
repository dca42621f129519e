package redisstore

import (
	"testing"

	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/keys/keystest"
)

func TestKeyStore(t *testing.T) {
	keystest.Run(t, func(t *testing.T) (a, b keys.Store) {
		ca, cb := openReplicas(t, uniqueName(t))
		return NewKeyStore(ca), NewKeyStore(cb)
	})
}
