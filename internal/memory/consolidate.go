package memory

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/cato-gateway/cato/internal/vectorindex"
)

// Consolidation, per delivery: validate the interaction; extract its facts
// (the model extractor falls back to the rules when the model cannot be
// reached); embed the episode and the facts' statements in one call; then
// load the user's facts, judge each new fact against the current facts of
// its subject, and apply the episode, the new facts and the changed ones
// in one Change against the version loaded, replanning when another
// worker got there first. The delivery is acknowledged once its change is
// applied, or refused as a duplicate (a redelivery after a crash between
// the two) or as forgotten; otherwise it is left for redelivery after the
// queue's lease. Applying and acknowledging are two steps, and the
// episode, which Apply writes with the facts, marks the interaction done:
// so each interaction is consolidated exactly once in effect.

// Tunings of consolidation.
const (
	// claimWait is how long a worker's claim waits for work: short enough
	// that a worker notices shutdown quickly.
	claimWait = time.Second
	// batchTimeout bounds one batch's consolidation, model calls included;
	// it also bounds the drain of a batch at shutdown.
	batchTimeout = 30 * time.Second
	// maxReplans bounds the replanning of one change whose user's memory
	// keeps changing under it.
	maxReplans = 8
	// maxAttempts is the delivery at which an interaction whose episode
	// cannot be embedded is stored without vectors rather than retried.
	maxAttempts = 5
	// judgeNearest is how many current facts of the same subject the NLI
	// judge is asked about, the most similar first; the rule judge, which
	// costs nothing, looks at all of them.
	judgeNearest = 5
)

