package use

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Model dimensions of Universal Sentence Encoder lite. The weights file and
// the TF.js reader check them; the forward pass relies on them.
const (
	embedDim   = 256  // token embedding width, layer 0's input
	modelDim   = 512  // width of the residual stream after layer 0
	ffnDim     = 1536 // inner width of both feed-forward blocks
	numHeads   = 4    // attention heads in both layers
	outDim     = 512  // sentence vector length
	vocabSize  = 8000 // SentencePiece pieces
	embedRows  = 8002 // rows of the embedding table (vocabSize + 2 unused)
	timingDims = embedDim / 2
	// MaxTokens is how many tokens of a text the model reads; the rest of a
	// longer text is ignored, as in the original graph (ClipToMaxLength).
	MaxTokens = 128
)

// Weights holds every parameter of the model as float32, by role. Matrices
// are stored output-major: a matrix from n inputs to m outputs is m rows of n
// values, so that row r holds the weights of output r (one output channel).
// Weights is what the TF.js reader produces and what the weights file
// decodes to; the forward pass repacks it.
type Weights struct {
	// quant holds the int8 form of the tensors the weights file stores as
	// Int8Rows, by name, so that the forward pass can keep them int8.
	quant map[string]quantTensor

	Vocab     []Piece   // the SentencePiece vocabulary, by id
	Embedding []float32 // embedRows × embedDim
	Timing    []float32 // timingDims inverse timescales of the timing signal
	Layers    [2]LayerWeights
	Tanh      []float32 // outDim × modelDim
	TanhBias  []float32 // outDim
}

// quantTensor is a tensor as int8 rows (bytes read as int8) with one scale
// per row.
type quantTensor struct {
	q      []byte
	scales []float32
}

// Piece is one SentencePiece vocabulary entry.
type Piece struct {
	Text  string
	Score float64
}

// LayerWeights are the parameters of one transformer layer. Layer 0 reads
// embedDim values per token and writes modelDim (Residual projects its input
// for the residual connection); layer 1 reads and writes modelDim.
type LayerWeights struct {
	In                      int       // input width: embedDim or modelDim
	QScale                  float32   // query scale, 1/sqrt(head width)
	AttnNormScale, AttnNorm []float32 // layer norm before attention: scale, bias (In)
	QKV, QKVBias            []float32 // 3·In × In, 3·In
	Out, OutBias            []float32 // modelDim × In, modelDim
	Residual, ResidualBias  []float32 // modelDim × In, modelDim; nil when In == modelDim
	FFNNormScale, FFNNorm   []float32 // layer norm before the feed-forward block (modelDim)
	FFN1, FFN1Bias          []float32 // ffnDim × modelDim, ffnDim
	FFN2, FFN2Bias          []float32 // modelDim × ffnDim, modelDim
}

// Tensor names one parameter: its name in the weights file, its shape
// (rows × cols; vectors have one row) and where it lives in a Weights.
type Tensor struct {
	Name       string
	Rows, Cols int
	Data       *[]float32
}

// IsMatrix reports whether t is a weight matrix (as opposed to a bias,
// a layer-norm parameter or another vector).
func (t Tensor) IsMatrix() bool { return t.Rows > 1 }

// Tensors lists every float parameter of w in file order, with pointers into
// w, so that the writer, the reader and the converter share one mapping.
func (w *Weights) Tensors() []Tensor {
	ts := []Tensor{
		{"embedding", embedRows, embedDim, &w.Embedding},
		{"timing", 1, timingDims, &w.Timing},
	}
	for i := range w.Layers {
		l := &w.Layers[i]
		p := fmt.Sprintf("layer%d.", i)
		ts = append(ts,
			Tensor{p + "attn_norm.scale", 1, l.In, &l.AttnNormScale},
			Tensor{p + "attn_norm.bias", 1, l.In, &l.AttnNorm},
			Tensor{p + "qkv", 3 * l.In, l.In, &l.QKV},
			Tensor{p + "qkv.bias", 1, 3 * l.In, &l.QKVBias},
			Tensor{p + "out", modelDim, l.In, &l.Out},
			Tensor{p + "out.bias", 1, modelDim, &l.OutBias},
		)
		if l.In != modelDim {
			ts = append(ts,
				Tensor{p + "residual", modelDim, l.In, &l.Residual},
				Tensor{p + "residual.bias", 1, modelDim, &l.ResidualBias},
			)
		}
		ts = append(ts,
			Tensor{p + "ffn_norm.scale", 1, modelDim, &l.FFNNormScale},
			Tensor{p + "ffn_norm.bias", 1, modelDim, &l.FFNNorm},
			Tensor{p + "ffn1", ffnDim, modelDim, &l.FFN1},
			Tensor{p + "ffn1.bias", 1, ffnDim, &l.FFN1Bias},
			Tensor{p + "ffn2", modelDim, ffnDim, &l.FFN2},
			Tensor{p + "ffn2.bias", 1, modelDim, &l.FFN2Bias},
		)
	}
	return append(ts,
		Tensor{"tanh", outDim, modelDim, &w.Tanh},
		Tensor{"tanh.bias", 1, outDim, &w.TanhBias},
	)
}

