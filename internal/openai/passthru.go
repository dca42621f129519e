package openai

// Rewrite is what Cato changes in an OpenAI-compatible upstream's answer
// or chunk that it passes on to the client; everything else is passed on
// exactly as the upstream sent it (docs/api.md lists the changes).
type Rewrite struct {
	// ID replaces the document's id.
	ID string
	// Model replaces the document's model, unless KeepModel is set and
	// the document has one.
	Model     string
	KeepModel bool
	// DropUsage removes the usage member (a stream whose client did not
	// ask for usage).
	DropUsage bool
	// Cato, when not nil, is the JSON of Cato's "cato" object, written as
	// the last member. An upstream's own "cato" member is always dropped.
	Cato []byte
}

// AppendRewritten appends to dst the JSON object doc with w's changes:
// doc's members in doc's order, each exactly as sent, but for those w
// replaces or drops; an id or model doc lacks is added. doc must be valid
// JSON (the caller has decoded it). It reports false, leaving dst as it
// was, when doc is not an object.
func AppendRewritten(dst, doc []byte, w *Rewrite) ([]byte, bool) {
	start := len(dst)
	dst = append(dst, '{')
	first := true
	member := func(key []byte) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, string(key))
		dst = append(dst, ':')
	}
	var sawID, sawModel bool
	ok := eachMember(doc, func(k, v []byte) {
		switch string(k) {
		case "id":
			if sawID {
				return
			}
			sawID = true
			member(k)
			dst = appendJSONString(dst, w.ID)
			return
		case "model":
			if sawModel {
				return
			}
			sawModel = true
			member(k)
			if w.KeepModel {
				dst = append(dst, v...)
			} else {
				dst = appendJSONString(dst, w.Model)
			}
			return
		case "usage":
			if w.DropUsage {
				return
			}
		case "cato":
			return
		}
		member(k)
		dst = append(dst, v...)
	})
	if !ok {
		return dst[:start], false
	}
	if !sawID {
		member([]byte("id"))
		dst = appendJSONString(dst, w.ID)
	}
	if !sawModel {
		member([]byte("model"))
		dst = appendJSONString(dst, w.Model)
	}
	if w.Cato != nil {
		member([]byte("cato"))
		dst = append(dst, w.Cato...)
	}
	return append(dst, '}'), true
}

// HasChoices reports whether the JSON object doc has a non-empty choices
// array: a chunk that carries only usage has none.
func HasChoices(doc []byte) bool {
	has := false
	eachMember(doc, func(k, v []byte) {
		if string(k) == "choices" {
			i := skipSpace(v, 0)
			has = i < len(v) && v[i] == '[' && skipSpace(v, i+1) < len(v) && v[skipSpace(v, i+1)] != ']'
		}
	})
	return has
}
