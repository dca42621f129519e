package litellm

import (
	"fmt"
	"net/url"
	"strings"
)

// openAIHosts are the default base URLs of LiteLLM provider prefixes that
// speak the OpenAI chat completions protocol, for deployments that give no
// api_base. Prefixes for servers run by the operator (hosted_vllm, vllm,
// openai_like, litellm_proxy) have no default: their api_base is required.
var openAIHosts = map[string]string{
	"openai":        "https://api.openai.com/v1",
	"groq":          "https://api.groq.com/openai/v1",
	"together_ai":   "https://api.together.xyz/v1",
	"fireworks_ai":  "https://api.fireworks.ai/inference/v1",
	"deepseek":      "https://api.deepseek.com/v1",
	"mistral":       "https://api.mistral.ai/v1",
	"openrouter":    "https://openrouter.ai/api/v1",
	"xai":           "https://api.x.ai/v1",
	"perplexity":    "https://api.perplexity.ai",
	"deepinfra":     "https://api.deepinfra.com/v1/openai",
	"ollama":        "http://localhost:11434/v1",
	"ollama_chat":   "http://localhost:11434/v1",
	"lm_studio":     "http://localhost:1234/v1",
	"hosted_vllm":   "",
	"vllm":          "",
	"openai_like":   "",
	"litellm_proxy": "",
}

// paramsUsed are the litellm_params keys a deployment's mapping reads;
// the others are reported.
var paramsUsed = map[string]bool{
	"model": true, "api_base": true, "api_key": true, "aws_region_name": true,
	"aws_access_key_id": true, "aws_secret_access_key": true, "aws_session_token": true,
	"aws_bedrock_runtime_endpoint": true, "timeout": true, "rpm": true, "tpm": true,
	"max_retries": true, "stream_timeout": true, "aws_profile_name": true, "aws_role_name": true,
}

// models maps model_list. A model_name's first deployment that maps
// becomes the Cato model of that name; its others become models named
// NAME-2, NAME-3…, tried as its first fallbacks: Cato sends a request to
// one model and fails over, where LiteLLM spreads requests over the
// deployments of a name.
func (im *importer) models(list []any) {
	im.deployments = map[string][]string{}
	for i, e := range list {
		at := fmt.Sprintf("model_list[%d]", i)
		d, ok := e.(map[string]any)
		if !ok {
			im.rep.add(NotMapped, at, "", "not a deployment (want model_name and litellm_params)")
			continue
		}
		name, _ := scalar(d["model_name"])
		name = strings.TrimSpace(name)
		params, _ := d["litellm_params"].(map[string]any)
		if name == "" || params == nil {
			im.rep.add(NotMapped, at, "", "a deployment needs model_name and litellm_params")
			continue
		}
		if name == "*" || strings.Contains(name, "*") {
			im.rep.add(NotMapped, at, "", fmt.Sprintf("the wildcard model_name %q passes any model through; Cato serves the models it names: add each one", name))
			continue
		}
		key := name
		if strings.EqualFold(key, "auto") || strings.EqualFold(key, "cato") {
			key = name + "-model"
			im.rep.add(Approximated, at+".model_name", "models."+key, fmt.Sprintf("%q names the router's own choice in Cato; the model is named %s", name, key))
		}
		for n := 2; im.out.Models[key] != nil; n++ {
			key = fmt.Sprintf("%s-%d", name, n)
		}
		m, ok := im.deployment(at, key, params)
		if !ok {
			continue
		}
		if price := modelPrice(d["model_info"]); price != nil {
			m.Price = price
			im.rep.add(Mapped, at+".model_info.{input,output}_cost_per_token", "models."+key+".price", "per token × 1,000,000")
		}
		if info, ok := d["model_info"].(map[string]any); ok {
			var other []string
			for _, k := range sortedKeys(info) {
				if k != "input_cost_per_token" && k != "output_cost_per_token" {
					other = append(other, k)
				}
			}
			if len(other) > 0 {
				im.rep.add(NotMapped, at+".model_info.{"+strings.Join(other, ",")+"}", "", "Cato does not use this model metadata")
			}
		}
		im.out.Models[key] = m
		im.order = append(im.order, key)
		first := im.names[name]
		im.names[name] = append(im.names[name], key)
		if len(first) > 0 {
			im.deployments[first[0]] = append(im.deployments[first[0]], key)
			im.rep.add(Approximated, at, "models."+key, fmt.Sprintf("another deployment of %s: LiteLLM balances load over a name's deployments, Cato sends each request to %s and tries %s when it fails (routing.fallbacks.%s)", name, first[0], key, first[0]))
		}
		if im.out.Routing.Simple == "" {
			im.out.Routing.Simple, im.simpleName = key, name
			im.rep.add(Approximated, at+".model_name", "routing.simple", fmt.Sprintf("requests that name a model go to it, as in LiteLLM; requests for auto (Cato's router) go to %s, the first model of model_list: set routing.complex and routing.domains to use Cato's routing", key))
		}
	}
}

