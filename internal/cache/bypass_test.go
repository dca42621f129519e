package cache

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/embed"
	"github.com/cato-gateway/cato/internal/llm"
)

// TestBypassRule is the rule of docs/cache.md, case by case.
func TestBypassRule(t *testing.T) {
	hot, cool := 1.0, 0.2
	tests := []struct {
		name string
		q    Query
		off  bool
		want Reason
	}{
		{"plain question", Query{Text: "What is Python?"}, false, ReasonNone},
		{"generic I", Query{Text: "How do I reverse a list in Python?"}, false, ReasonNone},
		{"generic can I", Query{Text: "Can I eat raw eggs?"}, false, ReasonNone},
		{"explain to me", Query{Text: "Can you explain to me what DNS is?"}, false, ReasonNone},
		{"can you tell me", Query{Text: "Can you tell me what Kafka is?"}, false, ReasonNone},
		{"what did you tell me", Query{Text: "What did you tell me about Kafka?"}, false, ReasonContext},
		{"I'm curious", Query{Text: "I'm curious, what is the Pareto principle?"}, false, ReasonNone},
		{"I've always wondered", Query{Text: "I've always wondered, why is the ocean blue?"}, false, ReasonNone},
		{"I've been told", Query{Text: "I've been told to rest. Why?"}, false, ReasonPersonal},
		{"how do you say", Query{Text: "How do you say thank you in Japanese?"}, false, ReasonNone},
		{"what do you say", Query{Text: "What do you say about Kafka?"}, false, ReasonContext},
		{"I'd like to know", Query{Text: "I'd like to know what a tax deduction is."}, false, ReasonNone},
		{"how-to with my", Query{Text: "How do I undo my last commit?"}, false, ReasonNone},
		{"what is my", Query{Text: "What is my IP address?"}, false, ReasonPersonal},
		{"pronoun with antecedent", Query{Text: "Why do cats purr when they are happy?"}, false, ReasonNone},
		{"cache off", Query{Text: "What is Python?"}, true, ReasonDisabled},
		{"cato.cache false", Query{Text: "What is Python?", Disabled: true}, false, ReasonDisabled},
		{"hot", Query{Text: "What is Python?", Temperature: &hot}, false, ReasonTemperature},
		{"cool", Query{Text: "What is Python?", Temperature: &cool}, false, ReasonNone},
		{"tools", Query{Text: "What is Python?", Tools: true}, false, ReasonTools},
		{"n > 1, logprobs or audio", Query{Text: "What is Python?", AnswerShape: true}, false, ReasonAnswerShape},
		{"an image", Query{Text: "What is Python?", NonText: true}, false, ReasonNonText},
		{"an image with tools", Query{Text: "What is Python?", NonText: true, Tools: true}, false, ReasonTools},
		{"an image in a conversation", Query{Text: "What is Python?", NonText: true, History: true}, false, ReasonNonText},
		{"session memory", Query{Text: "What is Python?", SessionMemory: true}, false, ReasonSessionMemory},
		{"history", Query{Text: "What is Python?", History: true}, false, ReasonHistory},
		{"at the size limit", Query{Text: strings.Repeat("x", 64)}, false, ReasonNone},
		{"over the size limit", Query{Text: strings.Repeat("What is Python? ", 5)}, false, ReasonTooLarge},
		{"too large before personal", Query{Text: strings.Repeat("What is my name? ", 5)}, false, ReasonTooLarge},
		{"history before too large", Query{Text: strings.Repeat("x", 65), History: true}, false, ReasonHistory},
		{"my name", Query{Text: "What is my name?"}, false, ReasonPersonal},
		{"our", Query{Text: "When is our next meeting?"}, false, ReasonPersonal},
		{"who am I", Query{Text: "Who am I?"}, false, ReasonPersonal},
		{"what did I say", Query{Text: "what did I say above?"}, false, ReasonPersonal},
		{"I am", Query{Text: "I'm 40, how much should I save?"}, false, ReasonPersonal},
		{"I live", Query{Text: "I live in Oslo. Is it cold?"}, false, ReasonPersonal},
		{"do I have", Query{Text: "Do I have the flu?"}, false, ReasonPersonal},
		{"about me", Query{Text: "What do you know about me?"}, false, ReasonPersonal},
		{"for me", Query{Text: "Which diet is best for me?"}, false, ReasonPersonal},
		{"above", Query{Text: "Summarize the text above"}, false, ReasonContext},
		{"you said", Query{Text: "Why did you say that?"}, false, ReasonContext},
		{"your answer", Query{Text: "Can you shorten your answer?"}, false, ReasonContext},
		{"tell me more", Query{Text: "Tell me more"}, false, ReasonContext},
		{"this code", Query{Text: "Why does this code fail?"}, false, ReasonContext},
		{"bare it", Query{Text: "What does it mean?"}, false, ReasonContext},
		{"is that true", Query{Text: "Is that true?"}, false, ReasonContext},
		{"again", Query{Text: "Explain again, slower"}, false, ReasonContext},
		// Wrappers are read off before the rule: they say nothing of the
		// asker or the conversation.
		{"wrapper with this", Query{Text: "Sorry if this is a dumb question, but what is Rust?"}, false, ReasonNone},
		{"wrapper with I", Query{Text: "Hey, I was hoping you could tell me what a VPN does."}, false, ReasonNone},
		{"I'm trying to understand", Query{Text: "I'm trying to understand how DNS works"}, false, ReasonNone},
		{"I'm trying to fix my", Query{Text: "I'm trying to fix my code"}, false, ReasonPersonal},
		{"wrapper, then this", Query{Text: "Can you help me with this?"}, false, ReasonContext},
		{"final it, nothing it names", Query{Text: "Can you help me fix it?"}, false, ReasonContext},
		{"final that", Query{Text: "How to undo that"}, false, ReasonContext},
		{"final it with its noun", Query{Text: "How do I install Python and configure it?"}, false, ReasonNone},
		{"the word their", Query{Text: "What is the difference between there and their?"}, false, ReasonNone},
		{"whether it's safe to", Query{Text: "Tell me whether it's safe to give dogs grapes"}, false, ReasonNone},
		{"do I shed", Query{Text: "How do I shed pounds?"}, false, ReasonNone},
		{"should I feed", Query{Text: "What should I feed a rabbit?"}, false, ReasonNone},
		{"how long I should", Query{Text: "Tell me how long I should boil an egg"}, false, ReasonNone},
		{"if I passed", Query{Text: "Could you let me know if I passed?"}, false, ReasonPersonal},
		{"not sure if this is", Query{Text: "Not sure if this is a silly question but what is DNS?"}, false, ReasonNone},
		{"how-opener with I", Query{Text: "What do I need to do to get a driver's license?"}, false, ReasonNone},
		{"show me how to with my", Query{Text: "Show me how to add an SSH key to my GitHub account."}, false, ReasonNone},
		// An expletive "it" stands for what follows.
		{"is it safe to", Query{Text: "Is it safe to eat raw cookie dough?"}, false, ReasonNone},
		{"is it true that", Query{Text: "Is it true that goldfish forget in 3 seconds?"}, false, ReasonNone},
		{"is it normal for X to", Query{Text: "Is it normal for dogs to eat grass?"}, false, ReasonNone},
		{"is it worth -ing", Query{Text: "Is it worth learning Rust?"}, false, ReasonNone},
		{"does it take long to", Query{Text: "Does it take long to boil an egg?"}, false, ReasonNone},
		{"what is it like to", Query{Text: "What is it like to live in Oslo?"}, false, ReasonNone},
		{"is it used to", Query{Text: "Is it used to treat acne?"}, false, ReasonContext},
		{"is it worth it", Query{Text: "Is it worth it?"}, false, ReasonContext},
		{"is it good for your", Query{Text: "Is it good for your skin?"}, false, ReasonContext},
		{"how much does it cost", Query{Text: "How much does it cost?"}, false, ReasonContext},
		{"does it need to", Query{Text: "Does it need to be refrigerated?"}, false, ReasonContext},
		// "for me" after a request for an explanation; "our" and "we" of
		// everyone.
		{"explain for me", Query{Text: "Explain recursion for me."}, false, ReasonNone},
		{"recommend for me", Query{Text: "Recommend a laptop for me."}, false, ReasonPersonal},
		{"our solar system", Query{Text: "Name the planets in our solar system."}, false, ReasonNone},
		{"our server", Query{Text: "Is our server down?"}, false, ReasonPersonal},
		{"why do we", Query{Text: "Why do we have leap years?"}, false, ReasonNone},
		{"why can't we", Query{Text: "Why can't we see air?"}, false, ReasonNone},
		{"do we have", Query{Text: "Do we have a meeting?"}, false, ReasonPersonal},
		{"why did we", Query{Text: "Why did we break up?"}, false, ReasonPersonal},
		{"expletive it, then a pronoun", Query{Text: "Is it safe to take it with food?"}, false, ReasonContext},
		{"expletive it, then him", Query{Text: "Is it OK to tell him?"}, false, ReasonContext},
		{"is it safe to eat", Query{Text: "Is it safe to eat?"}, false, ReasonContext},
		{"how much does it cost to fix", Query{Text: "How much does it cost to fix?"}, false, ReasonContext},
		{"wrapper, then what I did", Query{Text: "I'm trying to figure out what I did wrong"}, false, ReasonPersonal},
		{"wrapper, then if I passed", Query{Text: "Could you let me know if I passed?"}, false, ReasonPersonal},
		{"our heart rate", Query{Text: "Our heart rate was 180, is that normal?"}, false, ReasonPersonal},
		{"our blood test", Query{Text: "What does our blood test show?"}, false, ReasonPersonal},
		{"why do we need to", Query{Text: "Why do we need to meet?"}, false, ReasonPersonal},
		{"why are we still", Query{Text: "Why are we still waiting for the refund?"}, false, ReasonPersonal},
		{"is it possible to be X to Y", Query{Text: "Is it possible to be allergic to water?"}, false, ReasonNone},
		{"is it worth -ing, nothing after", Query{Text: "Is it worth fixing?"}, false, ReasonContext},
		{"explain what is best for me", Query{Text: "Explain which plan is best for me"}, false, ReasonPersonal},
		{"today", Query{Text: "What is the weather today?"}, false, ReasonTimeSensitive},
		{"latest", Query{Text: "What is the latest version of Go?"}, false, ReasonTimeSensitive},
		{"right now", Query{Text: "Who is winning right now?"}, false, ReasonTimeSensitive},
		{"this year", Query{Text: "Who won the election this year?"}, false, ReasonContext}, // "this" is deictic first
		{"next week", Query{Text: "What holidays are next week?"}, false, ReasonTimeSensitive},
		{"disabled wins over personal", Query{Text: "What is my name?", Disabled: true}, false, ReasonDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			if got := bypassReason(&q, &Options{Disabled: tt.off, MaxTemperature: 0.7, MaxEntryBytes: 64}); got != tt.want {
				t.Errorf("bypassReason(%+v) = %q; want %q", tt.q, got, tt.want)
			}
		})
	}
}

