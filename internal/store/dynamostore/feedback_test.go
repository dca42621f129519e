package dynamostore

import (
	"testing"

	"github.com/cato-gateway/cato/internal/feedback"
	"github.com/cato-gateway/cato/internal/feedback/feedbacktest"
)

func TestFeedbackStore(t *testing.T) {
	db := openDB(t)
	feedbacktest.Run(t, func(t *testing.T, o feedback.StoreOptions) feedback.Store {
		return NewFeedbackStore(db, o)
	})
}
