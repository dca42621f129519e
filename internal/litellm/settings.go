package litellm

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// router maps router_settings and the retry, timeout and fallback keys of
// litellm_settings; router_settings wins where both set a key, as in
// LiteLLM's proxy.
func (im *importer) router(rs, ls map[string]any) {
	im.chains = map[string][]string{}
	im.fallbackKey("router_settings.fallbacks", rs["fallbacks"], "")
	im.fallbackKey("litellm_settings.fallbacks", ls["fallbacks"], "")
	const ctxNote = "Cato has no context-window trigger: these models are appended to the ordinary fallbacks, so they are tried after any failure"
	im.fallbackKey("router_settings.context_window_fallbacks", rs["context_window_fallbacks"], ctxNote)
	im.fallbackKey("litellm_settings.context_window_fallbacks", ls["context_window_fallbacks"], ctxNote)
	for _, sec := range []struct {
		name string
		m    map[string]any
	}{{"router_settings", rs}, {"litellm_settings", ls}} {
		for _, k := range []string{"content_policy_fallbacks", "default_fallbacks"} {
			if _, ok := sec.m[k]; ok {
				im.rep.add(NotMapped, sec.name+"."+k, "", "Cato has no fallbacks by error kind nor for every model: list them under routing.fallbacks per model")
			}
		}
	}

	retriesKey, retries := pick(rs, ls, "num_retries", "num_retries")
	if retriesKey != "" {
		if n, ok := count(retries, 10); ok {
			im.retries().MaxAttempts = n + 1
			im.rep.add(Mapped, retriesKey, "retries.max_attempts", fmt.Sprintf("%d retries are %d attempts", n, n+1))
		} else {
			im.rep.add(NotMapped, retriesKey, "", "not a number of retries from 0 to 10")
		}
	}
	timeoutKey, timeout := pick(rs, ls, "timeout", "request_timeout")
	if timeoutKey != "" {
		if d, ok := seconds(timeout); ok {
			im.out.Upstream = &outUpstream{Timeout: duration(d)}
			im.rep.add(Mapped, timeoutKey, "upstream.timeout", "bounds each attempt of a model that sets no timeout of its own")
		} else {
			im.rep.add(NotMapped, timeoutKey, "", "not a number of seconds")
		}
	}
	if v, ok := rs["retry_after"]; ok {
		if d, ok := seconds(v); ok {
			im.retries().Base = duration(d)
			im.rep.add(Approximated, "router_settings.retry_after", "retries.base", "LiteLLM waits at least this long before a retry; Cato's first backoff is a random wait up to it, growing with each attempt up to retries.max")
		} else if f, isNum := number(v); !isNum || f != 0 {
			im.rep.add(NotMapped, "router_settings.retry_after", "", "not a number of seconds")
		}
	}
	if v, ok := rs["allowed_fails"]; ok {
		if n, ok := count(v, 1000); ok {
			im.breaker().Failures = n + 1
			im.rep.add(Approximated, "router_settings.allowed_fails", "breakers.default.failures", fmt.Sprintf("LiteLLM cools a deployment down after more than %d failures in a minute; Cato opens its breaker after %d failures in a row, or when half the calls of the last minute fail", n, n+1))
		} else {
			im.rep.add(NotMapped, "router_settings.allowed_fails", "", "not a count")
		}
	}
	if v, ok := rs["cooldown_time"]; ok {
		if d, ok := seconds(v); ok {
			im.breaker().Cooldown = duration(d)
			im.rep.add(Mapped, "router_settings.cooldown_time", "breakers.default.cooldown", "")
		} else {
			im.rep.add(NotMapped, "router_settings.cooldown_time", "", "not a number of seconds")
		}
	}
	if v, ok := rs["routing_strategy"]; ok {
		s, _ := scalar(v)
		im.rep.add(NotMapped, "router_settings.routing_strategy", "", fmt.Sprintf("%q spreads requests over a name's deployments; Cato sends each request to one model and fails over along routing.fallbacks", s))
	}
	handled := []string{"fallbacks", "context_window_fallbacks", "content_policy_fallbacks", "default_fallbacks",
		"num_retries", "timeout", "retry_after", "allowed_fails", "cooldown_time", "routing_strategy",
		"redis_host", "redis_port", "redis_password", "redis_url"}
	for _, k := range sortedKeys(rs) {
		if !slices.Contains(handled, k) {
			im.rep.add(NotMapped, "router_settings."+k, "", "no Cato equivalent")
		}
	}
	im.redisStore("router_settings.", rs)
}

// pick returns the router_settings key rk when set, else the
// litellm_settings key lk, with the path it came from; "" when neither is.
func pick(rs, ls map[string]any, rk, lk string) (string, any) {
	if v, ok := rs[rk]; ok && v != nil {
		return "router_settings." + rk, v
	}
	if v, ok := ls[lk]; ok && v != nil {
		return "litellm_settings." + lk, v
	}
	return "", nil
}

