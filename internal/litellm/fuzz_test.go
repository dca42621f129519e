package litellm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cato-gateway/cato/internal/config"
)

// FuzzImport feeds the importer arbitrary text: it must never panic, and
// whatever configuration it writes must pass Cato's validation.
func FuzzImport(f *testing.F) {
	ins, _ := filepath.Glob("testdata/*/litellm.yaml")
	for _, in := range ins {
		b, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "{}", "model_list:\n", "model_list: [1, null, {}]\n",
		"model_list:\n  - {model_name: x, litellm_params: {model: bedrock/}}\n",
		"model_list:\n  - {model_name: x, litellm_params: {model: openai/x, api_base: 'http://[::1]:80', timeout: 1e308}}\nrouter_settings: {fallbacks: {x: [x, x]}, num_retries: -1}\n",
		"model_list:\n  - {model_name: '', litellm_params: {model: sagemaker/}}\n",
		"model_list: &a [*a]\n",
		"litellm_settings: {cache: true, cache_params: {type: redis, host: 'a b', port: 99999}}\nmodel_list:\n  - {model_name: x, litellm_params: {model: gpt-4o}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		res, err := Import(text, Options{LegacyURL: "http://127.0.0.1:4000", Percentage: 10})
		if err != nil {
			return
		}
		if _, err := config.Parse(res.Config); err != nil {
			t.Fatalf("imported config does not validate: %v\ninput:\n%s\noutput:\n%s", err, text, res.Config)
		}
	})
}
