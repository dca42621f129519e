// Package appconfig feeds the rollout flag from AWS AppConfig: it polls the
// runbook's document {"use_new_orchestrator": {"percentage": N}} with the
// AppConfigData API and writes each new version to the shared
// rollout.FlagStore, from where every replica's Poller applies it. It runs
// beside the request path, never in it, and only when
// rollout.appconfig.application is set.
package appconfig
