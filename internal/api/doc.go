// Package api is Cato's HTTP surface: the OpenAI-compatible endpoints, the
// native /api/cato endpoints, the admin endpoints and /metrics, with auth,
// body limits, request ids and OpenAI's error shape. server.go holds the
// one table of routes, rollout.go the rollout in front of the endpoints
// the legacy side also answers, and errors.go the one place where errors
// become statuses. It hands each request to the orchestrator and knows no
// model wire format but OpenAI's.
package api
