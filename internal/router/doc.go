// Package router decides which model answers a request: rules from the
// configuration, exemplar routes matched by embedding, and a complexity
// score, giving a Decision with its fallback chain and the reason.
package router
