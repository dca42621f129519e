package bedrock

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider/awstest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func testModel(api string) Options {
	return Options{ModelID: testModelID, Region: testRegion, Endpoint: "http://bedrock.test", API: api}
}

func clientOf(rt http.RoundTripper) *http.Client { return &http.Client{Transport: rt} }

// cannedClient returns a client whose calls all get answer.
func cannedClient(t testing.TB, api, contentType string, answer []byte) (*Client, *awstest.CannedTransport) {
	t.Helper()
	awstest.Isolate(t)
	ct := &awstest.CannedTransport{ContentType: contentType, Body: answer}
	c, err := New(context.Background(), "bedrock_haiku", testModel(api), clientOf(ct), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, ct
}

const (
	okConverse = `{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}`
	okInvoke   = `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}`
)

// TestGoldenRequests translates each testdata/requests/*.json (an
// llm.Request) into the Converse and InvokeModel bodies the SDK sends, and
// compares them with the .golden file beside it.
func TestGoldenRequests(t *testing.T) {
	files, _ := filepath.Glob("testdata/requests/*.json")
	if len(files) == 0 {
		t.Fatal("no golden requests found")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var req llm.Request
			if err := json.Unmarshal(raw, &req); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			got := map[string]json.RawMessage{}
			for api, answer := range map[string]string{APIConverse: okConverse, APIInvoke: okInvoke} {
				c, ct := cannedClient(t, api, "application/json", []byte(answer))
				if _, err := c.Chat(context.Background(), &req); err != nil {
					msg, _ := json.Marshal(err.Error())
					got["error"] = msg
					continue
				}
				got[api] = ct.Sent()
			}
			compareGolden(t, strings.TrimSuffix(file, ".json")+".golden", got)
		})
	}
}

// TestGoldenAnswers translates each testdata/answers/*.json (a Bedrock
// answer for the API its name starts with) into an llm.Response and
// compares it with the .golden file beside it.
func TestGoldenAnswers(t *testing.T) {
	files, _ := filepath.Glob("testdata/answers/*.json")
	if len(files) == 0 {
		t.Fatal("no golden answers found")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			api, _, _ := strings.Cut(name, "_")
			c, _ := cannedClient(t, api, "application/json", raw)
			resp, err := c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}})
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, strings.TrimSuffix(file, ".json")+".golden", resp)
		})
	}
}

// compareGolden compares v, as indented JSON, with the golden file, or
// rewrites the file under -update.
func compareGolden(t *testing.T, golden string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", golden, diff)
	}
}
