package cache

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/cato-gateway/cato/internal/embed"
	"github.com/cato-gateway/cato/internal/llm"
)

// Query is what the orchestrator tells the cache about one request.
// QueryFor fills the parts that come from the request itself.
type Query struct {
	Scope Scope
	// Text is the question: the last user message.
	Text string
	// SessionID is the request's session; entries remember it so that
	// deleting the session deletes them.
	SessionID string
	// Disabled is set when the request says cato.cache: false.
	Disabled bool
	// Temperature is the request's sampling temperature; nil when unset.
	Temperature *float64
	// Tools is set when the request offers tools or carries tool calls or
	// tool results.
	Tools bool
	// NonText is set when a message carries a content part other than
	// text (llm.Request.HasNonText).
	NonText bool
	// History is set when the request carries earlier turns (an assistant
	// or tool message, or more than one user message).
	History bool
	// AnswerShape is set when the request asks for more than a stored
	// answer's text can give back: n > 1 choices, logprobs, or audio.
	AnswerShape bool
	// SessionMemory is set when the answer depends on session memory or
	// recalled long-term memory: the orchestrator added session turns,
	// a summary, facts or episodes to the prompt.
	SessionMemory bool
}

// QueryFor returns the Query of req in scope: its text, temperature,
// whether it carries tools, content other than text, or history, and
// whether it asks for more than text. The caller adds SessionID, Disabled
// and SessionMemory.
func QueryFor(req *llm.Request, scope Scope) Query {
	q := Query{Scope: scope, Text: req.LastUserText(), Temperature: req.Temperature, Tools: len(req.Tools) > 0 || len(req.ToolChoice) > 0}
	q.NonText = req.HasNonText()
	users := 0
	for _, m := range req.Messages {
		switch m.Role {
		case llm.RoleUser:
			users++
		case llm.RoleAssistant:
			q.History = true
		case llm.RoleTool:
			q.Tools, q.History = true, true
		}
		if len(m.ToolCalls) > 0 {
			q.Tools = true
		}
	}
	if users > 1 {
		q.History = true
	}
	q.AnswerShape = req.N > 1 || isTrue(req.Extra["logprobs"]) || asksAudio(req.Extra["modalities"])
	return q
}

func isTrue(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "true" }

// asksAudio reports whether a modalities member asks for audio.
func asksAudio(v json.RawMessage) bool {
	var m []string
	return len(v) > 0 && json.Unmarshal(v, &m) == nil && slices.Contains(m, "audio")
}

// bypassReason applies the bypass rule of docs/cache.md to q under o, in
// the order of Reasons; it returns ReasonNone when the cache may serve q.
// A zero o.MaxEntryBytes sets no limit (New fills in the default).
func bypassReason(q *Query, o *Options) Reason {
	switch {
	case o.Disabled || q.Disabled:
		return ReasonDisabled
	case o.MaxTemperature > 0 && q.Temperature != nil && *q.Temperature > o.MaxTemperature:
		return ReasonTemperature
	case q.Tools:
		return ReasonTools
	case q.AnswerShape:
		return ReasonAnswerShape
	case q.NonText:
		return ReasonNonText
	case q.SessionMemory:
		return ReasonSessionMemory
	case q.History:
		return ReasonHistory
	case o.MaxEntryBytes > 0 && len(q.Text) > o.MaxEntryBytes:
		// Before the text rules, which read every word.
		return ReasonTooLarge
	}
	return textReason(question(q.Text))
}

// question returns the tokens of text without the words that wrap a
// question (unwrap): "sorry if this is a dumb question, but" points at
// nothing, and "I'm trying to understand" says nothing of the asker that
// the answer depends on.
func question(text string) []string {
	toks := embed.Tokens(text)
	for i, t := range toks {
		if v, ok := shorthand[t]; ok {
			toks[i] = v
		}
	}
	return unwrap(toks)
}

