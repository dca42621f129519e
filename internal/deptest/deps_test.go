package deptest

import (
	"bytes"
	"encoding/json"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cato-gateway/cato/"

type pkg struct {
	ImportPath string
	Imports    []string // direct
	Deps       []string // transitive
}

// load lists every package of the module, by path within the module.
func load(t *testing.T) map[string]pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = p
	}
	return pkgs
}

// class is the role of a package in the import graph.
type class string

const (
	leaf    class = "leaf"    // imports nothing of Cato but llm and window
	domain  class = "domain"  // the request path's concepts; no config, adapter, driver or wiring
	adapter class = "adapter" // one backend's protocol behind a domain interface; may use its SDK
	store   class = "store"   // state backends: the only home of the database drivers
	httpAPI class = "http"    // the HTTP layer
	conf    class = "config"  // the YAML schema; imports nothing of Cato
	wiring  class = "wiring"  // the composition root and the commands
	testSup class = "test"    // test support: may import testing
	tool    class = "tool"    // generators, load tools and checks outside the request path
)

// classes names the class of every package of the module. A package that
// is missing here, or listed here but missing from the module, fails the
// test: a new package (internal/memory, say) is classified when it is
// added, and a rule cannot go on naming a package that is gone.
var classes = map[string]class{
	"internal/llm":         leaf,
	"internal/breaker":     leaf,
	"internal/backoff":     leaf,
	"internal/openai":      leaf,
	"internal/vectorindex": leaf,
	"internal/metrics":     leaf,
	"internal/requestid":   leaf,
	"internal/redact":      leaf,
	"internal/lograte":     leaf,
	"internal/version":     leaf,
	"internal/window":      leaf,
	"internal/connlimit":   leaf,
	"internal/telemetry":   leaf,

	"internal/session":       domain,
	"internal/cache":         domain,
	"internal/cache/lexicon": domain,
	"internal/router":        domain,
	"internal/rollout":       domain,
	"internal/embed":         domain,
	"internal/embed/use":     domain,
	"internal/orchestrator":  domain,
	"internal/provider":      domain,
	"internal/simulator":     domain,
	"internal/memory":        domain,
	"internal/feedback":      domain,
	"internal/keys":          domain,

	"internal/provider/awsenv":       adapter,
	"internal/provider/bedrock":      adapter,
	"internal/provider/nli":          adapter,
	"internal/provider/openaicompat": adapter,
	"internal/provider/sagemaker":    adapter,
	"internal/provider/simulated":    adapter,
	"internal/rollout/appconfig":     adapter,
	"internal/embed/titan":           adapter,

	"internal/store":                    store,
	"internal/store/cachecodec":         store,
	"internal/store/dynamostore":        store,
	"internal/store/embedded":           store,
	"internal/store/pgstore":            store,
	"internal/store/redisstore":         store,
	"internal/api":                      httpAPI,
	"internal/config":                   conf,
	"internal/app":                      wiring,
	"internal/cli":                      wiring,
	"cmd/cato":                          wiring,
	"internal/testenv":                  testSup,
	"internal/cache/cachetest":          testSup,
	"internal/evalset":                  testSup,
	"internal/session/sessiontest":      testSup,
	"internal/memory/memorytest":        testSup,
	"internal/rollout/rollouttest":      testSup,
	"internal/keys/keystest":            testSup,
	"internal/provider/awstest":         testSup,
	"internal/loadtest":                 tool,
	"internal/litellm":                  tool,
	"internal/cutover":                  tool,
	"internal/embed/glovegen":           tool,
	"internal/embed/use/usegen":         tool,
	"internal/cache/lexicon/wordnetgen": tool,
	"internal/deptest":                  tool,
	"deploy":                            tool,
	"internal/docstest":                 tool,
	"bench/store":                       tool,
	"bench/flood":                       tool,

	"internal/feedback/feedbacktest": testSup,
}

// mayImport lists, per class, the classes of Cato packages it may import
// directly. Since every class is closed under it, the direct rule also
// holds for everything a package reaches.
// Leaves and config have stricter rules of their own.
var mayImport = map[class][]class{
	domain:  {leaf, domain},
	adapter: {leaf, domain, adapter},
	store:   {leaf, domain, store},
	httpAPI: {leaf, domain},
}

