// Package cli implements the cato command line: one file per subcommand
// (serve, simulate, rollout, loadtest, version). Each subcommand parses its
// own flags with the standard library and returns an error; Run turns that
// into an exit status.
package cli
