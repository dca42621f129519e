package litellm

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Options tunes Import. The zero value imports the models alone, with no
// rollout section.
type Options struct {
	// Source names the file in the report and the written config's
	// header. Empty means "config.yaml".
	Source string
	// LegacyURL is the running LiteLLM proxy's base URL. When set, the
	// import adds it as Cato's legacy model and a rollout section, so that
	// a migration starts with Percentage of users on Cato.
	LegacyURL string
	// Percentage is the share of users on Cato at start when LegacyURL is
	// set, 0..100. Zero starts with every user on LiteLLM.
	Percentage int
}

// Result is what Import produced.
type Result struct {
	// Config is the Cato configuration, as YAML.
	Config []byte
	// Report lists what was mapped, approximated or left out.
	Report *Report
}

// Cato's defaults that the import reasons about; package config documents
// them (upstream.timeout, retries.max_attempts, retries.max,
// retries.budget).
const (
	catoTimeout     = 30 * time.Second
	catoMaxAttempts = 2
	catoBackoffMax  = 2 * time.Second
	catoBudget      = 120 * time.Second
)

// ErrNoModels is returned when no deployment of model_list could be
// mapped, so there is no Cato configuration to write.
var ErrNoModels = errors.New("no deployment of model_list could be mapped to a Cato model")

// Import translates the LiteLLM proxy configuration text into a Cato
// configuration. It never copies a secret's value: a key read from the
// environment (os.environ/NAME) keeps its variable's name, and a secret
// written in the file is replaced by a variable the report names. It
// returns an error when text is not a LiteLLM configuration or maps to no
// model; anything else it cannot carry over is in the report.
func Import(text []byte, opts Options) (*Result, error) {
	if opts.Source == "" {
		opts.Source = "config.yaml"
	}
	if opts.Percentage < 0 || opts.Percentage > 100 {
		return nil, fmt.Errorf("percentage %d is not between 0 and 100", opts.Percentage)
	}
	doc, err := decode(text)
	if err != nil {
		return nil, err
	}
	im := &importer{
		rep:   &Report{Source: opts.Source},
		out:   &outConfig{Models: map[string]*outModel{}},
		names: map[string][]string{},
	}
	im.models(doc.models)
	if len(im.out.Models) == 0 {
		return nil, ErrNoModels
	}
	im.router(doc.router, doc.library)
	im.cache(doc.library, doc.router)
	im.general(doc.general)
	for _, k := range sortedKeys(doc.env) {
		im.rep.add(NotMapped, "environment_variables."+k, "", "Cato reads its environment from the process; set "+k+" there (its value was not copied)")
	}
	for _, k := range doc.other {
		im.rep.add(NotMapped, k, "", "no Cato equivalent")
	}
	if err := im.rollout(opts); err != nil {
		return nil, err
	}
	im.fallbacks()
	im.budget()
	b, err := im.out.marshal(opts.Source)
	if err != nil {
		return nil, fmt.Errorf("writing the Cato configuration: %w", err)
	}
	return &Result{Config: b, Report: im.rep}, nil
}

// importer holds one import's state.
type importer struct {
	rep *Report
	out *outConfig
	// order lists the Cato models in model_list order.
	order []string
	// names maps a LiteLLM model_name to the Cato models of its
	// deployments, the first one named after it.
	names map[string][]string
	// deployments are the extra deployments of a model_name, which become
	// the first fallbacks of its first.
	deployments map[string][]string
	// chains holds routing.fallbacks in the order they were found.
	chains map[string][]string
	// simpleName is the LiteLLM model_name of routing.simple, the model
	// LiteLLM is asked for on the legacy side.
	simpleName string
}

// secret records a secret written in the file at from: not copied, to be
// moved into env.
func (im *importer) secret(from, env, what string) {
	im.rep.Findings = append(im.rep.Findings, Finding{
		Kind: NotMapped, From: from, Env: env,
		Note: fmt.Sprintf("%s is written in the file; it was NOT copied. Put it in the environment variable %s", what, env),
	})
}