// textReason finds, in a question's tokens, the marks of a question about
// the asker, about the conversation, or about the present moment.
func textReason(toks []string) Reason {
	has := func(i int, words ...string) bool { return i >= 0 && i < len(toks) && slices.Contains(words, toks[i]) }
	// "How do I undo my last commit?": a how-to question asks for steps
	// that do not depend on whose commit it is.
	howTo := howToAsk(toks)
	for i, t := range toks {
		switch {
		case everyones(toks, i):
		case firstPersonOwn[t] && !howTo:
			return ReasonPersonal
		// "Why do we yawn?", "Why can't we see air?": people in general.
		// Not "why are we still waiting", "why aren't we getting paid",
		// "why do we need to meet": the asker's own lot.
		case t == "we" && (has(i-2, "why") || has(i-3, "why")) && has(i-1, "do", "don't", "can", "can't", "cannot", "n't") &&
			!has(i-2, "are") && !has(i+1, "need"):
		// "I" or "we" as the asker's own state or past: "who am I",
		// "what did I say", "I'm 40", "I live in Oslo", "do I have…".
		case t == "i" || t == "we":
			// "I'm curious", "I was wondering", "I'd like to know",
			// "I'd be grateful": a wrapper around the question.
			if has(i+1, "wonder", "wondered", "'d", "would") || (has(i+1, "am", "'m", "was") && has(i+2, "curious", "wondering", "interested")) ||
				(has(i+1, "'ve", "have") && has(i+2, "always", "been", "often") && has(i+3, "wondered", "wondering")) {
				continue // "I've always wondered", "I've been wondering"
			}
			if has(i-1, "am", "are", "was", "were", "did", "have", "had") ||
				has(i+1, "am", "'m", "are", "'re", "was", "were", "have", "'ve", "had", "'d", "said", "told", "asked",
					"mentioned", "wrote", "live", "work", "called", "named", "born", "feel", "got", "bought", "ate", "took", "own") ||
				(has(i-1, "do") && has(i+1, "have", "need", "qualify")) ||
				// "what I did wrong", "if I passed", "what I owe"; not "do I
				// shed", "should I feed", "how long I should boil": a verb
				// after an auxiliary, or a base form, is no past.
				(t == "i" && i+1 < len(toks) && !has(i-1, "do", "does", "did", "can", "could", "should", "would", "will", "shall", "may", "might", "must") &&
					(has(i+1, "did", "owe", "lost", "left", "paid", "spent", "sent", "made", "forgot", "qualify") || pastTense(toks[i+1]))) {
				return ReasonPersonal
			}
		case t == "me" || t == "us":
			// "Explain recursion for me": a courtesy, not the subject;
			// "explain which plan is best for me" asks about the asker.
			if has(i-1, "for") && !suitsMe[toks[max(i-2, 0)]] && slices.ContainsFunc(toks[:i-1], func(w string) bool { return explainVerb[w] }) {
				continue
			}
			if has(i-1, "about", "for", "remind", "with") {
				return ReasonPersonal
			}
		}
	}
	for i, t := range toks {
		switch {
		case conversational[t]:
			return ReasonContext
		// "Can you tell me…", "Would you say…": a request, not a
		// reference to what was said.
		case t == "you" && has(i-1, "can", "could", "would", "will") && has(i+1, "tell", "say", "explain", "give", "show"):
		// "How do you say X in French?": a generic "you", asking for a
		// translation.
		case t == "you" && has(i-2, "how") && has(i-1, "do") && has(i+1, "say"):
		case t == "you" && has(i+1, "said", "say", "told", "tell", "mentioned", "wrote", "just", "meant", "think", "remember", "gave", "suggested", "recommended"):
			return ReasonContext
		case (t == "your" || t == "the" || t == "that") && has(i+1, "answer", "response", "reply", "explanation", "example", "code", "output"):
			return ReasonContext
		case t == "tell" && has(i+1, "me") && has(i+2, "more"), t == "go" && has(i+1, "on"):
			return ReasonContext
		case deictic[t]:
			return ReasonContext
		case anaphoric[t] && onlyFunctionWordsBefore(toks[:i]) && !expletive(toks, i):
			return ReasonContext
		// "Can you help me fix it?", "How do I undo that?": a pronoun that
		// ends a short question names something it does not.
		case anaphoric[t] && i == len(toks)-1 && contentWords(toks[:i]) <= 2 && !has(i-1, "and", "or", "vs", "versus"):
			return ReasonContext // (not the word itself: "there and their")
		}
	}
	for i, t := range toks {
		if temporal[t] || (t == "right" && has(i+1, "now")) || ((t == "this" || t == "next" || t == "last") && has(i+1, "week", "month", "year", "weekend", "season")) {
			return ReasonTimeSensitive
		}
	}
	return ReasonNone
}

