package deploy_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDockerfile checks the image's invariants on the Dockerfile's text:
// a static binary built with -trimpath, a final stage with no shell that
// runs as a non-root numeric user (so that the chart's runAsNonRoot holds)
// and an exec-form entry point.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// Join continued lines, drop comments, split the stages.
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	var stages [][]string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(strings.ToUpper(line), "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], line)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages; want a build stage and a run stage", len(stages))
	}
	build, final := strings.Join(stages[0], "\n"), stages[len(stages)-1]
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/cato"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build stage lacks %s", want)
		}
	}
	if base := final[0]; !strings.Contains(base, "distroless/static") && !strings.HasSuffix(base, " scratch") {
		t.Errorf("final stage %q; want distroless static or scratch (no shell)", base)
	}
	var user, entry string
	for _, line := range final[1:] {
		instr, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "RUN", "SHELL":
			t.Errorf("final stage runs %q; it has no shell", line)
		case "USER":
			user = strings.TrimSpace(arg)
		case "ENTRYPOINT", "CMD":
			if !strings.HasPrefix(strings.TrimSpace(arg), "[") {
				t.Errorf("%q is in shell form; the image has no shell", line)
			}
			if strings.ToUpper(instr) == "ENTRYPOINT" {
				entry = strings.TrimSpace(arg)
			}
		}
	}
	if m := regexp.MustCompile(`^(\d+)(:\d+)?$`).FindStringSubmatch(user); m == nil {
		t.Errorf("USER %q; want a numeric user", user)
	} else if uid, _ := strconv.Atoi(m[1]); uid == 0 {
		t.Error("USER is root")
	}
	if entry != `["/cato", "serve"]` {
		t.Errorf("ENTRYPOINT %s; want [\"/cato\", \"serve\"]", entry)
	}
}
