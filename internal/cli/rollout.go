package cli

import (
	"context"
	"errors"
	"io"
)

func runRollout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not built yet")
}
