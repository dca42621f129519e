package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// command is one subcommand. run parses args (the arguments after the
// subcommand's name) and does the work; it returns when ctx is done at the
// latest.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the gateway (defaults: embedded store, simulated models)", runServe},
		{"simulate", "run a simulated OpenAI/Bedrock/SageMaker-compatible model server", runSimulate},
		{"rollout", "status|set N|rollback|report: talk to a running gateway's admin API", runRollout},
		{"import", "litellm FILE: translate a LiteLLM proxy config into a Cato config", runImport},
		{"keys", "create|list|revoke ID: manage client keys through a running gateway's admin API", runKeys},
		{"loadtest", "drive load and report p50/p99, errors, cache hit rate", runLoadtest},
		{"version", "print the version", runVersion},
	}
}

// Run runs the subcommand named by args[0] and returns the process exit
// status: 0 on success, 2 for a usage error (no command or an unknown one
// included), 1 otherwise. Asking for help prints the usage to stdout; a
// usage error prints it to stderr.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(usageError)):
			fmt.Fprintf(stderr, "cato %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "cato %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "cato: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Cato is an LLM orchestration gateway.\n\nUsage: cato <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'cato <command> -h' for a command's flags.")
}

// usageError is a bad command line; Run exits 2 for it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// newFlagSet returns a FlagSet that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cato "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args with fs and wraps a bad flag as a usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}
