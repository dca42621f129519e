package pgstore

import (
	"testing"

	"github.com/cato-gateway/cato/internal/feedback"
	"github.com/cato-gateway/cato/internal/feedback/feedbacktest"
	"github.com/cato-gateway/cato/internal/testenv"
)

func TestFeedbackStore(t *testing.T) {
	db := openDB(t, testenv.PostgresURL(t))
	feedbacktest.Run(t, func(t *testing.T, o feedback.StoreOptions) feedback.Store { return NewFeedbackStore(db, o) })
}