// envVar makes an environment variable name from parts: upper case,
// letters, digits and underscores.
func envVar(parts ...string) string {
	s := strings.ToUpper(strings.Join(parts, "_"))
	var b strings.Builder
	for _, r := range s {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else if !strings.HasSuffix(b.String(), "_") {
			b.WriteByte('_')
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" || (out[0] >= '0' && out[0] <= '9') {
		out = "LITELLM_" + out
	}
	return out
}

// fallbacks writes routing.fallbacks: a model_name's extra deployments
// first, then the fallbacks LiteLLM configured, without repeats.
func (im *importer) fallbacks() {
	out := map[string][]string{}
	for _, from := range im.order {
		var chain []string
		for _, m := range slices.Concat(im.deployments[from], im.chains[from]) {
			if m != from && !slices.Contains(chain, m) {
				chain = append(chain, m)
			}
		}
		if len(chain) > 0 {
			out[from] = chain
		}
	}
	if len(out) > 0 {
		im.out.Routing.Fallbacks = out
	}
}

// budget raises retries.budget when a model's attempts would leave its
// first fallback no whole attempt within it, which Cato refuses at start:
// LiteLLM's long timeouts (600s by default) often do.
func (im *importer) budget() {
	attempts, budget := catoMaxAttempts, catoBudget
	if r := im.out.Retries; r != nil {
		if r.MaxAttempts > 0 {
			attempts = r.MaxAttempts
		}
		if r.Budget > 0 {
			budget = time.Duration(r.Budget)
		}
	}
	timeout := func(m string) time.Duration {
		if t := im.out.Models[m].Timeout; t > 0 {
			return time.Duration(t)
		}
		if u := im.out.Upstream; u != nil && u.Timeout > 0 {
			return time.Duration(u.Timeout)
		}
		return catoTimeout
	}
	need := time.Duration(0)
	for _, from := range sortedKeys(im.out.Routing.Fallbacks) {
		n := time.Duration(attempts)
		worst := n*timeout(from) + (n-1)*catoBackoffMax + timeout(im.out.Routing.Fallbacks[from][0])
		need = max(need, worst)
	}
	if need <= budget {
		return
	}
	need = need.Round(time.Second)
	if im.out.Retries == nil {
		im.out.Retries = &outRetries{}
	}
	im.out.Retries.Budget = duration(need)
	im.rep.add(Approximated, "(timeouts and fallbacks)", "retries.budget",
		fmt.Sprintf("raised from %v to %v so that a model whose attempts all time out still leaves its first fallback one whole attempt (Cato checks this at start-up); lower the timeouts to keep a shorter bound on a request", budget, need))
}

// rollout adds LiteLLM itself as the legacy side when opts names it.
func (im *importer) rollout(opts Options) error {
	if opts.LegacyURL == "" {
		im.rep.add(Approximated, "(rollout)", "rollout.percentage", "no --legacy-url: every request is served by Cato at once (rollout.percentage defaults to 100); import with --legacy-url to move users over gradually")
		return nil
	}
	u, err := url.Parse(opts.LegacyURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("legacy URL %q is not an http(s) URL without credentials, such as http://litellm:4000", opts.LegacyURL)
	}
	base := strings.TrimSuffix(u.String(), "/")
	if !strings.HasSuffix(base, "/v1") {
		base += "/v1"
	}
	name := "legacy"
	for i := 2; im.out.Models[name] != nil; i++ {
		name = fmt.Sprintf("legacy-%d", i)
	}
	m := &outModel{Provider: "openai", BaseURL: base, ModelID: im.simpleName}
	if im.out.Auth != nil {
		m.APIKeyEnv = im.out.Auth.AdminKeyEnv
	}
	im.out.Models[name] = m
	im.out.Rollout = &outRollout{Percentage: opts.Percentage, Legacy: name}
	note := fmt.Sprintf("the running LiteLLM proxy serves the legacy side; %d%% of users start on Cato. Requests that name auto, cato or any Cato model reach LiteLLM as model %s", opts.Percentage, im.simpleName)
	if m.APIKeyEnv != "" {
		note += "; Cato calls it with the master key from " + m.APIKeyEnv
	}
	im.rep.add(Mapped, "(--legacy-url)", "models."+name+", rollout", note)
	return nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
