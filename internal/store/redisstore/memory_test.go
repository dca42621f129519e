package redisstore

import (
	"context"
	"testing"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/memory/memorytest"
	"github.com/cato-gateway/cato/internal/testenv"
)

func TestMemoryStore(t *testing.T) {
	raw := testenv.RedisURL(t)
	memorytest.Run(t, func(t *testing.T, o memory.QueueOptions) memory.Backend {
		s, err := NewMemoryStore(context.Background(), openClient(t, raw), o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
