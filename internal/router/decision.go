package router

// Decision is the answer to "which model, and why".
type Decision struct {
	Primary    string   `json:"primary_model"`
	Fallbacks  []string `json:"fallback_chain"`
	Complexity float64  `json:"complexity"`
	Domain     string   `json:"domain"`
	Reason     string   `json:"reason"`
}

// Input is what the router looks at.
type Input struct {
	Query        string
	History      int
	Domain       string
	Tenant       string
	HiddenStates bool
}
