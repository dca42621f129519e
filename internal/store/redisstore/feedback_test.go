package redisstore

import (
	"testing"

	"github.com/cato-gateway/cato/internal/feedback"
	"github.com/cato-gateway/cato/internal/feedback/feedbacktest"
	"github.com/cato-gateway/cato/internal/testenv"
)

func TestFeedbackStore(t *testing.T) {
	raw := testenv.RedisURL(t)
	feedbacktest.Run(t, func(t *testing.T, o feedback.StoreOptions) feedback.Store {
		return NewFeedbackStore(openClient(t, raw), o)
	})
}
