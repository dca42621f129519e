package sagemaker

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/awsenv"
)

// Options say where one SageMaker endpoint is and how to talk to it. Only
// EndpointName is required.
type Options struct {
	// EndpointName is the SageMaker endpoint's name.
	EndpointName string
	// Variant is the production variant plain requests go to; empty lets
	// SageMaker choose.
	Variant string
	// HiddenStatesVariant is the production variant of requests that ask
	// for hidden states, so that the two kinds do not interleave on the
	// same servers. Empty means Variant.
	HiddenStatesVariant string
	// Payload is the container's format: PayloadSGLang, PayloadOpenAI or
	// PayloadTGI. Empty means PayloadSGLang.
	Payload string
	// ModelID is the model name the openai payload sends.
	ModelID string
	// HiddenStates says how hidden states are reduced to one vector.
	HiddenStates HiddenStates
	// Region is the AWS region. Empty means the SDK's default, else
	// us-east-1.
	Region string
	// Endpoint, when set, replaces SageMaker's URL.
	Endpoint string
}

// Client calls one SageMaker endpoint. It is safe for concurrent use.
type Client struct {
	name      string // the configured model name, used in errors and logs
	endpoint  string
	variant   string
	hsVariant string
	payload   payload
	hidden    HiddenStates
	rt        *sagemakerruntime.Client
	log       *slog.Logger
}

var _ provider.Provider = (*Client)(nil)

// New returns a client for the model configured as name, described by m.
// Credentials come from the standard AWS chain. Requests go through hc;
// nil means the SDK's own client.
func New(ctx context.Context, name string, m Options, hc *http.Client, log *slog.Logger) (*Client, error) {
	if m.EndpointName == "" {
		return nil, fmt.Errorf("model %s: endpoint_name is required", name)
	}
	p, err := payloadFor(m.Payload, m.ModelID)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
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
	hsVariant := m.HiddenStatesVariant
	if hsVariant == "" {
		hsVariant = m.Variant
	}
	return &Client{
		name: name, endpoint: m.EndpointName, variant: m.Variant, hsVariant: hsVariant,
		payload: p, hidden: m.HiddenStates, rt: rt, log: log.With(slog.String("model", name)),
	}, nil
}

// targetVariant returns the production variant for a request, or nil.
func (c *Client) targetVariant(hidden bool) *string {
	v := c.variant
	if hidden {
		v = c.hsVariant
	}
	if v == "" {
		return nil
	}
	return aws.String(v)
}

// Chat implements provider.Provider.
func (c *Client) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	if err := c.oneChoice(req); err != nil {
		return nil, err
	}
	body, err := c.payload.encode(req, false, req.HiddenStates)
	if err != nil {
		return nil, &provider.Error{Model: c.name, StatusCode: http.StatusBadRequest, Code: provider.CodeInvalidRequest, Err: err}
	}
	out, err := c.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
		EndpointName:  aws.String(c.endpoint),
		Body:          body,
		ContentType:   aws.String("application/json"),
		Accept:        aws.String("application/json"),
		TargetVariant: c.targetVariant(req.HiddenStates),
	})
	if err != nil {
		return nil, Classify(ctx, c.name, err)
	}
	a, err := c.payload.decode(out.Body)
	if err != nil {
		return nil, badAnswer(c.name, err)
	}
	a.resp.UpstreamModel = c.endpoint
	if req.HiddenStates {
		if a.resp.HiddenStates, err = c.reduce(ctx, a.hidden); err != nil {
			return nil, err
		}
	}
	return a.resp, nil
}

// ChatStream implements provider.Provider. PayloadParts are decoded as they
// arrive; a ModelStreamError or InternalStreamFailure comes out of Next as a
// *provider.Error. Hidden states ride on the last chunk. Cancelling ctx ends
// the call and the stream.
func (c *Client) ChatStream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if err := c.oneChoice(req); err != nil {
		return nil, err
	}
	body, err := c.payload.encode(req, true, req.HiddenStates)
	if err != nil {
		return nil, &provider.Error{Model: c.name, StatusCode: http.StatusBadRequest, Code: provider.CodeInvalidRequest, Err: err}
	}
	out, err := c.rt.InvokeEndpointWithResponseStream(ctx, &sagemakerruntime.InvokeEndpointWithResponseStreamInput{
		EndpointName:  aws.String(c.endpoint),
		Body:          body,
		ContentType:   aws.String("application/json"),
		Accept:        aws.String("text/event-stream"),
		TargetVariant: c.targetVariant(req.HiddenStates),
	})
	if err != nil {
		return nil, Classify(ctx, c.name, err)
	}
	return newStream(ctx, c, out.GetStream(), req.HiddenStates), nil
}

// oneChoice refuses a request for more than one choice: every payload
// is read as one answer.
func (c *Client) oneChoice(req *llm.Request) error {
	if req.N <= 1 {
		return nil
	}
	return &provider.Error{Model: c.name, StatusCode: http.StatusBadRequest, Code: provider.CodeInvalidRequest, Param: "n",
		Err: fmt.Errorf("n: SageMaker endpoints answer with one choice; %d were asked for", req.N)}
}

// reduce turns raw hidden states into the configured vector. An endpoint
// that sent none is logged and yields nil: the answer itself is good.
func (c *Client) reduce(ctx context.Context, h rawHidden) (*llm.HiddenStates, error) {
	if !h.present() {
		c.log.WarnContext(ctx, "hidden states asked for but the endpoint returned none; is the server started with --enable-return-hidden-states?")
		return nil, nil
	}
	hs, err := reduceHidden(c.name, c.hidden, h)
	if err != nil {
		return nil, badAnswer(c.name, fmt.Errorf("reading hidden states: %w", err))
	}
	return hs, nil
}
