package dynamostore

import (
	"testing"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/memory/memorytest"
)

func TestMemoryStore(t *testing.T) {
	memorytest.Run(t, func(t *testing.T, o memory.QueueOptions) memory.Backend {
		return NewMemoryStore(openDB(t), o)
	})
}