func (im *importer) retries() *outRetries {
	if im.out.Retries == nil {
		im.out.Retries = &outRetries{}
	}
	return im.out.Retries
}

func (im *importer) breaker() *outBreaker {
	if im.out.Breakers == nil {
		im.out.Breakers = map[string]*outBreaker{"default": {}}
	}
	return im.out.Breakers["default"]
}

// fallbackKey reads one fallbacks key into the chains; note, when set,
// makes each an approximation.
func (im *importer) fallbackKey(key string, v any, note string) {
	if v == nil {
		return
	}
	pairs, bad := fallbackList(v)
	if bad {
		im.rep.add(NotMapped, key, "", "part of it is not a list of {model: [fallbacks]}")
	}
	for _, p := range pairs {
		from := im.names[p.from]
		at := key + "." + p.from
		if len(from) == 0 {
			im.rep.add(NotMapped, at, "", fmt.Sprintf("%s is not a model this import mapped", p.from))
			continue
		}
		var missing []string
		for _, to := range p.to {
			ms := im.names[to]
			if len(ms) == 0 {
				missing = append(missing, to)
				continue
			}
			im.chains[from[0]] = append(im.chains[from[0]], ms...)
		}
		switch {
		case len(missing) == len(p.to):
			im.rep.add(NotMapped, at, "", fmt.Sprintf("none of %s is a model this import mapped", strings.Join(p.to, ", ")))
		case len(missing) > 0:
			im.rep.add(Approximated, at, "routing.fallbacks."+from[0], fmt.Sprintf("%s left out: not a model this import mapped", strings.Join(missing, ", ")))
		case note != "":
			im.rep.add(Approximated, at, "routing.fallbacks."+from[0], note)
		default:
			im.rep.add(Mapped, at, "routing.fallbacks."+from[0], "")
		}
	}
}

// cache maps litellm_settings.cache and cache_params, and reports the
// other litellm_settings keys.
func (im *importer) cache(ls, rs map[string]any) {
	c := &outCache{}
	im.out.Cache = c
	if !truthy(ls["cache"]) {
		im.rep.add(Approximated, "litellm_settings.cache", "cache.enabled", "LiteLLM caches nothing unless cache is true, so Cato's semantic cache is turned off; turn it on with cache.enabled: true")
	} else {
		c.Enabled = true
		params, _ := ls["cache_params"].(map[string]any)
		typ, _ := scalar(params["type"])
		if typ == "" {
			typ = "local"
		}
		switch typ {
		case "redis-semantic", "qdrant-semantic":
			im.rep.add(Mapped, "litellm_settings.cache", "cache.enabled", "a "+typ+" cache is a semantic cache, as Cato's is")
			if v, ok := params["similarity_threshold"]; ok {
				if f, ok := number(v); ok && f > 0 && f <= 1 {
					c.Threshold = f
					im.rep.add(Approximated, "litellm_settings.cache_params.similarity_threshold", "cache.threshold", "the same cosine similarity bar, but over Cato's embedder (embeddings section) rather than LiteLLM's embedding model, and Cato checks a candidate's content agreement past it; tune it on your own traffic")
				} else {
					im.rep.add(NotMapped, "litellm_settings.cache_params.similarity_threshold", "", "not a similarity in (0, 1]")
				}
			}
		default:
			im.rep.add(Approximated, "litellm_settings.cache", "cache.enabled", "LiteLLM's "+typ+" cache answers only the same request again; Cato's cache is semantic and also answers close paraphrases (cache.threshold)")
		}
		if v, ok := params["ttl"]; ok {
			if d, ok := seconds(v); ok {
				c.TTL = duration(d)
				im.rep.add(Mapped, "litellm_settings.cache_params.ttl", "cache.ttl", "")
			} else {
				im.rep.add(NotMapped, "litellm_settings.cache_params.ttl", "", "not a number of seconds")
			}
		}
		for _, k := range sortedKeys(params) {
			switch k {
			case "type", "similarity_threshold", "ttl", "host", "port", "password", "redis_url":
			case "redis_semantic_cache_embedding_model", "qdrant_semantic_cache_embedding_model":
				im.rep.add(NotMapped, "litellm_settings.cache_params."+k, "", "Cato's cache embeds with the embedder of its embeddings section (an offline encoder by default)")
			default:
				im.rep.add(NotMapped, "litellm_settings.cache_params."+k, "", "no Cato equivalent")
			}
		}
		if typ == "redis" || typ == "redis-semantic" {
			im.redisStore("litellm_settings.cache_params.", map[string]any{"redis_host": params["host"], "redis_port": params["port"], "redis_password": params["password"], "redis_url": params["redis_url"]})
		}
	}
	handled := []string{"cache", "cache_params", "fallbacks", "context_window_fallbacks", "content_policy_fallbacks",
		"default_fallbacks", "num_retries", "request_timeout"}
	for _, k := range sortedKeys(ls) {
		if !slices.Contains(handled, k) {
			im.rep.add(NotMapped, "litellm_settings."+k, "", "no Cato equivalent")
		}
	}
	if rs["timeout"] != nil && ls["request_timeout"] != nil {
		im.rep.add(NotMapped, "litellm_settings.request_timeout", "", "router_settings.timeout is used instead")
	}
	if rs["num_retries"] != nil && ls["num_retries"] != nil {
		im.rep.add(NotMapped, "litellm_settings.num_retries", "", "router_settings.num_retries is used instead")
	}
}

