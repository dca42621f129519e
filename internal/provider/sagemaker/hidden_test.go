package sagemaker

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/llm"
)

func TestReduceHidden(t *testing.T) {
	layers := `[[[1,1],[2,2]], [[3,3],[5,5]], [[7,7],[9,9]]]`
	tests := []struct {
		name    string
		cfg     HiddenStates
		last    string
		layers  string
		want    *llm.HiddenStates
		wantErr string
	}{
		{name: "one vector", last: `[1,2,3]`,
			want: &llm.HiddenStates{Model: "m", Layer: -1, Pooling: "last_token", Dim: 3, Values: []float32{1, 2, 3}}},
		{name: "matrix last token", cfg: HiddenStates{Layer: -1, Pooling: "last_token"}, last: `[[1,2],[3,4]]`,
			want: &llm.HiddenStates{Model: "m", Layer: -1, Pooling: "last_token", Dim: 2, Values: []float32{3, 4}}},
		{name: "matrix mean", cfg: HiddenStates{Pooling: "mean"}, last: `[[1,2],[3,4]]`,
			want: &llm.HiddenStates{Model: "m", Layer: -1, Pooling: "mean", Dim: 2, Values: []float32{2, 3}}},
		{name: "sglang prompt matrix then token vectors", cfg: HiddenStates{Pooling: "mean"}, last: sglangHidden,
			want: &llm.HiddenStates{Model: "m", Layer: -1, Pooling: "mean", Dim: 3, Values: []float32{4, 5, 6}}},
		{name: "max dim", cfg: HiddenStates{MaxDim: 2}, last: `[1,2,3,4]`,
			want: &llm.HiddenStates{Model: "m", Layer: -1, Pooling: "last_token", Dim: 2, Values: []float32{1, 2}}},
		{name: "max dim above size", cfg: HiddenStates{MaxDim: 10}, last: `[1,2]`,
			want: &llm.HiddenStates{Model: "m", Layer: -1, Pooling: "last_token", Dim: 2, Values: []float32{1, 2}}},
		{name: "layer from the end", cfg: HiddenStates{Layer: -2, Pooling: "mean"}, layers: layers,
			want: &llm.HiddenStates{Model: "m", Layer: -2, Pooling: "mean", Dim: 2, Values: []float32{4, 4}}},
		{name: "layer from the start", cfg: HiddenStates{Layer: 1}, layers: layers, last: `[0,0]`,
			want: &llm.HiddenStates{Model: "m", Layer: 1, Pooling: "last_token", Dim: 2, Values: []float32{5, 5}}},
		{name: "last layer from layers", layers: layers,
			want: &llm.HiddenStates{Model: "m", Layer: -1, Pooling: "last_token", Dim: 2, Values: []float32{9, 9}}},
		{name: "layer not returned", cfg: HiddenStates{Layer: -3}, last: `[1]`, wantErr: "only the last layer"},
		{name: "layer out of range", cfg: HiddenStates{Layer: 5}, layers: layers, wantErr: "returned 3 layers"},
		{name: "mixed sizes", last: `[[1,2],[3]]`, wantErr: "mix vectors"},
		{name: "empty", last: `[]`, wantErr: "empty"},
		{name: "not numbers", last: `{"a":1}`, wantErr: "not arrays of numbers"},
		{name: "strings", last: `["x"]`, wantErr: "not arrays of numbers"},
		{name: "too deep", last: `[[[[[[[1]]]]]]]`, wantErr: "too deep"},
		{name: "bad pooling", cfg: HiddenStates{Pooling: "max"}, last: `[1]`, wantErr: "pooling"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reduceHidden("m", tt.cfg, rawHidden{last: json.RawMessage(tt.last), layers: json.RawMessage(tt.layers)})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("reduceHidden = %v, %v; want an error mentioning %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("reduceHidden (-want +got):\n%s", diff)
			}
		})
	}
}
