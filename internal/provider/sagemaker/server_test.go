package sagemaker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/provider/awstest"
)

const (
	testRegion   = "eu-central-1"
	testEndpoint = "cato-shadow-self-staging"
)

// smCall is what the fake SageMaker Runtime received.
type smCall struct {
	op     string // invocations or invocations-response-stream
	header http.Header
	body   []byte
}

// fakeSageMaker starts a server that speaks the SageMaker Runtime REST
// protocol: it checks the SigV4 signature (service sagemaker, region
// testRegion) and the path /endpoints/{name}/{op}, then hands the call to
// answer. It returns a client for m pointed at it.
func fakeSageMaker(t *testing.T, m Options, answer func(w http.ResponseWriter, r *http.Request, call smCall)) *Client {
	t.Helper()
	awstest.Isolate(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := awstest.VerifySigV4(r, "sagemaker", testRegion)
		if err != nil {
			t.Errorf("SigV4: %v", err)
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
		if r.Method != http.MethodPost || len(parts) != 3 || parts[0] != "endpoints" || parts[1] != testEndpoint {
			t.Errorf("request %s %s; want POST /endpoints/%s/{op}", r.Method, r.URL.EscapedPath(), testEndpoint)
			http.NotFound(w, r)
			return
		}
		answer(w, r, smCall{op: parts[2], header: r.Header.Clone(), body: body})
	}))
	t.Cleanup(srv.Close)
	m.EndpointName, m.Region, m.Endpoint = testEndpoint, testRegion, srv.URL
	c, err := New(context.Background(), "shadow_self", m, srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func clientOf(rt http.RoundTripper) *http.Client { return &http.Client{Transport: rt} }

// writeAWSError answers like SageMaker does when it rejects a call.
func writeAWSError(w http.ResponseWriter, status int, code, body string) {
	w.Header().Set("X-Amzn-ErrorType", code+":http://internal.amazon.com/coral/com.amazon.sagemaker/")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// writeParts streams body as PayloadPart events of at most size bytes, so
// that events are cut at arbitrary places.
func writeParts(ew *awstest.EventWriter, body string, size int) error {
	for len(body) > 0 {
		n := min(size, len(body))
		if err := ew.Event("PayloadPart", []byte(body[:n])); err != nil {
			return err
		}
		body = body[n:]
	}
	return nil
}
