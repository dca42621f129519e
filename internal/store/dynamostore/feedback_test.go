package dynamostore

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/feedback"
	"github.com/cato-gateway/cato/internal/feedback/feedbacktest"
)

func TestFeedbackStore(t *testing.T) {
	db := openDB(t)
	feedbacktest.Run(t, func(t *testing.T, o feedback.StoreOptions) feedback.Store {
		return NewFeedbackStore(db, o)
	})
}

// TestRatingCountedOnce: a count change applied twice (a Rate retried)
// counts once, and a rating whose writer died before counting it is
// counted when the user rates again, once.
func TestRatingCountedOnce(t *testing.T) {
	db := openDB(t)
	now := time.Now().Truncate(time.Minute)
	s := NewFeedbackStore(db, feedback.StoreOptions{Now: func() time.Time { return now }})
	ctx := t.Context()
	a := feedback.Answer{Tenant: "acme", RequestID: "req-1", Side: feedback.SideNew, Model: "m-once", Route: "chat", At: now}
	if err := s.Remember(ctx, a); err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]uint64 {
		t.Helper()
		cs, err := s.Counts(ctx, now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]uint64{}
		for _, c := range cs {
			if c.Model == "m-once" {
				out[string(c.Verdict)] += c.N
			}
		}
		return out
	}
	// alice's rating, stored by a writer that died before counting it.
	d := ratingDoc{Rating: -1, Scale: feedback.Thumbs, Verdict: feedback.Negative, At: now.UnixMilli(),
		Answer: answerDoc{Side: a.Side, Model: a.Model, Route: a.Route, At: now.UnixMilli()}}
	doc, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	it := ratingKey(feedback.Rating{Tenant: "acme", RequestID: "req-1", User: "alice"})
	it["doc"], it["ver"] = str(string(doc)), str("v1")
	if _, err := db.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table, Item: it}); err != nil {
		t.Fatal(err)
	}
	if got := counts(); len(got) != 0 {
		t.Fatalf("counts = %v; want none yet", got)
	}
	// bob's rating, its count change applied twice.
	if err := s.count(ctx, d, "+bob1", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.count(ctx, d, "+bob1", 1); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]uint64{"negative": 1}, counts()); diff != "" {
		t.Errorf("a change applied twice (-want +got):\n%s", diff)
	}
	v, sc, _ := feedback.Judge(1, "")
	got, err := s.Rate(ctx, feedback.Rating{Tenant: "acme", RequestID: "req-1", User: "alice", Rating: 1, Scale: sc, Verdict: v})
	if err != nil || !got.Replaced {
		t.Fatalf("Rate = %+v, %v; want a replaced rating", got, err)
	}
	if diff := cmp.Diff(map[string]uint64{"negative": 1, "positive": 1}, counts()); diff != "" {
		t.Errorf("after alice rated again (-want +got):\n%s", diff)
	}
}
