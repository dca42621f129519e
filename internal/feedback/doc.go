// Package feedback records what users think of Cato's answers and turns it
// into satisfaction per rollout side and per model. api remembers every
// answer it gives (side, model, route, cached) through a Recorder, off the
// request path; POST /api/cato/feedback rates one of them through Store.Rate;
// a Tally reads the shared counts back from the Store so that /status,
// /metrics and the rollout's guard see every replica's ratings.
package feedback
