// Package rollout moves traffic from the legacy upstream to the new
// orchestrator: it sits in the request path right after api has parsed and
// authenticated a request, and decides, sticky per user or session, which side
// answers it. Around that decision it keeps the shared percentage flag
// (FlagStore, Poller), proxies legacy requests (Legacy), mirrors a share of
// traffic to the other side (Shadow), rolls back on its own (Guard) and
// counts what happened for /status (Stats).
package rollout
