package sagemaker

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cato-gateway/cato/internal/llm"
)

// HiddenStates says how the hidden states a container returns are reduced
// to one vector. The zero value takes the last layer's last token, whole.
type HiddenStates struct {
	// Layer is the layer to return; negative counts from the last. Zero
	// means -1, the last layer.
	Layer int
	// Pooling reduces per-token states to one vector: PoolLastToken or
	// PoolMean. Empty means PoolLastToken.
	Pooling string
	// MaxDim truncates the vector; zero means no cap.
	MaxDim int
}

// Pooling methods of HiddenStates.Pooling.
const (
	PoolLastToken = "last_token"
	PoolMean      = "mean"
)

// maxNesting bounds how deep hidden-state arrays may nest: SGLang sends at
// most a list of matrices.
const maxNesting = 4

// reduceHidden turns the hidden states a container sent into one vector:
// it picks cfg.Layer (negative counts from the last; -1, the default, is
// the last layer, which is all SGLang returns; zero means -1), pools the per-token states
// (last_token, the default, or mean) and truncates to cfg.MaxDim when that
// is set.
func reduceHidden(model string, cfg HiddenStates, h rawHidden) (*llm.HiddenStates, error) {
	layer := cfg.Layer
	if layer == 0 {
		layer = -1 // the zero value means the default
	}
	raw := h.last
	if layer != -1 || isNull(raw) {
		if isNull(h.layers) {
			return nil, fmt.Errorf("layer %d asked for, but the endpoint returned only the last layer (meta_info.hidden_states)", layer)
		}
		var layers []json.RawMessage
		if err := json.Unmarshal(h.layers, &layers); err != nil {
			return nil, fmt.Errorf("hidden_states_layers: %w", err)
		}
		i := layer
		if i < 0 {
			i += len(layers)
		}
		if i < 0 || i >= len(layers) {
			return nil, fmt.Errorf("layer %d asked for, but the endpoint returned %d layers", layer, len(layers))
		}
		raw = layers[i]
	}
	tokens, err := tokenStates(raw, 0)
	if err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		return nil, errors.New("hidden states are empty")
	}
	dim := len(tokens[0])
	for _, t := range tokens {
		if len(t) != dim || dim == 0 {
			return nil, fmt.Errorf("hidden states mix vectors of %d and %d values", dim, len(t))
		}
	}
	pooling := cfg.Pooling
	if pooling == "" {
		pooling = PoolLastToken
	}
	var v []float32
	switch pooling {
	case PoolLastToken:
		v = append([]float32(nil), tokens[len(tokens)-1]...)
	case PoolMean:
		sum := make([]float64, dim)
		for _, t := range tokens {
			for i, x := range t {
				sum[i] += float64(x)
			}
		}
		v = make([]float32, dim)
		for i := range sum {
			v[i] = float32(sum[i] / float64(len(tokens)))
		}
	default:
		return nil, fmt.Errorf("pooling %q is not last_token or mean", pooling)
	}
	if cfg.MaxDim > 0 && len(v) > cfg.MaxDim {
		v = v[:cfg.MaxDim]
	}
	return &llm.HiddenStates{Model: model, Layer: layer, Pooling: pooling, Dim: len(v), Values: v}, nil
}

// tokenStates flattens hidden states into one vector per token: a vector
// is one token, a matrix is one row per token, and a list of vectors and
// matrices (SGLang: the prompt's matrix, then one vector per generated
// token) is their concatenation.
func tokenStates(raw json.RawMessage, depth int) ([][]float32, error) {
	if depth > maxNesting {
		return nil, errors.New("hidden states nest too deep")
	}
	var vec []float32
	if err := json.Unmarshal(raw, &vec); err == nil {
		if len(vec) == 0 {
			return nil, nil
		}
		return [][]float32{vec}, nil
	}
	var mat [][]float32
	if err := json.Unmarshal(raw, &mat); err == nil {
		return mat, nil
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, fmt.Errorf("hidden states are not arrays of numbers: %w", err)
	}
	var out [][]float32
	for _, p := range parts {
		t, err := tokenStates(p, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, t...)
	}
	return out, nil
}