func TestQueryFor(t *testing.T) {
	temp := 0.3
	tests := []struct {
		name string
		req  llm.Request
		want Query
	}{
		{"one question", llm.Request{Messages: []llm.Message{{Role: llm.RoleSystem, Content: "Be brief."}, {Role: llm.RoleUser, Content: "What is Python?"}}, Temperature: &temp},
			Query{Text: "What is Python?", Temperature: &temp}},
		{"tools offered", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Weather?"}}, Tools: []llm.Tool{{Name: "weather"}}},
			Query{Text: "Weather?", Tools: true}},
		{"tool choice", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Hi"}}, ToolChoice: json.RawMessage(`"auto"`)},
			Query{Text: "Hi", Tools: true}},
		{"tool result", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Hi"}, {Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "1"}}}, {Role: llm.RoleTool, Content: "42"}}},
			Query{Text: "Hi", Tools: true, History: true}},
		{"conversation", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "What is Go?"}, {Role: llm.RoleAssistant, Content: "A language."}, {Role: llm.RoleUser, Content: "Who made it?"}}},
			Query{Text: "Who made it?", History: true}},
		{"two user turns", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Hi"}, {Role: llm.RoleUser, Content: "What is Go?"}}},
			Query{Text: "What is Go?", History: true}},
		{"n=2", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Hi"}}, N: 2},
			Query{Text: "Hi", AnswerShape: true}},
		{"n=1", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Hi"}}, N: 1},
			Query{Text: "Hi"}},
		{"logprobs", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Hi"}}, Extra: map[string]json.RawMessage{"logprobs": json.RawMessage(`true`)}},
			Query{Text: "Hi", AnswerShape: true}},
		{"logprobs false", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Hi"}}, Extra: map[string]json.RawMessage{"logprobs": json.RawMessage(`false`)}},
			Query{Text: "Hi"}},
		{"audio out", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Hi"}}, Extra: map[string]json.RawMessage{"modalities": json.RawMessage(`["text","audio"]`)}},
			Query{Text: "Hi", AnswerShape: true}},
		{"text parts", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "What is Go?", Parts: json.RawMessage(`[{"type":"text","text":"What is Go?"}]`)}}},
			Query{Text: "What is Go?"}},
		{"an image in the question", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "What is shown?", Parts: json.RawMessage(`[]`), NonText: true}}},
			Query{Text: "What is shown?", NonText: true}},
		{"a file in the system prompt", llm.Request{Messages: []llm.Message{{Role: llm.RoleSystem, Content: "Use the file.", NonText: true}, {Role: llm.RoleUser, Content: "Summarise."}}},
			Query{Text: "Summarise.", NonText: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, QueryFor(&tt.req, Scope{})); diff != "" {
				t.Errorf("QueryFor (-want +got):\n%s", diff)
			}
		})
	}
}