// redisStore points Cato's store at the Redis LiteLLM shares between its
// instances, when its address is written in the file. The password is
// never written into the URL.
func (im *importer) redisStore(at string, m map[string]any) {
	if im.out.Store != "" {
		return
	}
	hostKey, passKey, urlKey := at+"redis_host", at+"redis_password", at+"redis_url"
	if at != "router_settings." {
		hostKey, passKey, urlKey = at+"host", at+"password", at+"redis_url"
	}
	host, _ := scalar(m["redis_host"])
	port, _ := scalar(m["redis_port"])
	pass, _ := scalar(m["redis_password"])
	rawURL, _ := scalar(m["redis_url"])
	if host == "" && rawURL == "" {
		return
	}
	if rawURL != "" {
		if _, isEnv := envName(rawURL); isEnv {
			im.rep.add(NotMapped, urlKey, "", "read from the environment in LiteLLM; set CATO_STORE to the same redis:// URL to share Cato's state in that Redis")
			return
		}
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			im.rep.add(NotMapped, urlKey, "", "not a redis:// URL")
			return
		}
		if _, has := u.User.Password(); has {
			im.secret(urlKey, "CATO_STORE", "a Redis URL with its password")
			return
		}
		host, port = u.Hostname(), u.Port()
	}
	if _, isEnv := envName(host); isEnv {
		im.rep.add(NotMapped, hostKey, "", "read from the environment in LiteLLM; set CATO_STORE=redis://HOST:PORT/0 to keep Cato's state in that Redis")
		return
	}
	if _, isEnv := envName(port); isEnv || port == "" {
		port = "6379"
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || strings.ContainsAny(host, "/@?# ") {
		im.rep.add(NotMapped, hostKey, "", "not a host and port")
		return
	}
	im.out.Store = "redis://" + net.JoinHostPort(host, port) + "/0"
	note := "Cato keeps its shared state (sessions, cache, rollout flag) in the same Redis"
	if name, isEnv := envName(pass); isEnv {
		note += "; its password is not written in the file: set CATO_STORE=redis://:$" + name + "@" + net.JoinHostPort(host, port) + "/0 in the environment"
	} else if pass != "" {
		im.secret(passKey, "CATO_STORE", "the Redis password")
	}
	im.rep.add(Approximated, hostKey, "store", note)
}

// general maps general_settings: the master key becomes Cato's admin key
// and one client key, both read from the same variable.
func (im *importer) general(gs map[string]any) {
	if raw, ok := scalar(gs["master_key"]); ok && raw != "" {
		name, isEnv := envName(raw)
		if !isEnv {
			name = "LITELLM_MASTER_KEY"
			im.secret("general_settings.master_key", name, "the master key")
		}
		im.out.Auth = &outAuth{AdminKeyEnv: name, Keys: []outKey{{KeyEnv: name, Tenant: "default"}}}
		if isEnv {
			im.rep.add(Mapped, "general_settings.master_key", "auth.admin_key_env", "the admin key stays in "+name)
		}
		im.rep.add(Approximated, "general_settings.master_key", "auth.keys", "LiteLLM's master key also serves clients: Cato accepts it as the client key of tenant default; give each team its own key under auth.keys (LiteLLM's virtual keys are not imported)")
	}
	if raw, ok := scalar(gs["database_url"]); ok && raw != "" {
		if name, isEnv := envName(raw); isEnv {
			im.rep.add(NotMapped, "general_settings.database_url", "", "LiteLLM keeps virtual keys and spend there; Cato can keep its own state in PostgreSQL: set CATO_STORE from "+name+" to use a postgres:// database")
		} else if u, err := url.Parse(raw); err == nil && u.User != nil {
			im.secret("general_settings.database_url", "DATABASE_URL", "a database URL with its password")
		} else {
			im.rep.add(NotMapped, "general_settings.database_url", "", "LiteLLM keeps virtual keys and spend there; Cato's own state goes in store (postgres:// is supported)")
		}
	}
	for _, k := range sortedKeys(gs) {
		if k != "master_key" && k != "database_url" {
			im.rep.add(NotMapped, "general_settings."+k, "", "no Cato equivalent")
		}
	}
}
