package openaicompat

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestChatRequestsShareNothingTheyChange: each call's request is a copy
// of the parsed prototype, so that nothing one call's request is given
// (its header, its body, its context) reaches another's or the
// prototype; and its GetBody gives the whole body again, as a redirect
// that keeps the method (307) sends it.
func TestChatRequestsShareNothingTheyChange(t *testing.T) {
	var got [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, b)
		if r.URL.Path == "/v1/chat/completions" {
			http.Redirect(w, r, "/moved/chat/completions", http.StatusTemporaryRedirect)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c := New(Options{Name: "m", BaseURL: srv.URL + "/v1/"})
	if c.proto == nil {
		t.Fatal("no prototype request for a URL that parses")
	}
	type ctxKey struct{}
	ctxA := context.WithValue(t.Context(), ctxKey{}, "a")
	a, err := c.newChatRequest(ctxA, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.newChatRequest(t.Context(), []byte(`{"bb":22}`))
	if err != nil {
		t.Fatal(err)
	}
	a.Header.Set("X-Only-A", "1")
	if b.Header.Get("X-Only-A") != "" || len(c.proto.Header) != 0 {
		t.Errorf("a header set on one request reached another (%v) or the prototype (%v)", b.Header, c.proto.Header)
	}
	if a.Context() != ctxA || b.Context() == ctxA || c.proto.Body != nil || c.proto.GetBody != nil {
		t.Error("a request's context or body reached another request or the prototype")
	}
	if a.Method != http.MethodPost || a.URL.String() != srv.URL+"/v1/chat/completions" || a.Host != c.proto.URL.Host || a.ContentLength != int64(len(`{"a":1}`)) {
		t.Errorf("request %s %s (Host %q, length %d); want POST to the chat completions URL with the body's length", a.Method, a.URL, a.Host, a.ContentLength)
	}
	for range 2 {
		again, err := a.GetBody()
		if err != nil {
			t.Fatal(err)
		}
		if body, _ := io.ReadAll(again); string(body) != `{"a":1}` {
			t.Errorf("GetBody gave %q, want the whole body", body)
		}
	}
	resp, err := srv.Client().Do(b)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || len(got) != 2 || !bytes.Equal(got[0], []byte(`{"bb":22}`)) || !bytes.Equal(got[1], got[0]) {
		t.Errorf("after a 307: status %d, bodies %q; want the body sent whole twice", resp.StatusCode, got)
	}
	if c.proto.URL.String() != srv.URL+"/v1/chat/completions" {
		t.Errorf("the prototype's URL became %s", c.proto.URL)
	}
}
