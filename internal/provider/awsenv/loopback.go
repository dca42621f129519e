package awsenv

import (
	"context"
	"net"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// LoopbackAccessKeyID is the access key Cato signs with when it talks to an
// endpoint on this machine (`cato simulate`, a local protocol server) and
// the credential chain finds no keys: such servers do not check
// signatures, and a laptop should not need AWS keys to try Cato.
const LoopbackAccessKeyID = "CATO-LOOPBACK"

// isLoopback reports whether endpoint is a URL whose host is on this
// machine.
func isLoopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackCredentials uses the standard chain's keys when it has some,
// else LoopbackAccessKeyID.
type loopbackCredentials struct {
	chain aws.CredentialsProvider
}

// Retrieve implements aws.CredentialsProvider.
func (c loopbackCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if c.chain != nil {
		if creds, err := c.chain.Retrieve(ctx); err == nil && creds.HasKeys() {
			return creds, nil
		}
	}
	return aws.Credentials{AccessKeyID: LoopbackAccessKeyID, SecretAccessKey: "cato-loopback", Source: "cato loopback"}, nil
}
