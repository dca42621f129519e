package deploy_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// promqlKeywords are PromQL's words that are not metric names: binary
// operators and modifiers, aggregation operators (which may come before
// their by or without clause, not before a parenthesis) and the literals.
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true, "inf": true, "nan": true,
}

// promqlGrouping are the keywords followed by a parenthesised label list.
var promqlGrouping = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// promqlMetrics returns the metric names a PromQL expression selects, in
// order of first appearance. It reads the expression's tokens: string
// literals, label matchers ({…}), ranges and subqueries ([…]), Grafana
// variables ($x, ${x}), numbers and durations are skipped; an identifier
// followed by "(" is a function, one of promqlKeywords is not a metric,
// and a grouping keyword's label list is skipped. It fails on unbalanced
// brackets and unterminated strings, so a malformed query does not pass
// unread. It is not a full parser (Prometheus's would add its module and
// its dependencies to the build), but it is all the checks need: every
// name it returns is checked against what Cato exports.
func promqlMetrics(expr string) ([]string, error) {
	var names []string
	depth := 0
	i := 0
	for i < len(expr) {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(expr, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '{' || c == '[':
			end, err := skipBracket(expr, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '}' || c == ']':
			return nil, fmt.Errorf("unbalanced %q at %d", c, i)
		case c == '(':
			depth++
			i++
		case c == ')':
			if depth--; depth < 0 {
				return nil, fmt.Errorf("unbalanced ')' at %d", i)
			}
			i++
		case c == '$':
			i++
			if i < len(expr) && expr[i] == '{' {
				end := strings.IndexByte(expr[i:], '}')
				if end < 0 {
					return nil, errors.New("unterminated ${")
				}
				i += end + 1
				continue
			}
			for i < len(expr) && isIdent(expr[i], true) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i], true) || expr[i] == '.') {
				i++
			}
		case isIdent(c, false):
			start := i
			for i < len(expr) && isIdent(expr[i], true) {
				i++
			}
			word := expr[start:i]
			next := i
			for next < len(expr) && (expr[next] == ' ' || expr[next] == '\t' || expr[next] == '\n') {
				next++
			}
			switch {
			case promqlGrouping[word] && next < len(expr) && expr[next] == '(':
				end := strings.IndexByte(expr[next:], ')')
				if end < 0 {
					return nil, fmt.Errorf("unterminated %s (", word)
				}
				i = next + end + 1
			case promqlKeywords[strings.ToLower(word)]:
			case next < len(expr) && expr[next] == '(':
				// a function
			default:
				if !slices.Contains(names, word) {
					names = append(names, word)
				}
			}
		default:
			i++
		}
	}
	if depth != 0 {
		return nil, errors.New("unbalanced '('")
	}
	return names, nil
}

func isIdent(c byte, inside bool) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || inside && c >= '0' && c <= '9'
}

// skipString returns the index after the string literal at i.
func skipString(expr string, i int) (int, error) {
	q := expr[i]
	for j := i + 1; j < len(expr); j++ {
		switch {
		case expr[j] == '\\' && q != '`':
			j++
		case expr[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at %d", i)
}

// skipBracket returns the index after the {…} or […] opening at i,
// skipping the strings inside.
func skipBracket(expr string, i int) (int, error) {
	closing := byte('}')
	if expr[i] == '[' {
		closing = ']'
	}
	for j := i + 1; j < len(expr); j++ {
		switch c := expr[j]; {
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(expr, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case c == closing:
			return j + 1, nil
		case c == '{' || c == '[' || c == '}' || c == ']':
			return 0, fmt.Errorf("unexpected %q inside a bracket at %d", c, j)
		}
	}
	return 0, fmt.Errorf("unterminated %q at %d", expr[i], i)
}
