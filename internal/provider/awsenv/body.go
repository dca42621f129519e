package awsenv

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// bodyGuard works around a race between the SDK and net/http that closes
// a healthy connection, and with it a response being streamed: the SDK
// closes a request's body as soon as the response headers arrive, while the
// transport may still be checking that the body has no bytes beyond its
// Content-Length. That check copies the body with its WriteTo method, which
// the SDK's closed body answers with the error io.EOF, and the transport
// then drops the connection ("use of closed network connection" in the
// middle of an event stream). Hiding WriteTo makes the check use Read, which
// a closed body answers with a plain end of input.
type bodyGuard struct {
	next aws.HTTPClient
}

// Do implements aws.HTTPClient.
func (g bodyGuard) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = readOnlyBody{r.Body}
	}
	return g.next.Do(r)
}

// readOnlyBody hides every method of a body but Read and Close.
type readOnlyBody struct {
	rc io.ReadCloser
}

func (b readOnlyBody) Read(p []byte) (int, error) { return b.rc.Read(p) }
func (b readOnlyBody) Close() error               { return b.rc.Close() }
