package session

import (
	"strings"

	"github.com/cato-gateway/cato/internal/llm"
)

// summaryPrefix introduces the running summary in the system note added to
// a prompt.
const summaryPrefix = "Summary of the earlier conversation in this session:\n"

// Added says what Context added to a request.
type Added struct {
	// Summary is true when the running summary was added.
	Summary bool
	// Turns is how many stored turns were added.
	Turns int
	// Overlap is how many stored turns the client sent itself.
	Overlap int
}

// withContext returns req's messages with the session's context added, and
// what was added. It follows the rule written down in docs/sessions.md:
//
//  1. The conversation C is req's messages other than system and developer
//     ones. Stored turns T are compared with C by role and trimmed content.
//  2. If some non-empty tail T[j:] of the stored turns equals the start of
//     C, the client sent those turns itself: only the older turns T[:j]
//     (and the summary) can be added. The smallest such j is used.
//  3. Otherwise, if C holds an assistant message, the client keeps its own
//     history, which Cato does not know: nothing is added.
//  4. Otherwise (a client that sends only the new message) the summary and
//     all of T can be added.
//
// What can be added is cut to budget tokens: the summary first (truncated
// if it alone is over), then the newest turns that fit, in order; a cut
// never leaves an assistant turn first. The summary goes in one system
// message, and the turns, after req's leading system and developer messages.
func withContext(s *Session, req []llm.Message, budget int, tok *Tokenizer) ([]llm.Message, Added) {
	var added Added
	if s == nil || budget <= 0 || (s.Summary == "" && len(s.Turns) == 0) {
		return req, added
	}
	head := 0 // req[:head] are the leading system and developer messages
	for head < len(req) && isInstruction(req[head].Role) {
		head++
	}
	var conv []llm.Message
	hasAssistant := false
	for _, m := range req {
		if isInstruction(m.Role) {
			continue
		}
		conv = append(conv, m)
		hasAssistant = hasAssistant || m.Role == llm.RoleAssistant
	}
	candidates := s.Turns
	if j, ok := overlap(s.Turns, conv); ok {
		candidates = s.Turns[:j]
		added.Overlap = len(s.Turns) - j
	} else if hasAssistant {
		return req, added
	}

	var note string
	left := budget
	if s.Summary != "" {
		room := left - messageOverhead - tok.Count(summaryPrefix)
		note = summaryPrefix + tok.Truncate(s.Summary, room)
		if room > 0 {
			left -= messageOverhead + tok.Count(note)
			added.Summary = true
		}
	}
	first := len(candidates)
	for first > 0 {
		t := candidates[first-1]
		n := t.Tokens
		if n == 0 {
			n = tok.Count(t.Content)
		}
		if n+messageOverhead > left {
			break
		}
		left -= n + messageOverhead
		first--
	}
	for first < len(candidates) && candidates[first].Role != llm.RoleUser {
		first++
	}
	turns := candidates[first:]
	added.Turns = len(turns)
	if !added.Summary && added.Turns == 0 {
		return req, added
	}

	out := make([]llm.Message, 0, len(req)+len(turns)+1)
	out = append(out, req[:head]...)
	if added.Summary {
		out = append(out, llm.Message{Role: llm.RoleSystem, Content: note})
	}
	for _, t := range turns {
		out = append(out, llm.Message{Role: t.Role, Content: t.Content})
	}
	return append(out, req[head:]...), added
}

// overlap returns the smallest j such that turns[j:] is non-empty and equals
// the first len(turns)-j messages of conv.
func overlap(turns []Turn, conv []llm.Message) (int, bool) {
	for j := max(0, len(turns)-len(conv)); j < len(turns); j++ {
		if prefixOf(turns[j:], conv) {
			return j, true
		}
	}
	return 0, false
}

func prefixOf(turns []Turn, conv []llm.Message) bool {
	for i, t := range turns {
		if t.Role != conv[i].Role || strings.TrimSpace(t.Content) != strings.TrimSpace(conv[i].Content) {
			return false
		}
	}
	return true
}

func isInstruction(role string) bool {
	return role == llm.RoleSystem || role == llm.RoleDeveloper
}
