// Package rollout moves traffic from the legacy upstream to the new
// orchestrator. api puts it in front of the endpoints both sides answer:
// right after a request is authenticated, the Decider picks its side,
// sticky per user or session; Legacy proxies the legacy side, Shadow
// mirrors a share to the other side, Stats counts each side's outcomes and
// Guard rolls back on its own. Around that it keeps the shared percentage
// flag (FlagStore, Poller, Admin) and records legacy turns (DualWrite). It
// knows no configuration file: each part takes its own options, with its
// defaults defined here.
package rollout
