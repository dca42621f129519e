package router

// Decision is the answer to "which model, and why".
type Decision struct {
	Primary    string   `json:"primary_model"`
	Fallbacks  []string `json:"fallback_chain"`
	Complexity float64  `json:"complexity"`
	Domain     string   `json:"domain"`
	Reason     string   `json:"reason"`
	// Rule names the kind of rule that chose Primary, for metrics and logs:
	// hidden_states, tenant, domain, exemplar, simple or complex. It is not
	// part of the API's routing object.
	Rule string `json:"-"`
}

// Input is what the router looks at.
type Input struct {
	// Query is the text to route: the last user message.
	Query string
	// History is how many turns of the conversation came before Query.
	History int
	// Domain is the client's domain hint; empty means "general".
	Domain string
	// Tenant is the caller's tenant, from its key.
	Tenant string
	// HiddenStates reports whether the client asked for hidden states.
	HiddenStates bool
}

// Rules, as Decision.Rule names them.
const (
	RuleHiddenStates = "hidden_states"
	RuleTenant       = "tenant"
	RuleDomain       = "domain"
	RuleExemplar     = "exemplar"
	RuleSimple       = "simple"
	RuleComplex      = "complex"
)
