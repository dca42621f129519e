package router

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Case is one labelled query of a router evaluation set.
type Case struct {
	Query        string `json:"query"`
	History      int    `json:"history,omitempty"`
	Domain       string `json:"domain,omitempty"`
	Tenant       string `json:"tenant,omitempty"`
	HiddenStates bool   `json:"hidden_states,omitempty"`
	// Want is the model the query should go to.
	Want string `json:"want"`
	// Category groups cases in the report ("factual", "code", "edge"…).
	Category string `json:"category"`
}

// Input returns the router input the case describes.
func (c Case) Input() Input {
	return Input{Query: c.Query, History: c.History, Domain: c.Domain, Tenant: c.Tenant, HiddenStates: c.HiddenStates}
}

// LoadCases reads an evaluation set: one JSON Case per line; blank lines
// and lines starting with '#' are skipped. Unknown fields and a missing
// want are errors that name the line.
func LoadCases(r io.Reader) ([]Case, error) {
	var cases []Case
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		var c Case
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("line %d: more than one JSON value", line)
		}
		if c.Want == "" {
			return nil, fmt.Errorf("line %d: want is missing", line)
		}
		if c.History < 0 {
			return nil, fmt.Errorf("line %d: history %d is negative", line, c.History)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading cases: %w", err)
	}
	if len(cases) == 0 {
		return nil, errors.New("no cases")
	}
	return cases, nil
}

// Miss is a case the router got wrong.
type Miss struct {
	Case Case
	Got  Decision
}

// Report is the outcome of Evaluate.
type Report struct {
	Total, Correct int
	// Accuracy is Correct/Total.
	Accuracy float64
	// Labels are the models seen, wanted or chosen, sorted.
	Labels []string
	// Confusion counts cases by wanted model, then chosen model.
	Confusion map[string]map[string]int
	// ByCategory counts [correct, total] per category.
	ByCategory map[string][2]int
	Misses     []Miss
}

// Evaluate routes every case with r and compares the primary model with
// the case's Want.
func Evaluate(ctx context.Context, r *Router, cases []Case) (Report, error) {
	rep := Report{Confusion: map[string]map[string]int{}, ByCategory: map[string][2]int{}}
	for _, c := range cases {
		d, err := r.Decide(ctx, c.Input())
		if err != nil {
			return Report{}, fmt.Errorf("routing %q: %w", c.Query, err)
		}
		rep.Total++
		if rep.Confusion[c.Want] == nil {
			rep.Confusion[c.Want] = map[string]int{}
		}
		rep.Confusion[c.Want][d.Primary]++
		cat := rep.ByCategory[c.Category]
		cat[1]++
		if d.Primary == c.Want {
			rep.Correct++
			cat[0]++
		} else {
			rep.Misses = append(rep.Misses, Miss{Case: c, Got: d})
		}
		rep.ByCategory[c.Category] = cat
		for _, m := range []string{c.Want, d.Primary} {
			if !slices.Contains(rep.Labels, m) {
				rep.Labels = append(rep.Labels, m)
			}
		}
	}
	slices.Sort(rep.Labels)
	if rep.Total > 0 {
		rep.Accuracy = float64(rep.Correct) / float64(rep.Total)
	}
	return rep, nil
}

// String renders the accuracy, the confusion matrix (rows: wanted, columns:
// chosen), accuracy per category and the misses.
func (rep Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "accuracy: %d/%d = %.1f%%\n\nconfusion matrix (rows: want, columns: got)\n", rep.Correct, rep.Total, 100*rep.Accuracy)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "want \\ got\t")
	for _, l := range rep.Labels {
		fmt.Fprintf(tw, "%s\t", l)
	}
	fmt.Fprintln(tw)
	for _, want := range rep.Labels {
		fmt.Fprintf(tw, "%s\t", want)
		for _, got := range rep.Labels {
			fmt.Fprintf(tw, "%d\t", rep.Confusion[want][got])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()

	b.WriteString("\nby category\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	cats := make([]string, 0, len(rep.ByCategory))
	for c := range rep.ByCategory {
		cats = append(cats, c)
	}
	slices.Sort(cats)
	for _, c := range cats {
		n := rep.ByCategory[c]
		fmt.Fprintf(tw, "%s\t%d/%d\n", c, n[0], n[1])
	}
	tw.Flush()

	if len(rep.Misses) > 0 {
		b.WriteString("\nmisses\n")
		for _, m := range rep.Misses {
			fmt.Fprintf(&b, "- [%s] %q: want %s, got %s (%.2f, %s)\n", m.Case.Category, truncate(m.Case.Query, 90), m.Case.Want, m.Got.Primary, m.Got.Complexity, m.Got.Reason)
		}
	}
	return b.String()
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
