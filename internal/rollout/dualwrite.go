package rollout

import (
	"context"
	"log/slog"

	"github.com/cato-gateway/cato/internal/openai"
)

// Turn is one question the legacy side answered for a session or a user,
// as dual-write records it in Cato's working memory (by session) and
// long-term memory (by user).
type Turn struct {
	Tenant, Session, User string
	// Question is the request's last user message.
	Question string
	// Answer is the legacy side's answer text.
	Answer string
	// Model names the legacy side (the rollout.legacy model).
	Model string
}

// DualWrite returns an OnExchange hook that decodes each exchange the
// legacy side answered in a session into a Turn and hands it to record
// (app passes working memory's Record), so that users moved to the new
// side keep their context. model names the legacy side in the turn.
// Exchanges with neither a session nor a user, or whose request Cato
// itself would refuse, are skipped; a failed record is logged to log (nil:
// not logged).
func DualWrite(model string, record func(context.Context, Turn) error, log *slog.Logger) func(context.Context, Exchange) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, ex Exchange) {
		if ex.Session == "" && ex.User == "" {
			return
		}
		req, err := openai.DecodeChatRequest(ex.Request)
		if err != nil {
			return // the legacy side accepted what Cato would refuse; nothing to record
		}
		t := Turn{Tenant: ex.Tenant, Session: ex.Session, User: ex.User, Question: req.LastUserText(), Answer: ex.ResponseText, Model: model}
		if err := record(ctx, t); err != nil {
			log.Warn("dual-write of a legacy turn failed", slog.String("session_id", ex.Session), slog.Any("err", err))
		}
	}
}