// deployment maps one deployment's litellm_params to the Cato model key.
// It reports what it maps; false means the deployment cannot be served.
func (im *importer) deployment(at, key string, p map[string]any) (*outModel, bool) {
	to := "models." + key
	modelStr, _ := scalar(p["model"])
	modelStr = strings.TrimSpace(modelStr)
	if modelStr == "" {
		im.rep.add(NotMapped, at, "", "litellm_params.model is missing")
		return nil, false
	}
	prefix, rest, hasPrefix := strings.Cut(modelStr, "/")
	if !hasPrefix {
		prefix, rest = inferPrefix(modelStr), modelStr
	}
	pp := at + ".litellm_params."
	m := &outModel{}
	switch prefix {
	case "bedrock":
		m.Provider, m.API, m.ModelID = "bedrock", "converse", rest
		if id, ok := strings.CutPrefix(rest, "converse/"); ok {
			m.ModelID = id
		} else if id, ok := strings.CutPrefix(rest, "invoke/"); ok {
			m.API, m.ModelID = "invoke", id
			if !strings.Contains(id, "anthropic") {
				m.API = "converse"
				im.rep.add(Approximated, pp+"model", to+".api", "Cato's invoke API sends the Anthropic Messages body only; this model is called through the Converse API instead")
			}
		}
		if m.ModelID == "" {
			im.rep.add(NotMapped, at, "", fmt.Sprintf("%q names no Bedrock model", modelStr))
			return nil, false
		}
		im.rep.add(Mapped, pp+"model", to, fmt.Sprintf("provider bedrock, api %s, model_id %s", m.API, m.ModelID))
		im.awsParams(pp, to, p, m)
	case "sagemaker", "sagemaker_chat":
		m.Provider, m.EndpointName, m.Payload = "sagemaker", rest, "tgi"
		note := "provider sagemaker, endpoint_name " + rest + ", payload tgi (LiteLLM's sagemaker/ sends inputs and parameters)"
		if prefix == "sagemaker_chat" {
			m.Payload = "openai"
			note = "provider sagemaker, endpoint_name " + rest + ", payload openai (the messages body)"
		}
		if rest == "" {
			im.rep.add(NotMapped, at, "", fmt.Sprintf("%q names no SageMaker endpoint", modelStr))
			return nil, false
		}
		im.rep.add(Mapped, pp+"model", to, note)
		im.awsParams(pp, to, p, m)
	default:
		def, compatible := openAIHosts[prefix]
		if !compatible {
			im.rep.add(NotMapped, at, "", fmt.Sprintf("provider %q of %q is not one Cato speaks (bedrock, sagemaker, or an OpenAI-compatible server); put an OpenAI-compatible server in front of it, or add the model by hand", prefix, modelStr))
			return nil, false
		}
		m.Provider, m.ModelID = "openai", rest
		base, ok := im.apiBase(pp, to, p, def)
		if !ok {
			return nil, false
		}
		m.BaseURL = base
		im.rep.add(Mapped, pp+"model", to, fmt.Sprintf("provider openai (OpenAI-compatible %s), model_id %s, base_url %s", prefix, rest, base))
		im.apiKey(pp, to, key, p, m)
	}
	if v, ok := p["timeout"]; ok {
		if d, ok := seconds(v); ok {
			m.Timeout = duration(d)
			im.rep.add(Mapped, pp+"timeout", to+".timeout", "")
		} else {
			im.rep.add(NotMapped, pp+"timeout", "", "not a number of seconds")
		}
	}
	if _, ok := p["stream_timeout"]; ok {
		im.rep.add(NotMapped, pp+"stream_timeout", "", "Cato bounds the wait for a stream's first chunk with the model's timeout and each later chunk with upstream.stream_idle_timeout, for every model")
	}
	for _, k := range []string{"rpm", "tpm"} {
		if _, ok := p[k]; ok {
			im.rep.add(NotMapped, pp+k, "", "Cato has no per-model rate limit; models."+key+".max_concurrency caps calls in flight")
		}
	}
	if _, ok := p["max_retries"]; ok {
		im.rep.add(NotMapped, pp+"max_retries", "", "Cato's retries (retries.max_attempts) apply to every model")
	}
	var other []string
	for _, k := range sortedKeys(p) {
		if !paramsUsed[k] {
			other = append(other, k)
		}
	}
	if len(other) > 0 {
		im.rep.add(NotMapped, pp+"{"+strings.Join(other, ",")+"}", "", "Cato sets no request parameters per model; clients send their own")
	}
	return m, true
}

// inferPrefix names the provider LiteLLM infers for a model string with
// no prefix: OpenAI's own models, and nothing else Cato speaks.
func inferPrefix(model string) string {
	for _, p := range []string{"gpt-", "o1", "o3", "o4", "chatgpt-"} {
		if strings.HasPrefix(model, p) {
			return "openai"
		}
	}
	if strings.HasPrefix(model, "anthropic.") || strings.HasPrefix(model, "amazon.") || strings.HasPrefix(model, "meta.") {
		return "bedrock"
	}
	return "(" + model + ")"
}

