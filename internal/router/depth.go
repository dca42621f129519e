package router

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/cato-gateway/cato/internal/vectorindex"
)

// The depth route sends to Config.Complex the short questions that the
// complexity score calls simple but that need depth: why a civilisation
// fell, whether a philosophical claim holds, a one-line system design, a
// request to refute or defend a position. Their words are few and plain,
// so only their meaning shows it: they are matched by embedding
// similarity to depthExamples, with the router's embedder. Words alone
// mislead the other way too ("Why was the Eiffel Tower built?" reads
// like "Why did the Roman Empire fall?"), so a query must also be nearer
// its closest depth example than any of shallowExamples, short questions
// with a settled answer, by DefaultDepthMargin.
//
// A question that asks for a fact (when, where, who, how many, what year,
// "what is X", "define X") never takes the route, however close it is
// to an example: "When did the Soviet Union collapse?" is a date, "Why
// did the Soviet Union collapse?" an essay.
//
// The examples were written for the kinds, not copied from the router's
// evaluation sets; DefaultDepthThreshold and DefaultDepthMargin were
// chosen together on the dev set (testdata/dev.jsonl) with the built-in
// sentence encoder (docs/routing.md).

// DefaultDepthThreshold is the cosine similarity to one depth example a
// query needs to take the depth route.
const DefaultDepthThreshold = 0.55

// DefaultDepthMargin is how much more similar to its nearest depth
// example than to its nearest shallow example a query must be to take
// the depth route.
const DefaultDepthMargin = 0.06

// depthRouteName names the depth route in a Decision's Reason.
const depthRouteName = "depth"

// depthRoute is the built-in depth route: its examples' unit vectors
// and the similarities a query needs.
type depthRoute struct {
	model             string
	threshold, margin float64
	deep, shallow     [][]float32
}

// match reports whether query takes the depth route: it is at least
// threshold similar to a depth example, and more similar to it, by
// margin, than to any shallow example. The query is embedded with r's
// embedder; a failure is logged and the route not taken.
func (d *depthRoute) match(ctx context.Context, r *Router, query string) (reason string, ok bool) {
	if query == "" {
		return "", false
	}
	vecs, err := r.emb.Embed(ctx, []string{query})
	if err != nil || len(vecs) != 1 {
		r.log.WarnContext(ctx, "depth route skipped: embedding the query failed", slog.Any("err", err))
		return "", false
	}
	q := unit(vecs[0])
	deep, shallow := nearest(q, d.deep), nearest(q, d.shallow)
	if deep < d.threshold || deep-shallow <= d.margin {
		return "", false
	}
	return fmt.Sprintf("depth route (similarity %.2f to a depth example, %.2f to a shallow one)", deep, shallow), true
}

// nearest returns the highest cosine similarity of q to vecs, unit
// vectors of q's length, in float32 (vectorindex.Dot): the route compares
// every query with over 150 examples, and float32 is well within the
// precision a threshold needs.
func nearest(q []float32, vecs [][]float32) float64 {
	best := float32(-1)
	for _, v := range vecs {
		if len(v) != len(q) {
			continue
		}
		best = max(best, vectorindex.Dot(q, v))
	}
	return float64(best)
}

