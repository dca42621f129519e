// Command cato is the Cato LLM orchestration gateway. See `cato help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cato-gateway/cato/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