// work claims and consolidates batches until ctx ends. A batch claimed is
// finished even when ctx ends meanwhile (within batchTimeout).
func (m *Memory) work(ctx context.Context, consumer string) error {
	failures := 0
	for ctx.Err() == nil {
		ds, err := m.opt.Queue.Claim(ctx, consumer, m.opt.Batch, claimWait)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			m.opt.Log.Warn("claiming from the memory queue failed", slog.Any("err", err))
			sleep(ctx, time.Duration(min(failures, 10))*500*time.Millisecond)
			continue
		}
		failures = 0
		if len(ds) == 0 {
			continue
		}
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
		m.consolidateBatch(bctx, ds)
		cancel()
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// consolidateBatch consolidates ds in order and acknowledges those done.
func (m *Memory) consolidateBatch(ctx context.Context, ds []Delivery) {
	var done []Delivery
	for _, d := range ds {
		outcome := m.consolidate(ctx, d)
		m.stats.consolidations.add(outcome, 1)
		if outcome != "retry" {
			done = append(done, d)
		}
	}
	if err := m.opt.Queue.Ack(ctx, done); err != nil {
		// They come back after the lease and are found consolidated.
		m.opt.Log.Warn("acknowledging consolidated interactions failed", slog.Any("err", err))
	}
}

// consolidate consolidates one delivery and returns its outcome: ok,
// duplicate, forgotten, invalid, or retry (not acknowledged).
func (m *Memory) consolidate(ctx context.Context, d Delivery) string {
	in := d.Interaction
	log := m.opt.Log.With(slog.String("interaction", in.ID), slog.Int("attempt", d.Attempt))
	if err := in.Validate(); err != nil || in.ID == "" {
		log.Warn("dropping an invalid interaction from the memory queue", slog.Any("err", err))
		return "invalid"
	}
	cands := m.extract(ctx, &in, log)
	texts := make([]string, 0, 1+len(cands))
	texts = append(texts, episodeText(&in))
	facts := make([]Fact, len(cands))
	for i, c := range cands {
		facts[i] = m.newFact(&in, i, c)
		texts = append(texts, facts[i].Statement())
	}
	vecs, err := m.opt.Embedder.Embed(ctx, texts)
	if err != nil {
		if d.Attempt < maxAttempts {
			log.Warn("embedding an interaction failed; it will be retried", slog.Any("err", err))
			return "retry"
		}
		log.Error("embedding an interaction failed again; storing it without vectors", slog.Any("err", err))
		vecs = nil
	}
	ep := &Episode{ID: in.ID, Tenant: in.Tenant, User: in.User, SessionID: in.SessionID, Domain: in.domain(),
		Query: in.Query, Response: in.Response, At: in.At}
	if len(vecs) == len(texts) {
		ep.Vector = vecs[0]
		for i := range facts {
			facts[i].Vector = vecs[1+i]
		}
	}
	for range maxReplans {
		st, err := m.opt.Store.Load(ctx, in.Key(), CurrentFacts)
		if err != nil {
			log.Warn("loading memory failed; the interaction will be retried", slog.Any("err", err))
			return "retry"
		}
		ch, tally := m.plan(ctx, st, &in, ep, facts)
		err = m.opt.Store.Apply(ctx, ch)
		switch {
		case err == nil:
			for k, n := range tally {
				m.stats.facts.add(k, n)
			}
			return "ok"
		case errors.Is(err, ErrDuplicate):
			return "duplicate"
		case errors.Is(err, ErrForgotten):
			return "forgotten"
		case errors.Is(err, ErrConflict):
			m.stats.conflicts.Add(1)
			continue
		}
		log.Warn("applying a memory change failed; the interaction will be retried", slog.Any("err", err))
		return "retry"
	}
	log.Warn("memory kept changing while an interaction was consolidated; it will be retried")
	return "retry"
}

// extract runs the extractor, and the rules when a model extractor
// fails to answer. Malformed model output is dropped: the interaction
// keeps its episode and gets no facts.
func (m *Memory) extract(ctx context.Context, in *Interaction, log *slog.Logger) []Candidate {
	name := m.opt.Extractor.Name()
	cands, err := m.opt.Extractor.Extract(ctx, in)
	switch {
	case errors.Is(err, ErrMalformed):
		m.stats.extractions.add(name+"/malformed", 1)
		log.Warn("the extraction model answered malformed facts twice; the interaction gets none", slog.Any("err", err))
		return nil
	case err != nil:
		m.stats.extractions.add(name+"/error", 1)
		if _, rules := m.opt.Extractor.(RuleExtractor); rules {
			return nil
		}
		log.Warn("the extraction model failed; extracting by rule", slog.Any("err", err))
		cands, _ = RuleExtractor{}.Extract(ctx, in)
		m.stats.extractions.add("rules/fallback", 1)
		return cands
	case len(cands) == 0:
		m.stats.extractions.add(name+"/none", 1)
	default:
		m.stats.extractions.add(name+"/facts", 1)
	}
	return cands
}

// episodeText is what an episode's vector embeds.
func episodeText(in *Interaction) string {
	if in.Response == "" {
		return in.Query
	}
	return in.Query + "\n" + in.Response
}

// newFact makes the i-th candidate of in a fact. Its ID derives from the
// interaction's, so that replanning gives the same IDs.
func (m *Memory) newFact(in *Interaction, i int, c Candidate) Fact {
	subj := c.Subject
	if subj != UserSubject {
		subj = normalSubject(subj)
	}
	conf := c.Confidence
	if conf <= 0 || conf > 1 {
		conf = ruleConfidence
	}
	return Fact{
		ID: in.ID + "-" + strconv.Itoa(i), Tenant: in.Tenant, User: in.User,
		Subject: subj, Predicate: canonicalPredicate(c.Predicate), Object: c.Object, Negated: c.Negated,
		Domain: in.domain(), Confidence: conf,
		Sources:  []Source{{Interaction: in.ID, SessionID: in.SessionID, At: in.At}},
		StatedAt: in.At, UpdatedAt: m.opt.Now(),
	}
}

// plan judges facts, the new facts of in, against the current facts of st
// and returns the change to apply and a tally of what happened to them.
func (m *Memory) plan(ctx context.Context, st State, in *Interaction, ep *Episode, facts []Fact) (Change, map[string]int64) {
	now := m.opt.Now()
	ep.FactIDs = nil
	work := slices.Clone(st.Facts) // facts as they will be, new ones appended
	touched := map[string]bool{}
	tally := map[string]int64{}
	for _, nf := range facts {
		n := nf
		merged := false
		for _, i := range m.candidates(work, &n) {
			e := &work[i]
			judge := m.opt.Judge.Name()
			v, err := m.opt.Judge.Judge(ctx, e, &n)
			if err != nil {
				// The NLI model is unreachable: judge by rule rather than
				// keep contradicting facts side by side.
				m.stats.judgements.add(judge+"/error", 1)
				rules := &RuleJudge{Embedder: m.opt.Embedder}
				judge = rules.Name()
				v, _ = rules.Judge(ctx, e, &n)
			}
			m.stats.judgements.add(judge+"/"+v.String(), 1)
			switch v {
			case Entailed:
				mergeInto(e, &n, now)
				ep.FactIDs = append(ep.FactIDs, e.ID)
				touched[e.ID] = true
				merged = true
				tally["merged"]++
			case Contradicted:
				if !n.StatedAt.Before(e.StatedAt) {
					e.SupersededBy, e.SupersededAt = n.ID, now
					touched[e.ID] = true
					tally["superseded"]++
				} else {
					n.SupersededBy, n.SupersededAt = e.ID, now
					tally["stale"]++
				}
			}
			if merged || !n.Current() {
				break
			}
		}
		if !merged {
			ep.FactIDs = append(ep.FactIDs, n.ID)
			work = append(work, n)
			touched[n.ID] = true
			tally["new"]++
		}
	}
	ch := Change{Key: in.Key(), Version: st.Version, Interaction: in, Episode: ep}
	for _, f := range work {
		if touched[f.ID] {
			ch.Put = append(ch.Put, f)
		}
	}
	return ch, tally
}

// candidates returns the indexes of the current facts of work that n is
// judged against: those of its subject, the same predicate first, then
// by the similarity of their statements; for a judge that costs a call,
// only the judgeNearest first.
func (m *Memory) candidates(work []Fact, n *Fact) []int {
	type scored struct {
		i     int
		same  bool
		score float32
	}
	var cs []scored
	for i := range work {
		f := &work[i]
		if !f.Current() || f.Subject != n.Subject || f.ID == n.ID {
			continue
		}
		cs = append(cs, scored{i, f.Predicate == n.Predicate, vectorindex.Cosine(f.Vector, n.Vector)})
	}
	slices.SortStableFunc(cs, func(a, b scored) int {
		if a.same != b.same {
			if a.same {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.score, a.score)
	})
	if _, rules := m.opt.Judge.(*RuleJudge); !rules && len(cs) > judgeNearest {
		cs = cs[:judgeNearest]
	}
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = c.i
	}
	return out
}

// maxSources bounds the sources a fact keeps, the latest, so that a fact
// said a thousand times costs no more to read than one said a few times.
const maxSources = 32

// mergeInto adds n's sources to e (keeping the latest maxSources), raises
// e's confidence as independent evidence would (1 - (1-a)(1-b)), and
// moves e's times forward.
func mergeInto(e, n *Fact, now time.Time) {
	for _, s := range n.Sources {
		if !slices.ContainsFunc(e.Sources, func(x Source) bool { return x.Interaction == s.Interaction }) {
			e.Sources = append(e.Sources, s)
		}
	}
	if len(e.Sources) > maxSources {
		e.Sources = slices.Clone(e.Sources[len(e.Sources)-maxSources:])
	}
	e.Confidence = 1 - (1-e.Confidence)*(1-n.Confidence)
	if n.StatedAt.After(e.StatedAt) {
		e.StatedAt = n.StatedAt
	}
	e.UpdatedAt = now
}
