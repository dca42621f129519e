package awstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// VerifySigV4 checks that r carries a SigV4 Authorization header made with
// the test credentials for service and region, and that the signature is
// right for r's method, path, signed headers and body. It returns the body,
// which it has read. It returns an error rather than failing a test because
// it runs inside a server's handler goroutine.
func VerifySigV4(r *http.Request, service, region string) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return body, fmt.Errorf("no Authorization header")
	}
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return body, fmt.Errorf("Authorization %q is not SigV4", auth)
	}
	fields := map[string]string{}
	for _, f := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return body, fmt.Errorf("credential %q is not AKID/date/region/service/aws4_request", fields["Credential"])
	}
	if scope[0] != AccessKeyID || scope[2] != region || scope[3] != service {
		return body, fmt.Errorf("signed for key %s, region %s, service %s; want %s, %s, %s",
			scope[0], scope[2], scope[3], AccessKeyID, region, service)
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return body, fmt.Errorf("X-Amz-Date: %w", err)
	}

	// Sign a copy holding only the signed headers and compare.
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	cp, err := http.NewRequest(r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return body, err
	}
	cp.Host = r.Host
	cp.ContentLength = r.ContentLength
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		cp.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, cp, hash, service, region, when); err != nil {
		return body, fmt.Errorf("re-signing: %w", err)
	}
	if got, want := auth, cp.Header.Get("Authorization"); got != want {
		return body, fmt.Errorf("signature mismatch:\n got %s\nwant %s", got, want)
	}
	return body, nil
}