// expletive reports whether the "it" at toks[i] stands for what follows
// rather than for something said before: "Is it safe to eat raw
// eggs?", "Is it true that…", "Is it worth learning Rust?", "Does it
// take long to boil an egg?". "Is it used to treat acne?" and "Is it
// worth it?" still point back.
func expletive(toks []string, i int) bool {
	if toks[i] != "it" || i+2 >= len(toks) {
		return false
	}
	next, then := toks[i+1], toks[i+2]
	toFollows := slices.Contains(toks[i+2:min(len(toks), i+7)], "to")
	// A pronoun after it still points back, and so does "it" itself when
	// the clause that follows has no object: "Is it safe to take it with
	// food?", "Is it OK to tell him?", "Is it safe to eat?".
	for j := i + 3; j < len(toks); j++ {
		if anaphoric[toks[j]] {
			return false
		}
	}
	if to := slices.Index(toks[i+2:], "to"); to >= 0 && i+2+to == len(toks)-2 {
		return false // not "is it possible to be allergic to water?"
	}
	switch {
	case (next == "take" || next == "takes" || next == "cost" || next == "costs") && toFollows:
		return true
	case (next == "is" || next == "'s" || next == "was") && i+3 < len(toks) && (i == 0 || toks[i-1] == "whether" || toks[i-1] == "if"):
		// "whether it's safe to give dogs grapes", "if it is true that…"
		adj := toks[i+2]
		return !notExpletive[adj] && !strings.HasSuffix(adj, "ed") && (toks[i+3] == "to" || toks[i+3] == "that")
	case i == 0 || !slices.Contains([]string{"is", "was", "'s"}, toks[i-1]):
		return false
	case next == "worth":
		return strings.HasSuffix(then, "ing") && i+3 < len(toks) // not "is it worth fixing?"
	case notExpletive[next] || strings.HasSuffix(next, "ed"):
		return false // "is it used to…", "is it supposed to…"
	case then == "to" || then == "that":
		return true
	}
	return then == "for" && toFollows // "is it normal for dogs to eat grass?"
}

// notExpletive are the words after "is it" that make "it" a thing: "is
// it going to…", "is it meant to…", "is it able to…".
var notExpletive = set("going", "meant", "able", "made", "built", "known", "supposed", "used", "designed")

// explainVerb asks for an explanation: "for me" after it is a courtesy.
var explainVerb = set("explain", "expand", "define", "summarize", "summarise", "describe", "clarify", "outline", "simplify", "spell", "translate")

// suitsMe are the words that make "for me" the subject of the question:
// "best for me", "right for me", "safe for me".
var suitsMe = set("best", "better", "right", "good", "bad", "worse", "worst", "wrong", "safe", "healthy", "ideal", "suitable",
	"appropriate", "enough", "possible", "necessary", "important", "easier", "harder", "cheaper", "useful", "worth")

// everyonesNoun are the canonical forms of what "our" makes everyone's,
// not the asker's: "our solar system", "our immune system".
var everyonesNoun = stems("solar", "planet", "galaxy", "universe", "sun", "moon", "world", "earth", "species", "ancestors",
	"body", "bodies", "brain", "brains", "eyes", "ears", "skin", "blood", "cells", "genes", "dna", "immune", "heart", "bones", "muscles", "civilization", "civilisation")

// ownMeasure are the words that make "our heart", "our blood" the
// asker's: "our heart rate", "our blood test results".
var ownMeasure = set("rate", "rates", "test", "tests", "result", "results", "temperature", "pressure", "level", "levels", "count",
	"type", "scan", "scans", "record", "records", "plan", "plans", "team", "score", "scores", "reading", "readings", "report",
	"sample", "samples", "panel", "day", "map", "data")

// pastTense reports whether a word reads as a regular past tense:
// "passed", "failed", not "need", "speed", "shed", "bleed".
func pastTense(w string) bool {
	return len(w) > 4 && strings.HasSuffix(w, "ed") && !strings.HasSuffix(w, "eed")
}

// contentWords counts the words of toks that are neither function words
// nor question words.
func contentWords(toks []string) int {
	n := 0
	for _, t := range toks {
		if !functionWord[t] && !whWord[t] && !negation[t] {
			n++
		}
	}
	return n
}

func onlyFunctionWordsBefore(toks []string) bool {
	for _, t := range toks {
		if !functionWord[t] && !whWord[t] {
			return false
		}
	}
	return true
}

var firstPersonOwn = set("my", "mine", "myself", "our", "ours", "ourselves")

// conversational words point back into the conversation.
var conversational = set("above", "earlier", "previous", "previously", "aforementioned", "again", "continue", "elaborate", "rephrase", "retry", "redo", "shorter", "longer")

// deictic words point at something the asker sees and the cache does not:
// "why does this code fail?", "translate these sentences".
var deictic = set("this", "these", "those", "here", "attached", "following", "below")

// anaphoric pronouns refer back when nothing before them in the question
// could be what they name: "what does it mean?", "is that true?".
var anaphoric = set("it", "its", "that", "they", "them", "their", "he", "she", "him", "her", "his", "hers")

var temporal = set("today", "tonight", "tomorrow", "yesterday", "now", "currently", "current", "latest", "recent", "recently", "upcoming", "newest", "nowadays", "presently", "weather", "forecast")

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
