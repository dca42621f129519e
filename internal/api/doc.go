// Package api is Cato's HTTP surface: the OpenAI-compatible endpoints, the
// native /api/cato endpoints, the admin endpoints and /metrics, with auth,
// body limits, request ids and OpenAI's error shape. errors.go is the one
// place where errors become statuses. It hands each request to the
// orchestrator and knows no model wire format but OpenAI's.
package api
