package bedrock

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/awsenv"
)

// APIs a model can be called through.
const (
	APIConverse = "converse"
	APIInvoke   = "invoke"
)

// Options say where one Claude model is and how to call it. The zero
// Options is valid: the model id is the model's name, called through
// Converse in the SDK's default region.
type Options struct {
	// ModelID is the Bedrock model id. Empty means the model's name.
	ModelID string
	// API is APIConverse or APIInvoke (InvokeModel with the Anthropic
	// Messages body). Empty means APIConverse.
	API string
	// Region is the AWS region. Empty means the SDK's default, else
	// us-east-1.
	Region string
	// Endpoint, when set, replaces Bedrock's URL (a VPC endpoint, a proxy,
	// `cato simulate`).
	Endpoint string
}

// Client calls one Claude model on Bedrock. It is safe for concurrent use.
type Client struct {
	name    string // the configured model name, used in errors and logs
	modelID string
	api     string
	rt      *bedrockruntime.Client
	log     *slog.Logger
}

var _ provider.Provider = (*Client)(nil)

// New returns a client for the model configured as name, described by m.
// Credentials come from the standard AWS chain. Requests go through hc;
// nil means the SDK's own client.
func New(ctx context.Context, name string, m Options, hc *http.Client, log *slog.Logger) (*Client, error) {
	api := m.API
	if api == "" {
		api = APIConverse
	}
	if api != APIConverse && api != APIInvoke {
		return nil, fmt.Errorf("model %s: api %q is not converse or invoke", name, m.API)
	}
	modelID := m.ModelID
	if modelID == "" {
		modelID = name
	}
	cfg, err := awsenv.Load(ctx, m.Region, m.Endpoint, hc)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	rt := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		if m.Endpoint != "" {
			o.BaseEndpoint = aws.String(m.Endpoint)
		}
	})
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("model", name))
	return &Client{name: name, modelID: modelID, api: api, rt: rt, log: log}, nil
}

// Chat implements provider.Provider.
func (c *Client) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	conv, err := buildConversation(req)
	if err != nil {
		return nil, classify(ctx, c.name, err)
	}
	if c.api == APIInvoke {
		return c.invoke(ctx, conv)
	}
	parts, err := toConverse(conv)
	if err != nil {
		return nil, classify(ctx, c.name, &badRequestError{msg: err.Error()})
	}
	out, err := c.rt.Converse(ctx, parts.input(c.modelID))
	if err != nil {
		return nil, classify(ctx, c.name, err)
	}
	resp, err := fromConverse(c.modelID, out)
	if err != nil {
		return nil, classify(ctx, c.name, err)
	}
	return resp, nil
}

func (c *Client) invoke(ctx context.Context, conv *conversation) (*llm.Response, error) {
	body, err := c.messagesBody(ctx, conv)
	if err != nil {
		return nil, err
	}
	out, err := c.rt.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
		ModelId: aws.String(c.modelID), Body: body, ContentType: aws.String(jsonType), Accept: aws.String(jsonType),
	})
	if err != nil {
		return nil, classify(ctx, c.name, err)
	}
	resp, err := fromMessages(out.Body)
	if err != nil {
		return nil, classify(ctx, c.name, err)
	}
	return resp, nil
}

const jsonType = "application/json"

// messagesBody encodes conv as the Anthropic Messages body of InvokeModel;
// what the body cannot carry is the client's 400.
func (c *Client) messagesBody(ctx context.Context, conv *conversation) ([]byte, error) {
	body, err := toMessages(conv)
	if err != nil {
		return nil, classify(ctx, c.name, &badRequestError{msg: err.Error()})
	}
	return body, nil
}

// ChatStream implements provider.Provider. Events are translated as they
// arrive; an exception Bedrock sends mid-stream (a ModelStreamErrorException,
// a throttling) comes out of Next as a *provider.Error. Cancelling ctx ends
// the call and the stream.
func (c *Client) ChatStream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	conv, err := buildConversation(req)
	if err != nil {
		return nil, classify(ctx, c.name, err)
	}
	if c.api == APIInvoke {
		body, err := c.messagesBody(ctx, conv)
		if err != nil {
			return nil, err
		}
		out, err := c.rt.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{
			ModelId: aws.String(c.modelID), Body: body, ContentType: aws.String(jsonType), Accept: aws.String(jsonType),
		})
		if err != nil {
			return nil, classify(ctx, c.name, err)
		}
		return &messagesStream{ctx: ctx, model: c.name, es: out.GetStream()}, nil
	}
	parts, err := toConverse(conv)
	if err != nil {
		return nil, classify(ctx, c.name, &badRequestError{msg: err.Error()})
	}
	out, err := c.rt.ConverseStream(ctx, parts.streamInput(c.modelID))
	if err != nil {
		return nil, classify(ctx, c.name, err)
	}
	return newConverseStream(ctx, c.name, c.modelID, out.GetStream()), nil
}
