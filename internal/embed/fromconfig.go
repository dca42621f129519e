package embed

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cato-gateway/cato/internal/config"
)

// FromConfig builds the embedder c names: "local" (the default) returns a
// *Local; "openai" and "bedrock" return their client wrapped in Cached
// (4096 recent texts), since each call costs a round trip. getenv reads the
// variable named by c.APIKeyEnv (os.Getenv in production). client is the
// shared upstream HTTP client; nil means the default.
func FromConfig(ctx context.Context, c config.Embeddings, client *http.Client, getenv func(string) string) (Embedder, error) {
	switch c.Provider {
	case "", "local":
		return NewLocal(LocalOptions{})
	case "openai":
		var key string
		if c.APIKeyEnv != "" {
			key = getenv(c.APIKeyEnv)
		}
		o, err := NewOpenAI(OpenAIOptions{BaseURL: c.BaseURL, Model: c.Model, APIKey: key, Client: client})
		if err != nil {
			return nil, err
		}
		return NewCached(o, 0), nil
	case "bedrock":
		t, err := NewTitan(ctx, TitanOptions{Model: c.Model, Region: c.Region, Endpoint: c.Endpoint, HTTPClient: client})
		if err != nil {
			return nil, err
		}
		return NewCached(t, 0), nil
	}
	return nil, fmt.Errorf("embeddings.provider %q is not local, openai or bedrock", c.Provider)
}
