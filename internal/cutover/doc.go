// Package cutover builds the migration's evidence report: it reads the
// rollout figures of one or more gateway replicas from the admin API,
// merges them, judges them against the runbook's rules and writes the
// result as text, JSON or an HTML page. `cato rollout report` uses it; it
// sits outside the request path.
package cutover
