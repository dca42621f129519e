package awsenv

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

type clientFunc func(*http.Request) (*http.Response, error)

func (f clientFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// writerToBody is a body like the SDK's: it has WriteTo, and after Close
// both methods report io.EOF.
type writerToBody struct {
	r      *bytes.Reader
	closed bool
}

func (b *writerToBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, io.EOF
	}
	return b.r.Read(p)
}

func (b *writerToBody) WriteTo(w io.Writer) (int64, error) {
	if b.closed {
		return 0, io.EOF
	}
	return b.r.WriteTo(w)
}

func (b *writerToBody) Close() error { b.closed = true; return nil }

func TestBodyGuardHidesWriteTo(t *testing.T) {
	body := &writerToBody{r: bytes.NewReader([]byte("payload"))}
	var sent io.ReadCloser
	g := bodyGuard{next: clientFunc(func(r *http.Request) (*http.Response, error) {
		sent = r.Body
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})}
	req, _ := http.NewRequest(http.MethodPost, "http://x", strings.NewReader(""))
	req.Body = body
	if _, err := g.Do(req); err != nil {
		t.Fatal(err)
	}
	if _, ok := sent.(io.WriterTo); ok {
		t.Fatal("the guarded body still has WriteTo")
	}
	// What net/http does after sending Content-Length bytes, once the SDK
	// has closed the body: copying the rest must end cleanly.
	_ = body.Close()
	if n, err := io.Copy(io.Discard, sent); n != 0 || err != nil {
		t.Errorf("copying a closed guarded body = %d, %v; want 0, nil", n, err)
	}
	if n, err := io.Copy(io.Discard, body); err == nil {
		t.Errorf("copying the closed unguarded body = %d, %v; want the io.EOF error this guard exists for", n, err)
	}
}