// newWeights returns Weights with the fixed layer geometry of the model and
// no parameters yet.
func newWeights() *Weights {
	w := &Weights{}
	w.Layers[0].In, w.Layers[1].In = embedDim, modelDim
	for i := range w.Layers {
		w.Layers[i].QScale = float32(1 / math.Sqrt(float64(w.Layers[i].In/numHeads)))
	}
	return w
}

// Encoding is how the weights file stores one tensor.
type Encoding uint8

const (
	// Float32 stores the values as they are.
	Float32 Encoding = iota
	// Int8Rows stores each row as int8 with its own float32 scale
	// (max |value| / 127): for a weight matrix, one scale per output channel.
	Int8Rows
	// Float16 stores IEEE half-precision values.
	Float16
)

func (e Encoding) String() string {
	switch e {
	case Float32:
		return "float32"
	case Int8Rows:
		return "int8 per row"
	case Float16:
		return "float16"
	}
	return fmt.Sprintf("Encoding(%d)", uint8(e))
}

// weightsMagic starts every weights file; the digit is the format version.
const weightsMagic = "CATOUSE1"

// WriteWeights writes w in the weights file format, each tensor in the
// encoding enc chooses for it. The output is deterministic.
func WriteWeights(out io.Writer, w *Weights, enc func(Tensor) Encoding) error {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString(weightsMagic)
	ts := w.Tensors()
	b.Write(le.AppendUint32(nil, uint32(len(ts))))
	for _, t := range ts {
		data := *t.Data
		if len(data) != t.Rows*t.Cols {
			return fmt.Errorf("tensor %s: %d values, want %d×%d", t.Name, len(data), t.Rows, t.Cols)
		}
		e := enc(t)
		b.WriteByte(byte(len(t.Name)))
		b.WriteString(t.Name)
		b.WriteByte(byte(e))
		b.Write(le.AppendUint32(nil, uint32(t.Rows)))
		b.Write(le.AppendUint32(nil, uint32(t.Cols)))
		switch e {
		case Float32:
			for _, x := range data {
				b.Write(le.AppendUint32(nil, math.Float32bits(x)))
			}
		case Float16:
			for _, x := range data {
				b.Write(le.AppendUint16(nil, float32ToHalf(x)))
			}
		case Int8Rows:
			q := make([]byte, len(data))
			for r := range t.Rows {
				scale := quantizeRow(q[r*t.Cols:(r+1)*t.Cols], data[r*t.Cols:(r+1)*t.Cols])
				b.Write(le.AppendUint32(nil, math.Float32bits(scale)))
			}
			b.Write(q)
		default:
			return fmt.Errorf("tensor %s: unknown encoding %d", t.Name, e)
		}
	}
	b.Write(le.AppendUint32(nil, uint32(len(w.Vocab))))
	for _, p := range w.Vocab {
		if len(p.Text) > 255 {
			return fmt.Errorf("vocabulary piece of %d bytes", len(p.Text))
		}
		b.WriteByte(byte(len(p.Text)))
		b.WriteString(p.Text)
		b.Write(le.AppendUint64(nil, math.Float64bits(p.Score)))
	}
	_, err := out.Write(b.Bytes())
	return err
}