var depthExamples = []string{
	// why something happened in history, how a power rose or fell
	"Why did the Roman Empire fall?",
	"Why did the Ottoman Empire collapse?",
	"What caused the First World War?",
	"Why did the French Revolution happen?",
	"What led to the fall of the Berlin Wall?",
	"Why did communism fail in Eastern Europe?",
	"Why did the Industrial Revolution start in Britain?",
	"How did the Nazis come to power?",
	"Why did the South lose the Civil War?",
	"How did Genghis Khan build such a large empire?",
	"Why did the Spanish conquer the Inca so easily?",
	"Why did the League of Nations fail?",
	"Why did the Chinese Communists win the civil war?",
	"What were the causes of the Great Recession?",
	"Why did the Soviet Union invade Afghanistan?",
	"How come Athens lost the Peloponnesian War?",
	"Why did the Inca civilisation disappear?",
	"What drove the scramble for Africa?",
	"Why did Japan close itself off under the Tokugawa?",
	"Why did the US drop the atomic bomb on Japan?",
	"Why did Britain abolish slavery when it did?",
	// why a society, economy or polity is the way it is
	"Why are some countries rich and others poor?",
	"Why is the Middle East so unstable?",
	"Why do revolutions turn violent?",
	"Why has the far right grown in Europe?",
	"Why do housing prices keep rising?",
	"Why did wages stagnate while productivity grew?",
	"Why do people believe conspiracy theories?",
	"Why is politics so polarised?",
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
	"Do numbers exist?",
	"What makes a life worth living?",
	"Is it moral to have children?",
	"Do we have moral duties to future generations?",
	"Is the external world real?",
	"Can a copy of me be me?",
	"What do we owe strangers?",
	"Is violence ever justified in protest?",
	"Does anything really matter?",
	"Do animals have minds?",
	"Are we the same person over a whole lifetime?",
	"Can we trust our senses?",
	"Is the mind separate from the body?",
	"Does language shape thought?",
	"Is the future already fixed?",
	"Are moral truths universal?",
	// contested judgements about society and policy
	"Is capitalism fair?",
	"Should voting be compulsory?",
	"Is social media bad for democracy?",
	"Was colonialism beneficial?",
	"Is economic growth sustainable?",
	"Do minimum wage increases cost jobs?",
	"Does austerity work?",
	"Should drugs be decriminalised?",
	"Is a wealth tax a good idea?",
	"Should hate speech be protected?",
	"Does gun control reduce crime?",
	"Are tariffs good for a country?",
	"Is the welfare state affordable?",
	"Should we ban nuclear weapons?",
	"Do prisons rehabilitate anyone?",
	// open questions in science and mathematics
	"How did the universe begin?",
	"How did consciousness evolve?",
	"What is dark matter made of?",
	"Why did humans evolve big brains?",
	"Why is the square root of two irrational?",
	"Why can't you trisect an angle with ruler and compass?",
	"Why does the diagonal argument work?",
	"What came before the Big Bang?",
	"Is there life elsewhere in the universe?",
	"Is information destroyed in black holes?",
	"How does the brain store memories?",
	// one-line system designs
	"Design Twitter.",
	"Design Netflix.",
	"Design a chat app like WhatsApp.",
	"Design Google Docs.",
	"Architect an online marketplace.",
	"Design a key-value store.",
	"Design a news feed.",
	"How would you build Google Maps?",
	"Design a ticket booking system.",
	"Design a video streaming platform.",
	"System design for a stock exchange.",
	"Build the backend for an online game.",
	// refute, defend, critique a position
	"Refute utilitarianism.",
	"Argue against free markets.",
	"Critique behaviourism.",
	"Defend moral relativism.",
	"Make the case for nuclear power.",
	"Argue that democracy is overrated.",
	"Take apart the argument from design.",
	"Find the flaws in Pascal's wager.",
	"Push back on the idea that money buys happiness.",
	"Criticise social contract theory.",
	"Poke holes in the theory of evolution.",
	"Question the value of standardised testing.",
	// short choices between technologies, strategies or ways of living
	"MySQL or Cassandra?",
	"Python or Go for a web service?",
	"Serverless vs containers?",
	"GraphQL or REST for a public API?",
	"Stocks or bonds at my age?",
	"Lease or buy a car?",
	"Socialism or capitalism?",
	"Should we use Kubernetes or plain VMs?",
	"Jenkins vs GitHub Actions?",
	"Django vs Rails?",
	"Spark vs Flink for streaming?",
	// advice with constraints
	"Should I quit my job to start a company with six months of savings?",
	"How should I split a $5,000 bonus between debt and savings?",
	"Should I move abroad for a job if my partner can't work there?",
	"How do I save for a house on a $40k income in an expensive city?",
	"Should I go back to university at 40 with two kids?",
	"How should a small team of 3 split work on a big product launch?",
	"Is college still worth the cost?",
	"Is it worth learning to code at 50?",
	"Should I take a gap year before university?",
	"Should I refinance now or wait?",
	// asks for depth after earlier turns
	"Expand on that in much more detail.",
	"Dig deeper into the third point.",
	"Is that plan realistic?",
	"How would you critique that?",
}

