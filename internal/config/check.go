package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// problem is one key or value that does not fit the Config type, named by
// its YAML path (models.fast.provider). Line is its line in the text the
// problem was found in; zero when that text is not the user's (an
// environment variable's value).
type problem struct {
	line int
	path string
	msg  string
}

func (p problem) String() string {
	if p.path == "" {
		return p.msg
	}
	return p.path + ": " + p.msg
}

var durationType = reflect.TypeFor[time.Duration]()

// checkNode reports the keys under n that t does not have and the values
// that do not decode into their field's type, each with its path. n is a
// decoded YAML node at path; t is the Go type it will be decoded into.
func checkNode(path string, n *yaml.Node, t reflect.Type, report func(problem)) {
	if n == nil || n.Kind == 0 {
		return // an empty document
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			checkNode(path, c, t, report)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // null leaves the zero value
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t != durationType && t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			report(problem{n.Line, path, fmt.Sprintf("is %s; want a section of keys (%s)", describeNode(n), strings.Join(yamlKeys(t), ", "))})
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" { // a YAML merge key: its sections merge into this one
				merged := []*yaml.Node{v}
				if v.Kind == yaml.SequenceNode {
					merged = v.Content
				}
				for _, m := range merged {
					checkNode(path, m, t, report)
				}
				continue
			}
			f, ok := yamlField(t, k.Value)
			if !ok {
				report(problem{k.Line, path, unknownKey(k.Value, yamlKeys(t))})
				continue
			}
			checkNode(joinPath(path, k.Value), v, f.Type, report)
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			report(problem{n.Line, path, fmt.Sprintf("is %s; want a section of name: value pairs", describeNode(n))})
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkNode(joinPath(path, n.Content[i].Value), n.Content[i+1], t.Elem(), report)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			report(problem{n.Line, path, fmt.Sprintf("is %s; want a list such as [a, b]", describeNode(n))})
			return
		}
		for i, e := range n.Content {
			checkNode(fmt.Sprintf("%s[%d]", path, i), e, t.Elem(), report)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			report(problem{n.Line, path, fmt.Sprintf("is %s; want %s", describeNode(n), describeType(t))})
			return
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			report(problem{n.Line, path, fmt.Sprintf("%q is not %s", n.Value, describeType(t))})
		}
	}
}

// checkEnvPath returns the type a key path names within t, or the problem
// with the path: a key that does not exist, or a value addressed as if it
// were a section.
func checkEnvPath(keys []string, t reflect.Type) (reflect.Type, error) {
	for i, k := range keys {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		parent := strings.Join(keys[:i], ".")
		switch {
		case t != durationType && t.Kind() == reflect.Struct:
			f, ok := yamlField(t, k)
			if !ok {
				return nil, fmt.Errorf("%s", problem{path: parent, msg: unknownKey(k, yamlKeys(t))})
			}
			t = f.Type
		case t.Kind() == reflect.Map:
			t = t.Elem()
		default:
			return nil, fmt.Errorf("%s holds a value, not a section: it has no key %s", parent, k)
		}
	}
	return t, nil
}

// unknownKey says that key is not among known, and suggests the closest
// known key when one is near enough to be a typo.
func unknownKey(key string, known []string) string {
	best, bestDist := "", len(key)/3+1 // a typo changes about one letter in three at most
	for _, k := range known {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key %s (did you mean %s?)", key, best)
	}
	return fmt.Sprintf("unknown key %s (the keys here are %s)", key, strings.Join(known, ", "))
}

// editDistance is the optimal string alignment distance of a and b:
// insertions, deletions, substitutions and swaps of neighbours each count 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// yamlField returns the field of struct t whose yaml tag is key.
func yamlField(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); yamlName(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// yamlKeys lists the keys of struct t in declaration order.
func yamlKeys(t reflect.Type) []string {
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a section"
	case yaml.SequenceNode:
		return "a list"
	}
	return "the value " + strconv.Quote(n.Value)
}

func describeType(t reflect.Type) string {
	if t == durationType {
		return "a duration such as 500ms, 30s or 1m30s (time.Duration)"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a single value"
	}
	return "a " + t.String()
}

// sortedProblems orders problems by line, then path, so that messages
// read in the order of the file.
func sortedProblems(ps []problem) []problem {
	slices.SortStableFunc(ps, func(a, b problem) int {
		if a.line != b.line {
			return a.line - b.line
		}
		return strings.Compare(a.path, b.path)
	})
	return ps
}
