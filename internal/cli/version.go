package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/cato-gateway/cato/internal/version"
)

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cato %s\n", version.String())
	return nil
}
