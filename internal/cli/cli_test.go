package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunExitStatus(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		status int
		stdout string // substring; "" means stdout must be empty
		stderr string // substring; "" means stderr must be empty
	}{
		{"no command", nil, 2, "", "Usage: cato <command>"},
		{"help", []string{"help"}, 0, "Usage: cato <command>", ""},
		{"-h", []string{"-h"}, 0, "Usage: cato <command>", ""},
		{"unknown command", []string{"sevre"}, 2, "", `unknown command "sevre"`},
		{"bad flag", []string{"simulate", "-error-rate", "2"}, 2, "", "rates must be between 0 and 1"},
		{"version", []string{"version"}, 0, "cato", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := Run(t.Context(), tt.args, &stdout, &stderr)
			if got != tt.status {
				t.Errorf("Run(%q) = %d; want %d (stderr %q)", tt.args, got, tt.status, stderr.String())
			}
			for _, out := range []struct {
				name, got, want string
			}{{"stdout", stdout.String(), tt.stdout}, {"stderr", stderr.String(), tt.stderr}} {
				if out.want == "" && out.got != "" {
					t.Errorf("Run(%q) wrote %q to %s; want nothing", tt.args, out.got, out.name)
				}
				if !strings.Contains(out.got, out.want) {
					t.Errorf("Run(%q) %s = %q; want it to contain %q", tt.args, out.name, out.got, out.want)
				}
			}
		})
	}
}