// TestScopeOf: requests that differ in anything that shapes the answer
// never share a scope; requests that differ only in sampling settings or
// bookkeeping do.
func TestScopeOf(t *testing.T) {
	base := func(extra map[string]string) *llm.Request {
		r := &llm.Request{Model: "auto", Messages: []llm.Message{{Role: llm.RoleUser, Content: "What is the capital of France?"}}}
		for k, v := range extra {
			if r.Extra == nil {
				r.Extra = map[string]json.RawMessage{}
			}
			r.Extra[k] = json.RawMessage(v)
		}
		return r
	}
	plain := ScopeOf("t", base(nil), "general")
	if plain == NewScope("t", "auto", "", "general") {
		t.Errorf("ScopeOf(plain) = %+v; want a scope apart from entries stored before it covered the request", plain)
	}
	differ := map[string]*llm.Request{
		"json_schema":           base(map[string]string{"response_format": `{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"}}}`}),
		"json_object":           base(map[string]string{"response_format": `{"type":"json_object"}`}),
		"tools":                 base(map[string]string{"tools": `[{"type":"function","function":{"name":"f"}}]`}),
		"tool_choice":           base(map[string]string{"tool_choice": `"none"`}),
		"n":                     base(map[string]string{"n": `2`}),
		"seed":                  base(map[string]string{"seed": `1`}),
		"logprobs":              base(map[string]string{"logprobs": `true`}),
		"stop":                  base(map[string]string{"stop": `"."`}),
		"max_tokens":            base(map[string]string{"max_tokens": `5`}),
		"max_completion_tokens": base(map[string]string{"max_completion_tokens": `5`}),
		"reasoning_effort":      base(map[string]string{"reasoning_effort": `"high"`}),
		"unknown extra":         base(map[string]string{"x_style": `"pirate"`}),
		"typed token limit":     {Model: "auto", MaxCompletionTokens: 9, Messages: base(nil).Messages},
		"system prompt":         {Model: "auto", Messages: []llm.Message{{Role: llm.RoleSystem, Content: "Answer in French."}, base(nil).Messages[0]}},
		"model":                 {Model: "bedrock_haiku", Messages: base(nil).Messages},
	}
	seen := map[Scope]string{plain: "plain"}
	for name, r := range differ {
		s := ScopeOf("t", r, "general")
		if other, ok := seen[s]; ok {
			t.Errorf("%s shares the scope of %s", name, other)
		}
		seen[s] = name
	}
	same := map[string]*llm.Request{
		"temperature": base(map[string]string{"temperature": `0.2`}),
		"top_p":       base(map[string]string{"top_p": `0.9`}),
		"user":        base(map[string]string{"user": `"u"`, "metadata": `{"a":"b"}`, "store": `true`, "service_tier": `"flex"`}),
		"n=1":         base(map[string]string{"n": `1`}),
	}
	for name, r := range same {
		if s := ScopeOf("t", r, "general"); s != plain {
			t.Errorf("%s: scope %+v; want the plain request's", name, s)
		}
	}
	a := ScopeOf("t", base(map[string]string{"response_format": `{"type": "json_object"}`}), "general")
	b := ScopeOf("t", base(map[string]string{"response_format": `{"type":"json_object"}`}), "general")
	if a != b {
		t.Error("the same response_format spelled with other spacing has another scope")
	}
}

// TestUnwrapLinear: a chain of how-openers ("how to go about go about…")
// is read in place, not copied once for each opener.
func TestUnwrapLinear(t *testing.T) {
	toks := embed.Tokens("how to go about " + strings.Repeat("go about ", 2000) + "baking bread")
	in := make([]string, len(toks))
	var got []string
	allocs := testing.AllocsPerRun(3, func() {
		copy(in, toks)
		got = unwrap(in)
	})
	if want := []string{"how", "to", "baking", "bread"}; !slices.Equal(got, want) {
		t.Fatalf("unwrap = %q; want %q", got, want)
	}
	if allocs > 4 {
		t.Errorf("unwrap allocates %v times for %d words; want a few", allocs, len(toks))
	}
}
