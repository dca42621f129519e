package awsenv

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// DefaultRegion is the region used when neither the model nor the SDK's
// environment (AWS_REGION, the shared config file) names one.
const DefaultRegion = "us-east-1"

// Load returns the SDK configuration for a model in region (empty means the
// SDK's default, else DefaultRegion) reached at endpoint (empty means AWS's
// own; a loopback endpoint falls back to LoopbackAccessKeyID when the chain
// has no keys). Credentials come from the standard
// chain: environment, shared files, web identity, container and instance
// roles. Requests go through hc (nil means the SDK's own client, which is the
// only one AWS_CA_BUNDLE applies to: a given client keeps its own TLS roots).
// The SDK's
// retries are turned off because provider.Guard retries, and two retry
// loops would multiply attempts behind the breaker's back.
func Load(ctx context.Context, region, endpoint string, hc *http.Client) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	if isLoopback(endpoint) {
		// A model on this machine (cato simulate, a protocol test server)
		// is not on EC2: asking the instance metadata service for a role
		// would only send traffic off the machine and wait for it.
		opts = append(opts, awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if hc != nil {
		// Set after loading: WithHTTPClient fails on a plain *http.Client
		// when AWS_CA_BUNDLE is set.
		cfg.HTTPClient = hc
	}
	if cfg.HTTPClient == nil {
		// What the service clients would pick: the SDK's own client, with
		// AWS_CA_BUNDLE when set.
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = bodyGuard{next: cfg.HTTPClient}
	if isLoopback(endpoint) {
		cfg.Credentials = loopbackCredentials{chain: cfg.Credentials}
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	return cfg, nil
}
