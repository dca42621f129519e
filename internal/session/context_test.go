package session

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/llm"
)

func msg(role, content string) llm.Message { return llm.Message{Role: role, Content: content} }

func user(c string) llm.Message      { return msg(llm.RoleUser, c) }
func assistant(c string) llm.Message { return msg(llm.RoleAssistant, c) }
func system(c string) llm.Message    { return msg(llm.RoleSystem, c) }

func stored(msgs ...llm.Message) []Turn {
	turns := make([]Turn, len(msgs))
	for i, m := range msgs {
		turns[i] = Turn{Seq: int64(i + 1), Role: m.Role, Content: m.Content}
	}
	return turns
}

func TestWithContext(t *testing.T) {
	history := stored(user("My name is Alice."), assistant("Hello Alice!"), user("I live in Lyon."), assistant("Nice city."))
	note := func(s string) llm.Message { return system(summaryPrefix + s) }
	tests := []struct {
		name    string
		session *Session
		req     []llm.Message
		budget  int
		want    []llm.Message
		added   Added
	}{
		{
			name:    "stateless client gets the stored turns",
			session: &Session{Turns: history},
			req:     []llm.Message{system("Be brief."), user("What is my name?")},
			budget:  2000,
			want: []llm.Message{system("Be brief."), user("My name is Alice."), assistant("Hello Alice!"),
				user("I live in Lyon."), assistant("Nice city."), user("What is my name?")},
			added: Added{Turns: 4},
		},
		{
			name:    "summary goes in a system note after the client's instructions",
			session: &Session{Summary: "The user is Alice.", SummaryThrough: 4, Turns: stored(user("Hi"), assistant("Hello"))},
			req:     []llm.Message{system("Be brief."), msg(llm.RoleDeveloper, "Dev."), user("What is my name?")},
			budget:  2000,
			want: []llm.Message{system("Be brief."), msg(llm.RoleDeveloper, "Dev."), note("The user is Alice."),
				user("Hi"), assistant("Hello"), user("What is my name?")},
			added: Added{Summary: true, Turns: 2},
		},
		{
			name:    "client sending the full history gets nothing twice",
			session: &Session{Turns: history},
			req: []llm.Message{system("Be brief."), user("My name is Alice."), assistant("Hello Alice!"),
				user("I live in Lyon."), assistant("Nice city."), user("What is my name?")},
			budget: 2000,
			want: []llm.Message{system("Be brief."), user("My name is Alice."), assistant("Hello Alice!"),
				user("I live in Lyon."), assistant("Nice city."), user("What is my name?")},
			added: Added{Overlap: 4},
		},
		{
			name:    "client that trimmed its history gets the older turns only",
			session: &Session{Summary: "Earlier.", Turns: history},
			req:     []llm.Message{user("I live in Lyon."), assistant(" Nice city.\n"), user("What is my name?")},
			budget:  2000,
			want: []llm.Message{note("Earlier."), user("My name is Alice."), assistant("Hello Alice!"),
				user("I live in Lyon."), assistant(" Nice city.\n"), user("What is my name?")},
			added: Added{Summary: true, Turns: 2, Overlap: 2},
		},
		{
			name:    "client with a history Cato does not know keeps its own",
			session: &Session{Summary: "Earlier.", Turns: history},
			req:     []llm.Message{user("I am Bob."), assistant("Hi Bob."), user("What is my name?")},
			budget:  2000,
			want:    []llm.Message{user("I am Bob."), assistant("Hi Bob."), user("What is my name?")},
		},
		{
			name:    "client history reaching back before the stored turns",
			session: &Session{Summary: "Alice, Lyon.", SummaryThrough: 2, Turns: stored(user("I live in Lyon."), assistant("Nice city."))},
			req: []llm.Message{user("My name is Alice."), assistant("Hello Alice!"),
				user("I live in Lyon."), assistant("Nice city."), user("Where do I live?")},
			budget: 2000,
			want: []llm.Message{user("My name is Alice."), assistant("Hello Alice!"),
				user("I live in Lyon."), assistant("Nice city."), user("Where do I live?")},
		},
		{
			name:    "repeated question after an unrecorded answer",
			session: &Session{Turns: stored(user("Hi"), assistant("Hello"), user("What is my name?"))},
			req:     []llm.Message{user("What is my name?")},
			budget:  2000,
			want:    []llm.Message{user("Hi"), assistant("Hello"), user("What is my name?")},
			added:   Added{Turns: 2, Overlap: 1},
		},
		{
			name:    "budget keeps the newest turns and starts with a user turn",
			session: &Session{Turns: stored(user("one two three"), assistant("four five six"), user("seven"), assistant("eight"))},
			req:     []llm.Message{user("nine")},
			// "eight" and "seven" cost 1+4 each; "four five six" 3+4 does not fit.
			budget: 12,
			want:   []llm.Message{user("seven"), assistant("eight"), user("nine")},
			added:  Added{Turns: 2},
		},
		{
			name:    "budget cut dropping a leading assistant turn",
			session: &Session{Turns: stored(user("one two three four"), assistant("five"), user("six"), assistant("seven"))},
			req:     []llm.Message{user("eight")},
			// Fits assistant "five" too (3×5 = 15), but it cannot come first.
			budget: 16,
			want:   []llm.Message{user("six"), assistant("seven"), user("eight")},
			added:  Added{Turns: 2},
		},
		{
			name:    "nothing stored",
			session: &Session{},
			req:     []llm.Message{user("hi")},
			budget:  2000,
			want:    []llm.Message{user("hi")},
		},
		{
			name:    "zero budget",
			session: &Session{Summary: "S", Turns: history},
			req:     []llm.Message{user("hi")},
			budget:  0,
			want:    []llm.Message{user("hi")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, added := withContext(tt.session, tt.req, tt.budget, tokenizer())
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if added != tt.added {
				t.Errorf("added = %+v; want %+v", added, tt.added)
			}
		})
	}
}

