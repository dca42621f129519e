package feedback

// Satisfaction sums the ratings of one side or one model. Its JSON is the
// contract of /status: {"ratings", "positive", "neutral", "negative",
// "negative_share"}.
type Satisfaction struct {
	Ratings  uint64 `json:"ratings"`
	Positive uint64 `json:"positive"`
	Neutral  uint64 `json:"neutral"`
	Negative uint64 `json:"negative"`
	// NegativeShare is Negative/Ratings, 0 without ratings.
	NegativeShare float64 `json:"negative_share"`
}

// add counts n ratings with verdict v.
func (s *Satisfaction) add(v Verdict, n uint64) {
	switch v {
	case Positive:
		s.Positive += n
	case Neutral:
		s.Neutral += n
	case Negative:
		s.Negative += n
	default:
		return
	}
	s.Ratings += n
	s.NegativeShare = float64(s.Negative) / float64(s.Ratings)
}

// Summary is satisfaction per side ("new", "legacy": both always present)
// and per model.
type Summary struct {
	Sides  map[string]Satisfaction
	Models map[string]Satisfaction
}

// Summarize sums counts per side and per model.
func Summarize(counts []Count) Summary {
	s := Summary{
		Sides:  map[string]Satisfaction{SideNew: {}, SideLegacy: {}},
		Models: map[string]Satisfaction{},
	}
	for _, c := range counts {
		if c.N == 0 {
			continue
		}
		if side, ok := s.Sides[c.Side]; ok {
			side.add(c.Verdict, c.N)
			s.Sides[c.Side] = side
		}
		m := s.Models[c.Model]
		m.add(c.Verdict, c.N)
		s.Models[c.Model] = m
	}
	return s
}
