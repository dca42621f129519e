package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cato-gateway/cato/internal/provider"
)

// OpenAIOptions configures OpenAI.
type OpenAIOptions struct {
	// BaseURL is the server's URL, /v1 included
	// (https://api.openai.com/v1, http://127.0.0.1:11434/v1). Required.
	BaseURL string
	// Model is the embedding model id sent upstream. Required.
	Model string
	// APIKey is sent as a bearer token when set.
	APIKey string
	// Dimensions asks models that support it (text-embedding-3-*) for
	// vectors of this size, and is what Dim reports before the first
	// answer. Zero leaves the model's size and Dim learns it.
	Dimensions int
	// BatchSize caps the texts sent in one request. Zero means 256.
	BatchSize int
	// Client sends the requests. Nil means http.DefaultClient.
	Client *http.Client
}

// OpenAI embeds through an OpenAI-compatible POST {BaseURL}/embeddings
// (OpenAI, vLLM, Ollama, LiteLLM), in batches of BatchSize, one batch after
// another. Vectors are normalised whatever the server sends. It is safe for
// concurrent use.
type OpenAI struct {
	opts OpenAIOptions
	url  string
	dim  atomic.Int64
}

var _ Embedder = (*OpenAI)(nil)

// NewOpenAI checks opts and returns the client; it does no I/O.
func NewOpenAI(opts OpenAIOptions) (*OpenAI, error) {
	if opts.BaseURL == "" || opts.Model == "" {
		return nil, errors.New("openai embeddings: base_url and model are required")
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.Client == nil {
		opts.Client = http.DefaultClient
	}
	o := &OpenAI{opts: opts, url: strings.TrimSuffix(opts.BaseURL, "/") + "/embeddings"}
	o.dim.Store(int64(opts.Dimensions))
	return o, nil
}

// Dim returns Dimensions, or the size of the last vectors received; zero
// before the first call when Dimensions is unset.
func (o *OpenAI) Dim() int { return int(o.dim.Load()) }

type openAIRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions,omitempty"`
}

type openAIResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

// Embed sends texts in batches and returns their vectors in order.
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += o.opts.BatchSize {
		batch := texts[start:min(start+o.opts.BatchSize, len(texts))]
		vecs, err := o.embedBatch(ctx, batch)
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
	}
	return out, nil
}

func (o *OpenAI) embedBatch(ctx context.Context, batch []string) ([][]float32, error) {
	body, err := json.Marshal(openAIRequest{Model: o.opts.Model, Input: batch, EncodingFormat: "float", Dimensions: o.opts.Dimensions})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("embedding with %s: %w", o.opts.Model, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if o.opts.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.opts.APIKey)
	}
	resp, err := o.opts.Client.Do(req)
	if err != nil {
		return nil, &provider.Error{Model: o.opts.Model, StatusCode: http.StatusBadGateway, Code: provider.CodeUpstreamUnreachable, Retryable: ctx.Err() == nil, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, &provider.Error{Model: o.opts.Model, StatusCode: http.StatusBadGateway, Code: provider.CodeUpstreamError, Retryable: true, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		return nil, &provider.Error{
			Model: o.opts.Model, StatusCode: resp.StatusCode, Code: provider.CodeUpstreamError,
			Retryable:  provider.StatusRetryable(resp.StatusCode),
			RetryAfter: provider.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
			Err:        fmt.Errorf("embeddings answered %s: %s", resp.Status, truncate(raw, 512)),
		}
	}
	var r openAIResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, &provider.Error{Model: o.opts.Model, StatusCode: http.StatusBadGateway, Code: provider.CodeBadResponse, Err: fmt.Errorf("decoding embeddings: %w", err)}
	}
	vecs := make([][]float32, len(batch))
	for _, d := range r.Data {
		if d.Index < 0 || d.Index >= len(batch) || vecs[d.Index] != nil {
			return nil, &provider.Error{Model: o.opts.Model, StatusCode: http.StatusBadGateway, Code: provider.CodeBadResponse, Err: fmt.Errorf("embeddings answer has a bad or repeated index %d", d.Index)}
		}
		Normalize(d.Embedding)
		vecs[d.Index] = d.Embedding
	}
	for i, v := range vecs {
		if len(v) == 0 || len(v) != len(vecs[0]) {
			return nil, &provider.Error{Model: o.opts.Model, StatusCode: http.StatusBadGateway, Code: provider.CodeBadResponse, Err: fmt.Errorf("embeddings answer lacks input %d or mixes sizes", i)}
		}
	}
	o.dim.Store(int64(len(vecs[0])))
	return vecs, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
