package litellm

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Kind says how one piece of the LiteLLM configuration was carried over.
type Kind string

// Kinds of Finding.
const (
	// Mapped: Cato does the same thing under the key named in To.
	Mapped Kind = "mapped"
	// Approximated: Cato does something close under To; Note says how it
	// differs.
	Approximated Kind = "approximated"
	// NotMapped: Cato has no equivalent, or the value could not be used;
	// Note says why and what to do.
	NotMapped Kind = "not_mapped"
)

// Finding is one line of the report.
type Finding struct {
	Kind Kind `json:"kind"`
	// From is the LiteLLM key path (model_list[0].litellm_params.api_key).
	From string `json:"from"`
	// To is the Cato key path it went to, empty when none.
	To string `json:"to,omitempty"`
	// Note explains an approximation or a gap; empty for a plain mapping.
	Note string `json:"note,omitempty"`
	// Env is the environment variable an operator should move a literal
	// secret into; set only for secrets written in the file.
	Env string `json:"env,omitempty"`
}

// Report lists every finding of one import, in the order of the LiteLLM
// file's sections.
type Report struct {
	// Source names the file that was read.
	Source   string    `json:"source"`
	Findings []Finding `json:"findings"`
}

// Count returns how many findings are of kind k.
func (r *Report) Count(k Kind) int {
	n := 0
	for _, f := range r.Findings {
		if f.Kind == k {
			n++
		}
	}
	return n
}

// Secrets returns the findings that name a literal secret to move into
// the environment.
func (r *Report) Secrets() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Env != "" {
			out = append(out, f)
		}
	}
	return out
}

func (r *Report) add(k Kind, from, to, note string) {
	r.Findings = append(r.Findings, Finding{Kind: k, From: from, To: to, Note: note})
}

// WriteText writes the report for a terminal: a summary line, then the
// findings grouped by kind.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "import of %s: %d mapped, %d approximated, %d not mapped\n",
		r.Source, r.Count(Mapped), r.Count(Approximated), r.Count(NotMapped))
	if s := r.Secrets(); len(s) > 0 {
		fmt.Fprintf(&b, "\n%d secret(s) written in the file were NOT copied; move each into the environment:\n", len(s))
		for _, f := range s {
			fmt.Fprintf(&b, "  %s -> export %s=...\n", f.From, f.Env)
		}
	}
	for _, k := range []Kind{Mapped, Approximated, NotMapped} {
		if r.Count(k) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", strings.ReplaceAll(string(k), "_", " "))
		for _, f := range r.Findings {
			if f.Kind != k {
				continue
			}
			b.WriteString("  " + f.From)
			if f.To != "" {
				b.WriteString(" -> " + f.To)
			}
			if f.Note != "" {
				b.WriteString(": " + f.Note)
			}
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	doc := struct {
		Source       string    `json:"source"`
		Mapped       int       `json:"mapped"`
		Approximated int       `json:"approximated"`
		NotMapped    int       `json:"not_mapped"`
		Findings     []Finding `json:"findings"`
	}{r.Source, r.Count(Mapped), r.Count(Approximated), r.Count(NotMapped), r.Findings}
	if doc.Findings == nil {
		doc.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
