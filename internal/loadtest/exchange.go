package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Limits on what is read from one answer.
const (
	maxAnswerBytes = 16 << 20 // a non-streamed body
	maxEventBytes  = 4 << 20  // one SSE line
	maxErrorBytes  = 64 << 10 // an error body, read only to reuse the connection
)

// exchanger sends one request and measures its answer. It is safe for
// concurrent use.
type exchanger struct {
	base    string        // target URL, no trailing slash
	timeout time.Duration // per request, from sending to the end of the answer
	extras  bool          // send X-Cato-Session
	// answers asks for the text of each answer (client-side history).
	answers bool
}

// answerMeta is what is read from an answer's body: Cato's extras when its
// headers are missing, and the text for client-side history.
type answerMeta struct {
	Model    string `json:"model"`
	Cached   *bool  `json:"cached"`   // /api/cato/query
	Response string `json:"response"` // /api/cato/query
	Choices  []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
	Cato *struct {
		Model  string `json:"model"`
		Cached *bool  `json:"cached"`
	} `json:"cato"`
}

// apply fills the sample's model and cache outcome from m where the headers
// said nothing.
func (m *answerMeta) apply(s *sample) {
	var cached *bool
	model := m.Model
	if m.Cato != nil {
		cached = m.Cato.Cached
		if m.Cato.Model != "" {
			model = m.Cato.Model
		}
	}
	if m.Cached != nil {
		cached = m.Cached
	}
	if s.model == "" {
		s.model = model
	}
	if s.cache == "" && cached != nil {
		s.cache = cacheMiss
		if *cached {
			s.cache = cacheHit
		}
	}
}

// do sends r and returns its measurement and, when x.answers is set, the
// answer's text. intended is when r was due. runCtx is the run's context;
// the request gets x.timeout on top of it.
func (x *exchanger) do(runCtx context.Context, c *http.Client, r *request, intended time.Time) (s sample, answer string) {
	s.intended = intended
	ctx, cancel := context.WithTimeout(runCtx, x.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.base+r.path, bytes.NewReader(r.body))
	if err != nil {
		s.sent, s.end, s.errKind = time.Now(), time.Now(), errOther
		return s, ""
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cato-loadtest")
	if r.stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if r.key != "" {
		req.Header.Set("Authorization", "Bearer "+r.key)
	}
	if r.sess != nil && x.extras {
		req.Header.Set("X-Cato-Session", r.sess.id)
	}

	s.sent = time.Now()
	resp, err := c.Do(req)
	if err != nil {
		s.end, s.errKind = time.Now(), classify(runCtx, err)
		return s, ""
	}
	defer resp.Body.Close()
	s.status = resp.StatusCode
	s.model = resp.Header.Get("X-Cato-Model")
	s.side = resp.Header.Get("X-Cato-Side")
	s.cache = resp.Header.Get("X-Cato-Cache")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBytes))
		s.end, s.errKind = time.Now(), statusKind(resp.StatusCode)
		return s, ""
	}
	if r.stream && isEventStream(resp.Header) {
		s.stream = true
		answer, err = x.readStream(resp.Body, &s)
	} else {
		answer, err = x.readBody(resp.Body, &s)
	}
	s.end = time.Now()
	switch {
	case errors.Is(err, errTruncated):
		s.errKind = errStreamTruncated
	case err != nil:
		s.errKind = classify(runCtx, err)
	}
	return s, answer
}

func isEventStream(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/event-stream"
}

// readBody reads a whole answer, parsing it only when something is needed
// from it.
func (x *exchanger) readBody(body io.Reader, s *sample) (string, error) {
	if !x.answers && s.model != "" && s.cache != "" {
		_, err := io.Copy(io.Discard, body)
		return "", err
	}
	data, err := io.ReadAll(io.LimitReader(body, maxAnswerBytes))
	if err != nil {
		return "", err
	}
	var m answerMeta
	if json.Unmarshal(data, &m) != nil {
		return "", nil // not JSON we know: nothing to learn, still an answer
	}
	m.apply(s)
	if m.Response != "" {
		return m.Response, nil
	}
	if len(m.Choices) > 0 {
		return m.Choices[0].Message.Content, nil
	}
	return "", nil
}

// errTruncated is returned by readStream when a stream ends without
// "data: [DONE]".
var errTruncated = errors.New("stream ended without [DONE]")

var (
	dataPrefix = []byte("data:")
	doneMarker = []byte("[DONE]")
	catoField  = []byte(`"cato"`)
)

// readStream reads a server-sent event stream of chat completion chunks,
// timing each data event.
func (x *exchanger) readStream(body io.Reader, s *sample) (string, error) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 4096), maxEventBytes)
	var (
		text  strings.Builder
		last  time.Time
		first = true
		done  bool
	)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, dataPrefix) {
			continue // comments, event names, blank separators
		}
		data := bytes.TrimSpace(line[len(dataPrefix):])
		now := time.Now()
		if first {
			s.ttfb = now.Sub(s.intended)
			first = false
		} else {
			s.gaps = append(s.gaps, now.Sub(last))
		}
		last = now
		if bytes.Equal(data, doneMarker) {
			done = true
			continue
		}
		if x.answers || s.model == "" || (s.cache == "" && bytes.Contains(data, catoField)) {
			var m answerMeta
			if json.Unmarshal(data, &m) == nil {
				m.apply(s)
				if len(m.Choices) > 0 {
					text.WriteString(m.Choices[0].Delta.Content)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if !done {
		return "", errTruncated
	}
	return text.String(), nil
}
