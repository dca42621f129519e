package sagemaker

import (
	"encoding/json"
	"fmt"

	"github.com/cato-gateway/cato/internal/llm"
)

// responseSchema reads the client's response_format as the JSON Schema
// the answer must follow: the json_schema's schema, an object for
// json_object, nil for text or none. The sglang and tgi payloads pass it
// on as constrained decoding.
func responseSchema(req *llm.Request) (json.RawMessage, error) {
	raw := req.Extra["response_format"]
	if isNull(raw) {
		return nil, nil
	}
	var f struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("response_format: %w", err)
	}
	switch f.Type {
	case "text", "":
		return nil, nil
	case "json_object":
		return json.RawMessage(`{"type":"object"}`), nil
	case "json_schema":
		if isNull(f.JSONSchema.Schema) {
			return json.RawMessage(`{}`), nil
		}
		return f.JSONSchema.Schema, nil
	}
	return nil, fmt.Errorf("response_format: type %q is not text, json_object or json_schema", f.Type)
}

// seed reads the client's seed; nil when it sent none.
func seed(req *llm.Request) (*int64, error) {
	raw := req.Extra["seed"]
	if isNull(raw) {
		return nil, nil
	}
	var s int64
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	return &s, nil
}
