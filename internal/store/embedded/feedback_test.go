package embedded

import (
	"testing"

	"github.com/cato-gateway/cato/internal/feedback"
	"github.com/cato-gateway/cato/internal/feedback/feedbacktest"
)

func TestFeedbackStore(t *testing.T) {
	feedbacktest.Run(t, func(t *testing.T, o feedback.StoreOptions) feedback.Store {
		return NewFeedbackStore(openDB(t, t.TempDir()), o)
	})
}
