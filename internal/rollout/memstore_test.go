package rollout_test

import (
	"testing"

	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/rollout/rollouttest"
)

func TestMemoryStore(t *testing.T) {
	rollouttest.Run(t, func(t *testing.T) (a, b rollout.FlagStore) {
		s := &rollout.MemoryStore{}
		return s, s
	})
}
