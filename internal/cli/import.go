package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/litellm"
)

func runImport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: cato import litellm CONFIG.yaml [flags]

Translates a LiteLLM proxy configuration into a Cato configuration, written
to stdout or -o FILE, and reports on stderr what was mapped, approximated or
not mapped. Secrets written in the file are never copied (docs/import.md).

Flags:
`)
		fs.PrintDefaults()
	}
	out := fs.String("o", "", "write the Cato configuration to `file` (default stdout); an existing file is not overwritten unless --force")
	force := fs.Bool("force", false, "overwrite the -o file")
	format := fs.String("report", "text", "report format on stderr: text or json")
	legacyURL := fs.String("legacy-url", "", "the running LiteLLM proxy's `URL`: it becomes Cato's legacy side and a rollout section is written")
	percentage := fs.Int("percentage", 0, "with --legacy-url, the share of users on Cato at start (0..100)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "litellm" {
		fs.Usage()
		return usageError{"name what to import: cato import litellm CONFIG.yaml"}
	}
	if *format != "text" && *format != "json" {
		return usageError{fmt.Sprintf("--report %q is not text or json", *format)}
	}
	if *percentage < 0 || *percentage > 100 {
		return usageError{fmt.Sprintf("--percentage %d is not between 0 and 100", *percentage)}
	}
	if *percentage != 0 && *legacyURL == "" {
		return usageError{"--percentage needs --legacy-url"}
	}
	text, err := os.ReadFile(pos[1])
	if err != nil {
		return err
	}
	res, err := litellm.Import(text, litellm.Options{Source: pos[1], LegacyURL: *legacyURL, Percentage: *percentage})
	if err != nil {
		return fmt.Errorf("%s: %w", pos[1], err)
	}
	// The written file must start: a config Cato would refuse is a bug of
	// the import, never the operator's to find.
	if _, err := config.Parse(res.Config); err != nil {
		return fmt.Errorf("the imported configuration does not pass Cato's validation (please report this): %w", err)
	}
	if *format == "json" {
		err = res.Report.WriteJSON(stderr)
	} else {
		err = res.Report.WriteText(stderr)
	}
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(res.Config)
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(*out, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists; use --force to overwrite it", *out)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(res.Config); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return nil
}