// quantizeRow writes row as int8 into q and returns the scale: value ≈
// q·scale. The scale is the one, among max|value|/127 shrunk by up to 30%
// in steps of 0.5%, that minimises the row's squared rounding error:
// clipping a few outliers buys finer steps for every other value.
func quantizeRow(q []byte, row []float32) float32 {
	var m float32
	for _, x := range row {
		m = max(m, float32(math.Abs(float64(x))))
	}
	if m == 0 {
		clear(q)
		return 1
	}
	best, bestErr := m/127, math.Inf(1)
	for step := range 61 {
		scale := m * float32(1-0.005*float64(step)) / 127
		var e float64
		for _, x := range row {
			d := float64(x) - quantize(x, scale)*float64(scale)
			e += d * d
		}
		if e < bestErr {
			best, bestErr = scale, e
		}
	}
	for i, x := range row {
		q[i] = byte(int8(quantize(x, best)))
	}
	return best
}

func quantize(x, scale float32) float64 {
	return max(-127, min(127, math.Round(float64(x/scale))))
}

// ParseWeights decodes a weights file into float32 parameters (dequantising
// int8 and float16 tensors). The int8 tensors also stay available in their
// int8 form, which refers to b: b must not change afterwards.
func ParseWeights(b []byte) (*Weights, error) {
	return parseWeights(b, true)
}

// parseWeights is ParseWeights; without dequantise, the float32 data of
// int8 tensors is left nil (the forward pass reads their int8 form).
func parseWeights(b []byte, dequantise bool) (*Weights, error) {
	w := newWeights()
	w.quant = map[string]quantTensor{}
	r := reader{b: b}
	if string(r.bytes(len(weightsMagic))) != weightsMagic {
		return nil, errors.New("not a sentence-encoder weights file")
	}
	ts := w.Tensors()
	if n := r.u32(); r.err == nil && int(n) != len(ts) {
		return nil, fmt.Errorf("weights file has %d tensors, want %d", n, len(ts))
	}
	for _, t := range ts {
		name := string(r.bytes(int(r.u8())))
		enc := Encoding(r.u8())
		rows, cols := int(r.u32()), int(r.u32())
		if r.err != nil {
			break
		}
		if name != t.Name || rows != t.Rows || cols != t.Cols {
			return nil, fmt.Errorf("weights file has tensor %s %d×%d where %s %d×%d belongs", name, rows, cols, t.Name, t.Rows, t.Cols)
		}
		var data []float32
		if enc != Int8Rows || dequantise {
			data = make([]float32, rows*cols)
		}
		switch enc {
		case Float32:
			for i := range data {
				data[i] = math.Float32frombits(r.u32())
			}
		case Float16:
			for i := range data {
				data[i] = halfToFloat32(r.u16())
			}
		case Int8Rows:
			scales := make([]float32, rows)
			for i := range scales {
				scales[i] = math.Float32frombits(r.u32())
			}
			q := r.bytes(rows * cols)
			if r.err != nil {
				break
			}
			if data != nil {
				dequantiseRows(data, q, scales)
			}
			w.quant[name] = quantTensor{q, scales}
		default:
			return nil, fmt.Errorf("tensor %s: unknown encoding %d", name, enc)
		}
		*t.Data = data
	}
	n := int(r.u32())
	if r.err == nil && n != vocabSize {
		return nil, fmt.Errorf("weights file has %d vocabulary pieces, want %d", n, vocabSize)
	}
	if r.err == nil {
		w.Vocab = make([]Piece, n)
		for i := range w.Vocab {
			w.Vocab[i].Text = string(r.bytes(int(r.u8())))
			w.Vocab[i].Score = math.Float64frombits(r.u64())
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("weights file: %w", r.err)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("weights file: %d bytes after the vocabulary", len(r.b))
	}
	return w, nil
}

// dequantiseRows writes q (int8 rows, one scale each) to dst as float32.
func dequantiseRows(dst []float32, q []byte, scales []float32) {
	cols := len(q) / len(scales)
	for i, v := range q {
		dst[i] = float32(int8(v)) * scales[i/cols]
	}
}

// reader consumes a byte slice, remembering the first short read.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = io.ErrUnexpectedEOF
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u8() uint8 {
	if p := r.bytes(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if p := r.bytes(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if p := r.bytes(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if p := r.bytes(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

// float32ToHalf rounds x to the nearest IEEE half (ties to even).
func float32ToHalf(x float32) uint16 {
	b := math.Float32bits(x)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case b&0x7fffffff >= 0x7f800000: // Inf, NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp >= 31:
		return sign | 0x7c00
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		h := mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // may carry into the exponent, which is still correct
	}
	return sign | uint16(h)
}

// halfToFloat32 widens an IEEE half exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h >> 10 & 0x1f)
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		f := float32(mant) / (1 << 24)
		if sign != 0 {
			return -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
