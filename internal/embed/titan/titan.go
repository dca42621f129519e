package titan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"golang.org/x/sync/errgroup"

	"github.com/cato-gateway/cato/internal/embed"
	"github.com/cato-gateway/cato/internal/provider"
)

// DefaultModel is the Bedrock model id of Titan Text Embeddings v2.
const DefaultModel = "amazon.titan-embed-text-v2:0"

// Options configures a Client.
type Options struct {
	// Model is the Bedrock model id. Zero means DefaultModel.
	Model string
	// Region is the AWS region. Empty means the SDK's (AWS_REGION), else
	// us-east-1.
	Region string
	// Endpoint overrides the Bedrock runtime URL (a VPC endpoint, a local
	// protocol server).
	Endpoint string
	// Dimensions is 256, 512 or 1024 (Titan v2's sizes). Zero means 1024.
	Dimensions int
	// Concurrency caps InvokeModel calls in flight for one Embed: Titan
	// takes one text per call. Zero means 8.
	Concurrency int
	// Credentials overrides the SDK's default credential chain.
	Credentials aws.CredentialsProvider
	// HTTPClient sends the requests. Nil means the SDK's.
	HTTPClient *http.Client
}

// Client embeds through Bedrock InvokeModel with Titan Text Embeddings v2,
// one text per call, up to Concurrency calls at once. Vectors come back
// normalised. It is safe for concurrent use.
type Client struct {
	client *bedrockruntime.Client
	opts   Options
}

var _ embed.Embedder = (*Client)(nil)

// New loads the AWS configuration (environment, shared files; no I/O to
// AWS) and returns the client.
func New(ctx context.Context, opts Options) (*Client, error) {
	if opts.Model == "" {
		opts.Model = DefaultModel
	}
	switch opts.Dimensions {
	case 0:
		opts.Dimensions = 1024
	case 256, 512, 1024:
	default:
		return nil, fmt.Errorf("titan embeddings: dimensions %d is not 256, 512 or 1024", opts.Dimensions)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	var lo []func(*awsconfig.LoadOptions) error
	if opts.Region != "" {
		lo = append(lo, awsconfig.WithRegion(opts.Region))
	}
	if opts.Credentials != nil {
		lo = append(lo, awsconfig.WithCredentialsProvider(opts.Credentials))
	}
	if opts.HTTPClient != nil {
		lo = append(lo, awsconfig.WithHTTPClient(opts.HTTPClient))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return nil, fmt.Errorf("titan embeddings: loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		// Retries belong to the caller (cache lookups give up rather than wait).
		o.RetryMaxAttempts = 1
	})
	return &Client{client: client, opts: opts}, nil
}

// Dim returns Dimensions.
func (t *Client) Dim() int { return t.opts.Dimensions }

type invokeRequest struct {
	InputText  string `json:"inputText"`
	Dimensions int    `json:"dimensions"`
	Normalize  bool   `json:"normalize"`
}

type invokeResponse struct {
	Embedding []float32 `json:"embedding"`
}

// Embed returns one vector per text; the first failure cancels the rest.
func (t *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.opts.Concurrency)
	for i, text := range texts {
		g.Go(func() error {
			v, err := t.embedOne(gctx, text)
			out[i] = v
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (t *Client) embedOne(ctx context.Context, text string) ([]float32, error) {
	body, err := json.Marshal(invokeRequest{InputText: text, Dimensions: t.opts.Dimensions, Normalize: true})
	if err != nil {
		return nil, err
	}
	resp, err := t.client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
		ModelId:     aws.String(t.opts.Model),
		Body:        body,
		ContentType: aws.String("application/json"),
		Accept:      aws.String("application/json"),
	})
	if err != nil {
		return nil, t.classify(ctx, err)
	}
	var r invokeResponse
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		return nil, &provider.Error{Model: t.opts.Model, StatusCode: http.StatusBadGateway, Code: provider.CodeBadResponse, Err: fmt.Errorf("decoding titan embedding: %w", err)}
	}
	if len(r.Embedding) != t.opts.Dimensions {
		return nil, &provider.Error{Model: t.opts.Model, StatusCode: http.StatusBadGateway, Code: provider.CodeBadResponse, Err: fmt.Errorf("titan returned %d dims, want %d", len(r.Embedding), t.opts.Dimensions)}
	}
	embed.Normalize(r.Embedding)
	return r.Embedding, nil
}

// classify turns an SDK error into a provider.Error with the HTTP status
// and the AWS error code.
func (t *Client) classify(ctx context.Context, err error) error {
	pe := &provider.Error{Model: t.opts.Model, StatusCode: http.StatusBadGateway, Code: provider.CodeUpstreamError, Err: err}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		pe.StatusCode = re.HTTPStatusCode()
		pe.Retryable = provider.StatusRetryable(pe.StatusCode)
	} else {
		pe.Code = provider.CodeUpstreamUnreachable
		pe.Retryable = ctx.Err() == nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() != "" {
		pe.Code = provider.Code(ae.ErrorCode())
	}
	return pe
}
