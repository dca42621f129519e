package router

import (
	"slices"
	"strings"
)

// The depth route sends to Config.Complex the short questions that the
// complexity score calls simple but that need depth: why a civilisation
// fell, whether a philosophical claim holds, a one-line system design, a
// request to refute or defend a position. Their words are few and plain,
// so only their meaning shows it: they are matched by embedding
// similarity to depthExamples, with the router's embedder.
//
// A question that asks for a fact (when, where, who, how many, what year,
// "what is X", "define X") never takes the route, however close it is
// to an example: "When did the Soviet Union collapse?" is a date, "Why
// did the Soviet Union collapse?" an essay.
//
// The examples were written for the kinds, not copied from the router's
// evaluation sets; DefaultDepthThreshold was chosen on the dev set
// (testdata/dev.jsonl) with the built-in sentence encoder
// (docs/routing.md).

// DefaultDepthThreshold is the cosine similarity to one depth example a
// query needs to take the depth route.
const DefaultDepthThreshold = 0.6

// depthRoute names the depth route in a Decision's Reason.
const depthRoute = "depth"

var depthExamples = []string{
	// why something happened in history
	"Why did the Roman Empire fall?",
	"Why did the Ottoman Empire collapse?",
	"What caused the First World War?",
	"Why did the French Revolution happen?",
	"What led to the fall of the Berlin Wall?",
	"Why did communism fail in Eastern Europe?",
	"Why did the Industrial Revolution start in Britain?",
	// open philosophical or ethical questions
	"Is free will real?",
	"Is morality objective?",
	"Does God exist?",
	"Is consciousness physical?",
	"Is it wrong to lie?",
	"Is capital punishment ever justified?",
	"Are humans naturally good?",
	"Can machines think?",
	"Is knowledge possible?",
	// contested judgements about society
	"Is capitalism fair?",
	"Should voting be compulsory?",
	"Is social media bad for democracy?",
	"Was colonialism beneficial?",
	"Is economic growth sustainable?",
	// one-line system designs
	"Design Twitter.",
	"Design Netflix.",
	"Design a chat app like WhatsApp.",
	"Design Google Docs.",
	"Architect an online marketplace.",
	// refute, defend, critique a position
	"Refute utilitarianism.",
	"Argue against free markets.",
	"Critique behaviourism.",
	"Defend moral relativism.",
	"Make the case for nuclear power.",
}

// asksForFact reports whether query asks for a fact by its first words:
// when, where, who, how many/much/old/long/far, what year/date/time, what
// is/are/was/were (what's), define.
func asksForFact(query string) bool {
	w := dropFillers(strings.Fields(normalise(query)))
	at := func(i int, words ...string) bool { return i < len(w) && slices.Contains(words, w[i]) }
	switch {
	case at(0, "when", "where", "who", "whom", "whose", "whats", "define", "name", "list"):
		return true
	case at(0, "how") && at(1, "many", "much", "old", "long", "far", "big", "tall", "large", "often"):
		return true
	case at(0, "what", "which") && at(1, "year", "date", "day", "time", "is", "are", "was", "were"):
		return true
	}
	return false
}
