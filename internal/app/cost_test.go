package app

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRoundUSD(t *testing.T) {
	tests := []struct {
		usd  float64
		want string // as encoding/json writes it
	}{
		{(7*0.80 + 5*4.00) / 1e6, "0.0000256"}, // 0.000025600000000000002 unrounded
		{0.1 + 0.2, "0.3"},
		{0.25 / 1e6, "2.5e-7"}, // one Claude 3 Haiku input token survives
		{4e-10, "0"},
		{0, "0"},
		{12.3456789012, "12.345678901"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(roundUSD(tt.usd))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("roundUSD(%v) encodes as %s; want %s", tt.usd, b, tt.want)
		}
	}
}

// TestCostWithoutFloatNoise asks the simulated bedrock_haiku (0.80 and
// 4.00 USD per million tokens) a question of 7 prompt and 5 completion
// tokens: its cost is 0.0000256 in the answer and in /status, digit for
// digit.
func TestCostWithoutFloatNoise(t *testing.T) {
	base := gateway(t, simConfig, "TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin")
	_, b := post(t, base+"/v1/chat/completions", `{"model": "auto", "messages": [{"role": "user", "content": "What is 2+2?"}]}`, "Authorization", "Bearer key-a")
	if !strings.Contains(string(b), `"cost_usd":0.0000256,`) {
		t.Errorf("answer %s; want cost_usd 0.0000256", b)
	}
	_, b = post(t, base+"/api/cato/query", `{"query": "What is 3+3?"}`, "Authorization", "Bearer key-a")
	if !strings.Contains(string(b), `"cost_usd":0.0000256`) {
		t.Errorf("query answer %s; want cost_usd 0.0000256", b)
	}
}
