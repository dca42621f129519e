package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteJSON(t *testing.T) {
	for _, wrap := range []bool{false, true} {
		rec := httptest.NewRecorder()
		var w http.ResponseWriter = rec
		if wrap {
			w = &statusWriter{ResponseWriter: rec}
		}
		writeJSON(w, http.StatusTeapot, map[string]any{"a": "<b>", "n": 1})
		want := "{\"a\":\"\\u003cb\\u003e\",\"n\":1}\n"
		if rec.Code != http.StatusTeapot || rec.Body.String() != want {
			t.Errorf("wrapped %v: got %d %q, want %d %q", wrap, rec.Code, rec.Body.String(), http.StatusTeapot, want)
		}
		wantH := http.Header{}
		wantH.Set("Content-Type", "application/json")
		wantH.Set("Content-Length", "28")
		if diff := cmp.Diff(wantH, rec.Header()); diff != "" {
			t.Errorf("wrapped %v: headers mismatch (-want +got):\n%s", wrap, diff)
		}
		if sw, ok := w.(*statusWriter); ok && sw.status != http.StatusTeapot {
			t.Errorf("statusWriter recorded %d", sw.status)
		}
	}
}