// apiBase returns the OpenAI-compatible base URL of a deployment: its
// api_base, with /v1 added to a bare host, or def.
func (im *importer) apiBase(pp, to string, p map[string]any, def string) (string, bool) {
	raw, has := scalar(p["api_base"])
	if !has || strings.TrimSpace(raw) == "" {
		if def == "" {
			im.rep.add(NotMapped, strings.TrimSuffix(pp, ".litellm_params."), "", "an OpenAI-compatible server run by you needs api_base")
			return "", false
		}
		return def, true
	}
	raw = strings.TrimSpace(raw)
	if name, ok := envName(raw); ok {
		im.rep.add(NotMapped, pp+"api_base", "", fmt.Sprintf("read from %s in LiteLLM; a Cato model needs its base_url in the file (or a CATO_MODELS__…__BASE_URL override): the deployment was left out", name))
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		im.rep.add(NotMapped, pp+"api_base", "", "not an http(s) URL")
		return "", false
	}
	if u.User != nil {
		u.User = nil
		im.rep.add(NotMapped, pp+"api_base", "", "the URL carries credentials; they were NOT copied")
	}
	u.RawQuery, u.Fragment = "", ""
	base := strings.TrimSuffix(u.String(), "/")
	if u.Path == "" || u.Path == "/" {
		base += "/v1"
		im.rep.add(Approximated, pp+"api_base", to+".base_url", "Cato's base_url includes the /v1 prefix, which LiteLLM adds itself; /v1 was added")
	}
	return base, true
}

// apiKey maps api_key to api_key_env.
func (im *importer) apiKey(pp, to, key string, p map[string]any, m *outModel) {
	raw, has := scalar(p["api_key"])
	if !has || strings.TrimSpace(raw) == "" {
		return
	}
	if name, ok := envName(raw); ok {
		m.APIKeyEnv = name
		im.rep.add(Mapped, pp+"api_key", to+".api_key_env", "the key stays in "+name)
		return
	}
	m.APIKeyEnv = envVar(key, "API_KEY")
	im.secret(pp+"api_key", m.APIKeyEnv, "the API key")
}

// awsParams maps the AWS settings of a Bedrock or SageMaker deployment.
func (im *importer) awsParams(pp, to string, p map[string]any, m *outModel) {
	if raw, ok := scalar(p["aws_region_name"]); ok && raw != "" {
		if name, isEnv := envName(raw); isEnv {
			im.rep.add(Approximated, pp+"aws_region_name", "", "read from "+name+" in LiteLLM; Cato uses the AWS SDK's region (AWS_REGION) when the model names none: set AWS_REGION from "+name)
		} else {
			m.Region = raw
			im.rep.add(Mapped, pp+"aws_region_name", to+".region", "")
		}
	}
	if raw, ok := scalar(p["aws_bedrock_runtime_endpoint"]); ok && raw != "" {
		if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" && u.User == nil {
			m.Endpoint = raw
			im.rep.add(Mapped, pp+"aws_bedrock_runtime_endpoint", to+".endpoint", "")
		} else {
			im.rep.add(NotMapped, pp+"aws_bedrock_runtime_endpoint", "", "not a URL Cato can use")
		}
	}
	creds := map[string]string{"aws_access_key_id": "AWS_ACCESS_KEY_ID", "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY", "aws_session_token": "AWS_SESSION_TOKEN"}
	for _, k := range sortedKeys(creds) {
		raw, ok := scalar(p[k])
		if !ok || raw == "" {
			continue
		}
		if name, isEnv := envName(raw); isEnv {
			note := "Cato signs with the AWS SDK's default credential chain (environment, profile, instance or task role)"
			if name != creds[k] {
				note += "; set " + creds[k] + " from " + name
			}
			im.rep.add(Approximated, pp+k, "", note)
			continue
		}
		im.secret(pp+k, creds[k], "an AWS credential")
	}
	for _, k := range []string{"aws_profile_name", "aws_role_name"} {
		if _, ok := p[k]; ok {
			im.rep.add(Approximated, pp+k, "", "Cato uses the AWS SDK's default credential chain: set AWS_PROFILE, or run with the role")
		}
	}
}

// modelPrice reads model_info's per-token costs as a Cato price.
func modelPrice(v any) *outPrice {
	info, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	in, okIn := number(info["input_cost_per_token"])
	out, okOut := number(info["output_cost_per_token"])
	if !okIn || !okOut || in < 0 || out < 0 || (in == 0 && out == 0) {
		return nil
	}
	return &outPrice{InputPerMTok: round6(in * 1e6), OutputPerMTok: round6(out * 1e6)}
}

func round6(f float64) float64 {
	const k = 1e6
	if f > 1e12 {
		return f
	}
	return float64(int64(f*k+0.5)) / k
}
