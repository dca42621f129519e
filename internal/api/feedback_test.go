package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/feedback"
)

// downStore is a feedback.Store whose server is gone.
type downStore struct{ feedback.Store }

func (downStore) Rate(context.Context, feedback.Rating) (feedback.Rated, error) {
	return feedback.Rated{}, errors.New("dial tcp 10.0.0.5:6379: connection refused")
}

func TestFeedbackStoreDown(t *testing.T) {
	var logs bytes.Buffer
	s := New(Options{
		Log:      slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Feedback: &Feedback{Store: downStore{}, Recorder: feedback.NewRecorder(feedback.RecorderOptions{Store: downStore{}})},
	})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/cato/feedback",
		strings.NewReader(`{"request_id":"r1","rating":-1,"comment":"secret-words-91c"}`)))
	body := rec.Body.String()
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(body, `"code":"store_unavailable"`) || !strings.Contains(body, "the feedback store is unavailable") {
		t.Errorf("got %d %s; want 503 store_unavailable naming the feedback store", rec.Code, body)
	}
	if strings.Contains(body, "10.0.0.5") {
		t.Errorf("the answer %s leaks the store's address", body)
	}
	if !strings.Contains(logs.String(), "10.0.0.5") || strings.Contains(logs.String(), "secret-words-91c") {
		t.Errorf("log %q: want the cause, and never the comment", logs.String())
	}
}

// TestRememberedAnswers checks what the request path hands the Recorder:
// only answers that began with a 2xx, with their side, model, route and
// cached flag.
func TestRememberedAnswers(t *testing.T) {
	st := &captureStore{}
	rc := feedback.NewRecorder(feedback.RecorderOptions{Store: st, Queue: 8})
	s := New(Options{Feedback: &Feedback{Store: st, Recorder: rc}})
	start := time.Now()
	for _, tt := range []struct {
		status int
		cache  string
	}{{200, "hit"}, {502, ""}, {200, "miss"}} {
		w := &response{ResponseWriter: httptest.NewRecorder()}
		w.Header().Set("X-Cato-Cache", tt.cache)
		w.WriteHeader(tt.status)
		s.remember(httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil), w, "new", "m", "chat", start)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := rc.Run(ctx); err != nil { // flushes the queue and returns
		t.Fatal(err)
	}
	if len(st.got) != 2 || !st.got[0].Cached || st.got[1].Cached || st.got[0].Side != "new" || st.got[0].Model != "m" || st.got[0].Route != "chat" {
		t.Errorf("remembered %+v; want the two 2xx answers, the first cached", st.got)
	}
}

type captureStore struct {
	feedback.Store
	got []feedback.Answer
}

func (c *captureStore) Remember(_ context.Context, as ...feedback.Answer) error {
	c.got = append(c.got, as...)
	return nil
}