// drivers maps the module path of each database or cloud driver to the
// packages that may import it. Domain packages reach none of them.
var drivers = map[string][]string{
	"github.com/redis/go-redis/": {"internal/store/redisstore"},
	"github.com/jackc/pgx/":      {"internal/store/pgstore"},
	"go.etcd.io/bbolt":           {"internal/store/embedded"},
	"github.com/aws/aws-sdk-go-v2/": {
		"internal/provider/awsenv", "internal/provider/bedrock", "internal/provider/nli",
		"internal/provider/sagemaker", "internal/provider/awstest",
		"internal/rollout/appconfig", "internal/embed/titan", "internal/store/dynamostore",
	},
	"github.com/aws/smithy-go": {
		"internal/provider/awsenv", "internal/provider/bedrock", "internal/provider/nli",
		"internal/provider/sagemaker", "internal/provider/awstest",
		"internal/rollout/appconfig", "internal/embed/titan", "internal/store/dynamostore",
	},
}

// codecs are driver packages that are wire codecs, not clients: the
// simulator frames its Bedrock and SageMaker answers with the AWS event
// stream encoder, and opens no connection to AWS.
var codecs = map[string][]string{
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream": {"internal/simulator"},
	"github.com/aws/smithy-go/logging":                      {"internal/simulator"}, // imported by eventstream
}

func cato(deps []string) []string {
	var out []string
	for _, d := range deps {
		if rest, ok := strings.CutPrefix(d, module); ok {
			out = append(out, rest)
		}
	}
	return out
}

func TestImportGraph(t *testing.T) {
	pkgs := load(t)

	t.Run("every package has a class", func(t *testing.T) {
		for _, p := range slices.Sorted(maps.Keys(pkgs)) {
			if _, ok := classes[p]; !ok {
				t.Errorf("%s has no class; add it to classes in deps_test.go", p)
			}
		}
		for _, p := range slices.Sorted(maps.Keys(classes)) {
			if _, ok := pkgs[p]; !ok {
				t.Errorf("%s is classified as %s but does not exist; remove it from classes", p, classes[p])
			}
		}
	})

	t.Run("leaves import nothing of Cato but llm and window", func(t *testing.T) {
		for _, p := range sortedOf(classes, leaf) {
			for _, d := range cato(pkgs[p].Deps) {
				if d != "internal/llm" && d != "internal/window" {
					t.Errorf("leaf %s imports %s", p, d)
				}
			}
		}
	})

	t.Run("config imports nothing of Cato", func(t *testing.T) {
		for _, d := range cato(pkgs["internal/config"].Deps) {
			t.Errorf("internal/config imports %s; the packages own their defaults, config only names them", d)
		}
	})

	for _, c := range []class{domain, adapter, store, httpAPI} {
		t.Run(string(c)+" packages import only "+classList(mayImport[c]), func(t *testing.T) {
			for _, p := range sortedOf(classes, c) {
				for _, d := range cato(pkgs[p].Imports) {
					if dc := classes[d]; !slices.Contains(mayImport[c], dc) {
						t.Errorf("%s (%s) imports %s (%s)", p, c, d, dc)
					}
				}
			}
		})
	}

	t.Run("only cli imports app, only cmd/cato imports cli", func(t *testing.T) {
		for _, p := range slices.Sorted(maps.Keys(pkgs)) {
			for _, d := range cato(pkgs[p].Imports) {
				if (d == "internal/app" && p != "internal/cli") || (d == "internal/cli" && p != "cmd/cato") {
					t.Errorf("%s imports %s", p, d)
				}
			}
		}
	})

	t.Run("drivers only in their store or adapter", func(t *testing.T) {
		for _, p := range slices.Sorted(maps.Keys(pkgs)) {
			for _, imp := range pkgs[p].Imports {
				if allowed, ok := codecs[imp]; ok && slices.Contains(allowed, p) {
					continue
				}
				for prefix, allowed := range drivers {
					if strings.HasPrefix(imp, prefix) && !slices.Contains(allowed, p) {
						t.Errorf("%s imports %s; only %s may", p, imp, strings.Join(allowed, ", "))
					}
				}
			}
		}
	})

	t.Run("production code never imports testing", func(t *testing.T) {
		for _, p := range slices.Sorted(maps.Keys(pkgs)) {
			if classes[p] == testSup {
				continue
			}
			if slices.Contains(pkgs[p].Deps, "testing") {
				t.Errorf("%s imports testing; keep test code in _test.go files or a test-support package", p)
			}
		}
	})
}

func sortedOf(classes map[string]class, c class) []string {
	var out []string
	for p, pc := range classes {
		if pc == c {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func classList(cs []class) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, " and ")
}
