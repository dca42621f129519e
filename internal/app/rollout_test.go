package app

import (
	"reflect"
	"testing"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/rollout"
)

func TestDeciderOptions(t *testing.T) {
	got, err := deciderOptions(config.Rollout{SideHeader: true, Overrides: map[string]string{"team-a": "new", "team-a/u-1": "legacy"}})
	want := rollout.DeciderOptions{AllowHeader: true, Overrides: map[string]rollout.Side{"team-a": rollout.SideNew, "team-a/u-1": rollout.SideLegacy}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("deciderOptions = %+v, %v; want %+v", got, err, want)
	}
	if _, err := deciderOptions(config.Rollout{Overrides: map[string]string{"x": "both"}}); err == nil {
		t.Error("deciderOptions accepted side \"both\"")
	}
}

func TestLegacyOptions(t *testing.T) {
	m := config.Model{Provider: config.ProviderOpenAI, BaseURL: "http://litellm:4000/v1", ModelID: "gpt-4o-mini", APIKeyEnv: "LITELLM_KEY"}
	got := legacyOptions(m, map[string]string{"LITELLM_KEY": "sk-1"})
	if got.BaseURL != m.BaseURL || got.ModelID != "gpt-4o-mini" || got.APIKey != "sk-1" {
		t.Errorf("legacyOptions = %+v; want the base URL, model id and the key read from LITELLM_KEY", got)
	}
	if got := legacyOptions(config.Model{BaseURL: m.BaseURL}, nil); got.APIKey != "" || got.Price != nil {
		t.Errorf("legacyOptions without api_key_env nor price = key %q, price %v; want neither", got.APIKey, got.Price)
	}
	m.Price = config.Price{InputPerMTok: 0.15, OutputPerMTok: 0.6}
	if got := legacyOptions(m, nil); got.Price == nil || *got.Price != (rollout.Price{InputPerMTok: 0.15, OutputPerMTok: 0.6}) {
		t.Errorf("legacyOptions price = %v; want the legacy model's price, for the legacy side's cost", got.Price)
	}
}
