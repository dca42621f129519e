package app

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

const simConfig = `
listen: 127.0.0.1:0
server: {max_body_bytes: 2048}
models:
  bedrock_haiku: {provider: simulated, price: {input_per_mtok: 0.8, output_per_mtok: 4}}
  bedrock_sonnet: {provider: simulated}
  shadow_self: {provider: simulated}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, hidden_states: shadow_self}
auth:
  admin_key_env: TEST_ADMIN_KEY
  keys:
    - {key_env: TEST_KEY_A, tenant: team-a}
`

func TestBadInput(t *testing.T) {
	base := gateway(t, simConfig, "TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin")
	auth := []string{"Authorization", "Bearer key-a"}
	tests := []struct {
		name     string
		method   string
		path     string
		body     string
		header   []string
		status   int
		code     string
		inParam  string
		contains string
	}{
		{name: "malformed JSON", body: `{"model": "auto", "messages": [`, status: 400, code: "invalid_request", contains: "not a JSON object"},
		{name: "not an object", body: `[1,2]`, status: 400, code: "invalid_request"},
		{name: "null body", body: `null`, status: 400, code: "invalid_request"},
		{name: "model missing", body: `{"messages":[{"role":"user","content":"hi"}]}`, status: 400, code: "invalid_request", inParam: "model"},
		{name: "model wrong type", body: `{"model":7,"messages":[{"role":"user","content":"hi"}]}`, status: 400, inParam: "model", contains: "expected a string"},
		{name: "messages wrong type", body: `{"model":"auto","messages":"hi"}`, status: 400, inParam: "messages"},
		{name: "empty messages", body: `{"model":"auto","messages":[]}`, status: 400, inParam: "messages", contains: "at least one"},
		{name: "bad role", body: `{"model":"auto","messages":[{"role":"robot","content":"hi"}]}`, status: 400, inParam: "messages[0].role"},
		{name: "missing content", body: `{"model":"auto","messages":[{"role":"user"}]}`, status: 400, inParam: "messages[0].content"},
		{name: "temperature out of range", body: `{"model":"auto","messages":[{"role":"user","content":"hi"}],"temperature":9}`, status: 400, inParam: "temperature"},
		{name: "stream wrong type", body: `{"model":"auto","messages":[{"role":"user","content":"hi"}],"stream":"yes"}`, status: 400, inParam: "stream"},
		{name: "unknown cato option", body: `{"model":"auto","messages":[{"role":"user","content":"hi"}],"cato":{"turbo":true}}`, status: 400, inParam: "cato"},
		{name: "oversized body", body: `{"model":"auto","messages":[{"role":"user","content":"` + strings.Repeat("x", 4096) + `"}]}`, status: 413, code: "request_too_large"},
		{name: "unknown model", body: `{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}`, status: 404, code: "model_not_found"},
		{name: "missing key", body: `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`, header: []string{}, status: 401, code: "missing_api_key"},
		{name: "invalid key", body: `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`, header: []string{"Authorization", "Bearer nope"}, status: 401, code: "invalid_api_key"},
		{name: "wrong method", method: http.MethodGet, status: 405, code: "method_not_allowed"},
		{name: "unknown path", path: "/v1/nothing", status: 404, code: "not_found"},
		{name: "session id with a C1 control", body: `{"model":"auto","session_id":"a\u0085b","messages":[{"role":"user","content":"hi"}]}`, status: 400, code: "invalid_session_id", inParam: "session_id"},
		{name: "session id with a bidi override", body: `{"model":"auto","session_id":"a\u202eb","messages":[{"role":"user","content":"hi"}]}`, status: 400, code: "invalid_session_id", inParam: "session_id"},
		{name: "session id with DEL", body: `{"model":"auto","session_id":"a\u007fb","messages":[{"role":"user","content":"hi"}]}`, status: 400, code: "invalid_session_id", inParam: "session_id"},
		{name: "query without query", path: "/api/cato/query", body: `{"session_id":"x"}`, status: 400, inParam: "query"},
		{name: "query unknown field", path: "/api/cato/query", body: `{"query":"hi","qurey":"x"}`, status: 400},
		{name: "admin with client key", method: http.MethodGet, path: "/api/admin/cato/status", status: 403, code: "not_admin"},
		{name: "admin without key", method: http.MethodGet, path: "/api/admin/cato/status", header: []string{}, status: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path, header := tt.method, tt.path, tt.header
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/v1/chat/completions"
			}
			if header == nil {
				header = auth
			}
			req, _ := http.NewRequest(method, base+path, strings.NewReader(tt.body))
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b := readAll(t, resp)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d (%s); want %d", resp.StatusCode, b, tt.status)
			}
			e := decode[errorDoc](t, b)
			if e.Error.Message == "" || e.Error.Type == "" {
				t.Errorf("body = %s; want OpenAI's error shape", b)
			}
			if tt.code != "" && (e.Error.Code == nil || *e.Error.Code != tt.code) {
				t.Errorf("code = %v; want %q (body %s)", e.Error.Code, tt.code, b)
			}
			if tt.inParam != "" && (e.Error.Param == nil || !strings.HasPrefix(*e.Error.Param, tt.inParam)) {
				t.Errorf("param = %v; want %q (body %s)", e.Error.Param, tt.inParam, b)
			}
			if tt.contains != "" && !strings.Contains(e.Error.Message, tt.contains) {
				t.Errorf("message = %q; want it to contain %q", e.Error.Message, tt.contains)
			}
		})
	}
}

// errorDoc is OpenAI's error document.
type errorDoc struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Code    *string `json:"code"`
		Param   *string `json:"param"`
	} `json:"error"`
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAuthenticatedRequestsAndAdmin(t *testing.T) {
	base := gateway(t, simConfig, "TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin")
	resp, body := post(t, base+"/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"What is 2+2?"}]}`, "Authorization", "Bearer key-a")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"content":"4`) {
		t.Fatalf("status %d body %s; want 200 with the answer 4", resp.StatusCode, body)
	}
	st := decode[struct {
		Requests  int64 `json:"requests"`
		LatencyMS struct {
			P50, P99 float64
		} `json:"latency_ms"`
		Models map[string]struct {
			Requests int64   `json:"requests"`
			CostUSD  float64 `json:"cost_usd"`
		} `json:"models"`
	}](t, adminGet(t, base+"/api/admin/cato/status"))
	if st.Requests < 1 || st.LatencyMS.P99 <= 0 {
		t.Errorf("status = %+v; want at least one request with a latency", st)
	}
	if st.Models["bedrock_haiku"].Requests != 1 {
		t.Errorf("status models = %+v; want one bedrock_haiku request", st.Models)
	}
}
