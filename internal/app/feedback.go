package app

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/cato-gateway/cato/internal/api"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/feedback"
	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/store"
)

// ratings is the feedback's running parts: the store, the Recorder that
// remembers answers, and the Tally that reads satisfaction back from the
// shared store.
type ratings struct {
	store    feedback.Store
	recorder *feedback.Recorder
	tally    *feedback.Tally
	api      *api.Feedback
}

// newRatings builds the feedback over the backend, as the feedback section
// says; nil when feedback.enabled is false. floor is when the rollout's
// current step began: satisfaction counts no rating from before it.
func (a *App) newRatings(cfg *config.Config, backend *store.Backend, floor func() time.Time) *ratings {
	fc := cfg.Feedback
	if fc.Enabled != nil && !*fc.Enabled {
		return nil
	}
	st := backend.Feedback(feedback.StoreOptions{AnswerTTL: fc.AnswerTTL, Retention: fc.Retention, Now: a.now})
	r := &ratings{
		store:    st,
		recorder: feedback.NewRecorder(feedback.RecorderOptions{Store: st, Log: a.reqLog}),
		tally:    feedback.NewTally(feedback.TallyOptions{Store: st, Window: fc.Window, Every: fc.Refresh, Floor: floor, Now: a.now, Log: a.reqLog}),
	}
	counted := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cato_feedback_ratings_total",
		Help: "Ratings accepted by this replica, by the rated answer's side and model and the rating's verdict; a user's second rating of an answer replaces the first and is not counted again.",
	}, []string{"side", "model", "verdict"})
	reg := a.metrics.Registry()
	reg.MustRegister(counted)
	r.api = &api.Feedback{Recorder: r.recorder, Store: st, OnRated: func(rd feedback.Rated) {
		if !rd.Replaced {
			counted.WithLabelValues(rd.Rating.Answer.Side, rd.Rating.Answer.Model, string(rd.Rating.Verdict)).Inc()
		}
	}}
	for outcome, get := range map[string]func(feedback.RecorderStats) uint64{
		"written": func(s feedback.RecorderStats) uint64 { return s.Written },
		"dropped": func(s feedback.RecorderStats) uint64 { return s.Dropped },
		"failed":  func(s feedback.RecorderStats) uint64 { return s.Failed },
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cato_feedback_answers_remembered_total", Help: "Answers handed to the feedback recorder, by what became of them.",
			ConstLabels: prometheus.Labels{"outcome": outcome},
		}, func() float64 { return float64(get(r.recorder.Stats())) }))
	}
	for _, side := range []string{feedback.SideNew, feedback.SideLegacy} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "cato_feedback_negative_share",
			Help:        "Share of negative ratings of a side over the feedback window, read from the shared store (the same on every replica).",
			ConstLabels: prometheus.Labels{"side": side},
		}, func() float64 { return r.tally.Snapshot().Sides[side].NegativeShare }))
	}
	return r
}

// satisfactionRule maps rollout.auto_rollback.satisfaction; nil when it
// is unset or feedback is off.
func satisfactionRule(c config.AutoRollback, r *ratings) *rollout.SatisfactionRule {
	if c.Satisfaction == nil || r == nil {
		return nil
	}
	return &rollout.SatisfactionRule{Margin: c.Satisfaction.Margin, MinRatings: c.Satisfaction.MinRatings, Read: r.tally.Snapshot}
}

// status is the top-level satisfaction section of /status: satisfaction
// per model over the feedback window, {"models": {}} when feedback is off.
func (r *ratings) status() any {
	models := map[string]feedback.Satisfaction{}
	if r != nil {
		models = r.tally.Snapshot().Models
	}
	return map[string]map[string]feedback.Satisfaction{"models": models}
}

// run writes remembered answers and reads the counts until ctx ends.
func (r *ratings) run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return r.recorder.Run(ctx) })
	g.Go(func() error { return r.tally.Run(ctx) })
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