func TestWithContextTruncatesSummary(t *testing.T) {
	tok := tokenizer()
	s := &Session{Summary: strings.Repeat("alpha beta ", 500), Turns: stored(user("x"), assistant("y"))}
	const budget = 100
	got, added := withContext(s, []llm.Message{user("q")}, budget, tok)
	if !added.Summary {
		t.Fatalf("summary not added")
	}
	used := 0
	for _, m := range got[:len(got)-1] {
		used += tok.Count(m.Content) + messageOverhead
	}
	if used > budget {
		t.Errorf("added %d tokens; budget %d", used, budget)
	}
	if !strings.HasPrefix(got[0].Content, summaryPrefix+"alpha beta") {
		t.Errorf("first message = %q; want the summary note", got[0].Content)
	}
}

func TestWithContextDoesNotModifyRequest(t *testing.T) {
	req := make([]llm.Message, 2, 10) // room to append in place
	req[0], req[1] = system("S"), user("q")
	before := append([]llm.Message(nil), req...)
	withContext(&Session{Turns: stored(user("a"), assistant("b"))}, req, 2000, tokenizer())
	if diff := cmp.Diff(before, req[:cap(req)][:2]); diff != "" {
		t.Errorf("request changed (-before +after):\n%s", diff)
	}
}

func TestFoldCount(t *testing.T) {
	tok := tokenizer()
	pairs := func(n int) []Turn {
		var msgs []llm.Message
		for range n {
			// 10 tokens + 4 overhead = 14 each.
			msgs = append(msgs, user("one two three four five six seven eight nine ten"), assistant("one two three four five six seven eight nine ten"))
		}
		return stored(msgs...)
	}
	tests := []struct {
		name   string
		s      *Session
		budget int
		want   int
	}{
		{"fits", &Session{Turns: pairs(2)}, 56, 0},
		{"over: keep the newest in half the budget", &Session{Turns: pairs(3)}, 70, 4},
		{"kept part starts with a user turn", &Session{Turns: pairs(3)}, 45, 4},
		{"summary counts", &Session{Summary: strings.Repeat("word ", 20), Turns: pairs(2)}, 60, 2},
		{"one huge turn folds everything", &Session{Turns: stored(user(strings.Repeat("word ", 100)))}, 50, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := foldCount(tt.s, tt.budget, tok); got != tt.want {
				t.Errorf("foldCount = %d; want %d", got, tt.want)
			}
		})
	}
}
