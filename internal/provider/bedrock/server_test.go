package bedrock

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/provider/awstest"
)

const (
	testRegion  = "us-west-2"
	testModelID = "anthropic.claude-3-5-haiku-20241022-v1:0"
)

// bedrockCall is what the fake Bedrock server received.
type bedrockCall struct {
	op      string // converse, converse-stream, invoke, invoke-with-response-stream
	modelID string
	header  http.Header
	body    []byte
}

// fakeBedrock starts a server that speaks the Bedrock Runtime REST protocol:
// it checks the SigV4 signature (service bedrock, region testRegion) and the
// path /model/{id}/{op}, then hands the call to answer. It returns a client
// for the API api pointed at it.
func fakeBedrock(t *testing.T, api string, answer func(w http.ResponseWriter, r *http.Request, call bedrockCall)) *Client {
	t.Helper()
	awstest.Isolate(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := awstest.VerifySigV4(r, "bedrock", testRegion)
		if err != nil {
			t.Errorf("SigV4: %v", err)
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
		if r.Method != http.MethodPost || len(parts) != 3 || parts[0] != "model" {
			t.Errorf("request %s %s; want POST /model/{id}/{op}", r.Method, r.URL.EscapedPath())
			http.NotFound(w, r)
			return
		}
		id, err := url.PathUnescape(parts[1])
		if err != nil {
			t.Errorf("model id %q: %v", parts[1], err)
		}
		answer(w, r, bedrockCall{op: parts[2], modelID: id, header: r.Header.Clone(), body: body})
	}))
	t.Cleanup(srv.Close)
	c, err := New(context.Background(), "bedrock_haiku", Options{
		ModelID: testModelID, Region: testRegion, Endpoint: srv.URL, API: api,
	}, srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeAWSError answers like Bedrock does when it rejects a call.
func writeAWSError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Amzn-ErrorType", code+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"message":"` + msg + `"}`))
}
