package provider

import (
	"context"

	"github.com/cato-gateway/cato/internal/llm"
)

// Provider sends chat requests to one model endpoint.
// Implementations must be safe for concurrent use.
type Provider interface {
	// Chat returns the complete answer to req.
	Chat(ctx context.Context, req *llm.Request) (*llm.Response, error)
	// ChatStream returns the answer as it is generated. The caller must
	// Close the stream. An error that happens before the first chunk is
	// returned here; later ones come from Stream.Next.
	ChatStream(ctx context.Context, req *llm.Request) (llm.Stream, error)
}

// Pinger is implemented by providers that can check their endpoint cheaply.
// The health check uses it when present.
type Pinger interface {
	Ping(ctx context.Context) error
}
