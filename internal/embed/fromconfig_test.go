package embed

import (
	"context"
	"testing"

	"github.com/cato-gateway/cato/internal/config"
)

func TestFromConfig(t *testing.T) {
	env := map[string]string{"EMBED_KEY": "sk-test"}
	tests := []struct {
		name    string
		cfg     config.Embeddings
		want    string // %T of the result
		wantErr bool
	}{
		{"default is local", config.Embeddings{}, "*embed.Local", false},
		{"local", config.Embeddings{Provider: "local"}, "*embed.Local", false},
		{"openai", config.Embeddings{Provider: "openai", BaseURL: "http://127.0.0.1:1/v1", Model: "m", APIKeyEnv: "EMBED_KEY"}, "*embed.Cached", false},
		{"openai without model", config.Embeddings{Provider: "openai", BaseURL: "http://127.0.0.1:1/v1"}, "", true},
		{"bedrock", config.Embeddings{Provider: "bedrock", Region: "eu-west-1", Endpoint: "http://127.0.0.1:1"}, "*embed.Cached", false},
		{"unknown", config.Embeddings{Provider: "word2vec"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := FromConfig(context.Background(), tt.cfg, nil, func(k string) string { return env[k] })
			if (err != nil) != tt.wantErr {
				t.Fatalf("FromConfig error = %v; want error %v", err, tt.wantErr)
			}
			if err == nil {
				if got := typeName(e); got != tt.want {
					t.Errorf("FromConfig gave %s; want %s", got, tt.want)
				}
			}
		})
	}
}

func typeName(e Embedder) string {
	switch e.(type) {
	case *Local:
		return "*embed.Local"
	case *Cached:
		return "*embed.Cached"
	}
	return "other"
}
