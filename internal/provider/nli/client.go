package nli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/awsenv"
	"github.com/cato-gateway/cato/internal/provider/sagemaker"
)

// Result is the model's judgement of one premise and hypothesis.
type Result struct {
	// Label is Entailment, Neutral or Contradiction: the best-scored one.
	Label string
	// Scores holds the probability of each label the model returned, by
	// normalised label.
	Scores map[string]float64
}

// Options say where one NLI endpoint is. Only EndpointName is required.
type Options struct {
	// EndpointName is the SageMaker endpoint's name.
	EndpointName string
	// Variant is the production variant to target; empty lets SageMaker
	// choose.
	Variant string
	// Region is the AWS region. Empty means the SDK's default, else
	// us-east-1.
	Region string
	// Endpoint, when set, replaces SageMaker's URL.
	Endpoint string
}

// Client calls one NLI endpoint. It is safe for concurrent use.
type Client struct {
	name     string
	endpoint string
	variant  string
	rt       *sagemakerruntime.Client
	log      *slog.Logger
}

// New returns a client for the NLI model configured as name, described by
// m. Credentials come from the standard AWS chain. Requests go through hc;
// nil means the SDK's own client.
func New(ctx context.Context, name string, m Options, hc *http.Client, log *slog.Logger) (*Client, error) {
	if m.EndpointName == "" {
		return nil, fmt.Errorf("model %s: endpoint_name is required", name)
	}
	cfg, err := awsenv.Load(ctx, m.Region, m.Endpoint, hc)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	rt := sagemakerruntime.NewFromConfig(cfg, func(o *sagemakerruntime.Options) {
		if m.Endpoint != "" {
			o.BaseEndpoint = aws.String(m.Endpoint)
		}
	})
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{name: name, endpoint: m.EndpointName, variant: m.Variant, rt: rt, log: log.With(slog.String("model", name))}, nil
}

// request is the Hugging Face text-classification body for a sentence
// pair; top_k null asks for the scores of every label.
type request struct {
	Inputs struct {
		Text     string `json:"text"`
		TextPair string `json:"text_pair"`
	} `json:"inputs"`
	Parameters struct {
		TopK *int `json:"top_k"`
	} `json:"parameters"`
}

// Classify asks whether premise entails, contradicts or is neutral to
// hypothesis. Errors are *provider.Error.
func (c *Client) Classify(ctx context.Context, premise, hypothesis string) (Result, error) {
	var req request
	req.Inputs.Text, req.Inputs.TextPair = premise, hypothesis
	body, err := json.Marshal(req)
	if err != nil {
		return Result{}, err
	}
	in := &sagemakerruntime.InvokeEndpointInput{
		EndpointName: aws.String(c.endpoint),
		Body:         body,
		ContentType:  aws.String("application/json"),
		Accept:       aws.String("application/json"),
	}
	if c.variant != "" {
		in.TargetVariant = aws.String(c.variant)
	}
	out, err := c.rt.InvokeEndpoint(ctx, in)
	if err != nil {
		return Result{}, sagemaker.Classify(ctx, c.name, err)
	}
	r, err := parseResult(out.Body)
	if err != nil {
		return Result{}, &provider.Error{Model: c.name, StatusCode: http.StatusBadGateway, Code: provider.CodeBadResponse, Err: err}
	}
	return r, nil
}

// Contradicts reports whether the model judges that fact contradicts
// claim. It lets memory consolidation use a Client as its entailer.
func (c *Client) Contradicts(ctx context.Context, fact, claim string) (bool, error) {
	r, err := c.Classify(ctx, fact, claim)
	return r.Label == Contradiction, err
}

type labelScore struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// parseResult reads a text-classification answer: a list of {label, score},
// a list holding such a list (the pipeline's answer to a list of inputs), or
// one {label, score}.
func parseResult(body []byte) (Result, error) {
	var scores []labelScore
	t := bytes.TrimSpace(body)
	switch {
	case bytes.HasPrefix(t, []byte("[[")):
		var nested [][]labelScore
		if err := json.Unmarshal(t, &nested); err != nil {
			return Result{}, fmt.Errorf("decoding the NLI answer: %w", err)
		}
		if len(nested) > 0 {
			scores = nested[0]
		}
	case bytes.HasPrefix(t, []byte("[")):
		if err := json.Unmarshal(t, &scores); err != nil {
			return Result{}, fmt.Errorf("decoding the NLI answer: %w", err)
		}
	default:
		var one labelScore
		if err := json.Unmarshal(t, &one); err != nil {
			return Result{}, fmt.Errorf("decoding the NLI answer: %w", err)
		}
		scores = []labelScore{one}
	}
	r := Result{Scores: map[string]float64{}}
	best := -1.0
	for _, s := range scores {
		l := normalLabel(s.Label)
		if l == "" {
			continue
		}
		r.Scores[l] = s.Score
		if s.Score > best {
			best, r.Label = s.Score, l
		}
	}
	if r.Label == "" {
		return Result{}, errors.New("the NLI answer has no entailment, neutral or contradiction label")
	}
	return r, nil
}
