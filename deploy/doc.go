// Package deploy holds what runs Cato on Kubernetes: the Helm chart in
// helm/cato, the Grafana dashboard in grafana/cato.json, and the tests
// that render the chart and check the dashboard and alert rules against
// the metrics Cato exports. It has no code of its own.
package deploy