// shallowExamples are short questions the depth examples are near in
// words but not in the work they ask for: settled why-questions,
// yes/no facts, how-tos, definitions and asks with one right answer. A
// query takes the depth route only when it is more similar to a depth
// example than to every shallow one.
var shallowExamples = []string{
	// settled why-questions about nature and everyday things
	"Why is the sunset red?",
	"Why do we hiccup?",
	"Why does oil float on water?",
	"Why do leaves fall in autumn?",
	"Why is snow white?",
	"Why do we dream?",
	"Why do birds migrate?",
	"Why does the sea have tides?",
	"Why do onions smell?",
	"Why was the Great Wall of China built?",
	"Why is Venus so hot?",
	"Why do we need sleep?",
	"Why did the Hindenburg explode?",
	"Why is it called the Big Apple?",
	"Why do we shake hands?",
	"Why is the Leaning Tower of Pisa leaning?",
	"Why do Christians celebrate Christmas?",
	"Why do brides wear white?",
	"Why do magnets attract iron?",
	"Why do we see lightning before thunder?",
	"What happens if you swallow gum?",
	// yes/no questions of fact
	"Is a bat a mammal?",
	"Can ostriches fly?",
	"Does the moon rotate?",
	"Is glass a liquid?",
	"Are spiders insects?",
	"Is Australia a continent?",
	"Do fish sleep?",
	"Is coffee a diuretic?",
	"Was Napoleon short?",
	"Is Rome older than Athens?",
	"Is 91 divisible by 7?",
	"Can rabbits eat grapes?",
	"Are whales mammals?",
	"Which ocean is the deepest?",
	"Which city has the most skyscrapers?",
	"Do dogs see in colour?",
	"Can owls see during the day?",
	// how things work, how to do things
	"How does a refrigerator work?",
	"How do magnets work?",
	"How do I change my password?",
	"How do you make a paper airplane?",
	"How did the pyramids get built?",
	"How do bees make honey?",
	// definitions and quick facts
	"Explain what a neural network is.",
	"Can you explain what an index fund is?",
	"What causes earthquakes?",
	"Why do clocks go forward in spring?",
	"Tell me about the Eiffel Tower.",
	"What's the difference between a frog and a toad?",
	"Describe the water cycle.",
	"Meaning of the word stoic?",
	"Hurricane vs typhoon?",
	"Mitosis vs meiosis?",
	"Fewer vs less?",
	"Baking soda vs baking powder?",
	"HTTP vs HTTPS?",
	"Summary of Romeo and Juliet?",
	// quick asks
	"Convert 10 kilograms to pounds.",
	"Translate thank you into Japanese.",
	"Tell me a fun fact.",
	"Write a Python function that checks if a number is even.",
	"How do I reverse a list in JavaScript?",
	"What's 15 times 24?",
	"Recommend a podcast about history.",
	"Should I wash new clothes before wearing them?",
	"Should I turn off my computer at night?",
	"Hi, how are you?",
}

// depthText is the text the depth route embeds for query: query itself,
// or its words spelled out when it has chat spellings or misspelled
// words the rules know ("shud i quit my job" → "should i quit my job").
func depthText(query string) string {
	text, _ := spelledOut(query)
	return text
}

// bestWay reports whether words ask for the best or a better way to do
// something ("what's the best way to scale a startup"): advice, which
// the depth route may weigh, not a fact.
func bestWay(words []string) bool {
	for i := 0; i+1 < len(words) && i < 4; i++ {
		if (words[i] == "best" || words[i] == "better") && (words[i+1] == "way" || words[i+1] == "approach" || words[i+1] == "strategy") {
			return true
		}
	}
	return false
}

// asksForFact reports whether query asks for a fact by its first words,
// after a polite "can you" or "could you": when, where, who, how
// many/much/old/long/far, what year/date/time, what is/are/was/were
// (what's), define; but not "what's the best way to…" (bestWay).
func asksForFact(query string) bool {
	w := dropFillers(spellOut(strings.Fields(normalise(query))))
	// A polite opening asks the same: "can you define entropy".
	for len(w) > 2 && slices.Contains([]string{"can", "could", "would", "will"}, w[0]) && w[1] == "you" {
		w = dropFillers(w[2:])
	}
	at := func(i int, words ...string) bool { return i < len(w) && slices.Contains(words, w[i]) }
	switch {
	case at(0, "when", "where", "who", "whom", "whose", "define", "name", "list"):
		return true
	case at(0, "how") && at(1, "many", "much", "old", "long", "far", "big", "tall", "large", "often"):
		return true
	case at(0, "what", "which") && at(1, "year", "date", "day", "time", "is", "are", "was", "were"):
		return !bestWay(w)
	case at(0, "whats"):
		return !bestWay(w)
	}
	return false
}
