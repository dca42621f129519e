// Package litellm translates a LiteLLM proxy configuration (config.yaml:
// model_list, router_settings, litellm_settings, general_settings) into a
// Cato configuration, with a report of what was mapped, approximated or
// left out. It sits outside the request path: `cato import litellm` uses
// it once, when an operator moves from LiteLLM to Cato.
package litellm
