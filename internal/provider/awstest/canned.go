package awstest

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// CannedTransport is an http.RoundTripper that answers every request with
// one canned response and keeps the last request body: the wire form the
// SDK produced. It lets tests and fuzz targets run thousands of calls
// without sockets. It is safe for concurrent use.
type CannedTransport struct {
	// Status is the answer's status; zero means 200.
	Status      int
	ContentType string
	Body        []byte

	mu   sync.Mutex // guards sent
	sent []byte
}

// Sent returns the body of the last request.
func (c *CannedTransport) Sent() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

// RoundTrip implements http.RoundTripper.
func (c *CannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		c.mu.Lock()
		c.sent = b
		c.mu.Unlock()
	}
	status := c.Status
	if status == 0 {
		status = http.StatusOK
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {c.ContentType}},
		Body:    io.NopCloser(bytes.NewReader(c.Body)),
		Request: r, ContentLength: int64(len(c.Body)),
	}, nil
}
