package sagemaker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/awstest"
)

var payloadNames = []string{PayloadSGLang, PayloadOpenAI, PayloadTGI}

// sseEvents returns the data of each event in an SSE transcript.
func sseEvents(sse string) [][]byte {
	var out [][]byte
	for _, line := range strings.Split(sse, "\n") {
		if d, ok := strings.CutPrefix(line, "data:"); ok {
			out = append(out, []byte(strings.TrimPrefix(d, " ")))
		}
	}
	return out
}

// FuzzPayloadDecoders feeds arbitrary answers and streamed events to each
// payload's decoders: they must not panic, and an answer they accept has a
// response.
func FuzzPayloadDecoders(f *testing.F) {
	for i, sse := range []string{sglangSSE, openaiSSE, tgiSSE} {
		for _, ev := range sseEvents(sse) {
			f.Add(uint8(i), ev)
		}
	}
	f.Add(uint8(0), []byte(`{"text":"a","meta_info":{"finish_reason":"length"}}`))
	f.Add(uint8(2), []byte(`[]`))
	f.Add(uint8(1), []byte(`{"choices":[]}`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		p, err := payloadFor(payloadNames[int(which)%len(payloadNames)], "m")
		if err != nil {
			t.Fatal(err)
		}
		if a, err := p.decode(data); err == nil && a.resp == nil {
			t.Fatal("decode returned neither answer nor error")
		}
		dec := p.streamDecoder()
		for range 3 {
			_, _, _, _ = dec.event(data)
		}
	})
}

// FuzzReduceHidden feeds arbitrary hidden states to the reducer.
func FuzzReduceHidden(f *testing.F) {
	f.Add([]byte(sglangHidden), []byte(nil), int8(-1), true, uint8(0))
	f.Add([]byte(`[1,2,3]`), []byte(`[[[1,1]],[[2,2]]]`), int8(-2), false, uint8(1))
	f.Add([]byte(`[[[[1]]]]`), []byte(`null`), int8(3), true, uint8(5))
	f.Fuzz(func(t *testing.T, last, layers []byte, layer int8, mean bool, maxDim uint8) {
		cfg := HiddenStates{Layer: int(layer), Pooling: PoolLastToken, MaxDim: int(maxDim)}
		if mean {
			cfg.Pooling = PoolMean
		}
		hs, err := reduceHidden("m", cfg, rawHidden{last: last, layers: layers})
		if err != nil {
			return
		}
		if hs.Dim != len(hs.Values) || hs.Dim == 0 || (maxDim > 0 && hs.Dim > int(maxDim)) {
			t.Fatalf("reduced to dim %d with %d values (max %d)", hs.Dim, len(hs.Values), maxDim)
		}
	})
}

// FuzzResponseStream feeds arbitrary bytes, as the body of an
// InvokeEndpointWithResponseStream answer, through the SDK's event-stream
// decoder, the PayloadPart reader and the SSE and payload decoders: the
// stream must end with io.EOF or a *provider.Error, never panic or hang.
func FuzzResponseStream(f *testing.F) {
	awstest.Isolate(f)
	for i, sse := range []string{sglangSSE, openaiSSE, tgiSSE} {
		var buf bytes.Buffer
		ew := awstest.NewEventWriter(&buf)
		if err := writeParts(ew, sse, 50); err != nil {
			f.Fatal(err)
		}
		whole := buf.Bytes()
		f.Add(uint8(i), whole)
		f.Add(uint8(i), whole[:len(whole)/3])
		_ = ew.Exception("ModelStreamError", map[string]any{"Message": "boom", "ErrorCode": "x"})
		f.Add(uint8(i), buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		ct := &awstest.CannedTransport{ContentType: "application/vnd.amazon.eventstream", Body: body}
		c, err := New(context.Background(), "shadow_self", Options{
			EndpointName: testEndpoint, Region: testRegion, Endpoint: "http://sagemaker.test",
			Payload: payloadNames[int(which)%len(payloadNames)],
		}, clientOf(ct), nil)
		if err != nil {
			t.Fatal(err)
		}
		end := make(chan error, 1)
		go func() { end <- drainStream(c) }()
		select {
		case err := <-end:
			var pe *provider.Error
			if !errors.Is(err, io.EOF) && !errors.As(err, &pe) {
				t.Fatalf("stream error %v (%T) is neither io.EOF nor *provider.Error", err, err)
			}
		case <-time.After(30 * time.Second): // a hang, not a busy machine
			buf := make([]byte, 1<<20)
			t.Fatalf("stream hangs on %x\n%s", body, buf[:runtime.Stack(buf, true)])
		}
	})
}

func drainStream(c *Client) error {
	s, err := c.ChatStream(context.Background(), &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}, HiddenStates: true})
	if err != nil {
		return err
	}
	defer s.Close()
	for range 100000 {
		if _, err := s.Next(); err != nil {
			return err
		}
	}
	return errors.New("stream did not end")
}
