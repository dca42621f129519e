package use

import (
	"fmt"
	"math"
)

// Constants of the original graph; ReadTFJS checks them against model.json.
const (
	layerNormEpsilon = float32(1e-6)
	minSquaredNorm   = float32(1e-12) // floor of the L2 norm's square
)

// model is the forward pass of Universal Sentence Encoder lite with its
// parameters, immutable once built and safe for concurrent use. Each call
// brings its own scratch.
//
// The computation follows the TF.js graph op by op, in float32: token
// embedding e added twice plus a sinusoidal timing signal (e + (e + t)),
// then two pre-norm transformer layers, each
//
//	y = attention(norm(x)) + residual(x);  y = ffn(norm(y)) + y
//
// (layer 0's residual projects 256 → 512; layer 1's is the identity), the
// mean over the sentence's tokens, a 512 → 512 tanh layer and L2
// normalisation. Sentences never see each other: attention runs within a
// sentence, so a batch gives each sentence the vector it would get alone.
type model struct {
	tok       *Tokenizer
	embedding []float32   // embedRows × embedDim, or nil when int8:
	embedQ    quantTensor // the embedding as int8 rows (2 MB rather than 8)
	timing    []float32   // MaxTokens × embedDim: sin then cos of position × inverse timescale
	layers    [2]layer
	tanh      *matrix
	tanhBias  []float32
	kernel    kernelKind // the matrix kernel: bestKernel, or another in tests
}

type layer struct {
	in, headDim                 int
	qScale                      float32
	attnNormScale, attnNormBias []float32
	qkv, out, residual          *matrix // residual is nil in layer 1
	qkvBias, outBias, resBias   []float32
	ffnNormScale, ffnNormBias   []float32
	ffn1, ffn2                  *matrix
	ffn1Bias, ffn2Bias          []float32
}

// newModel packs w for the forward pass, keeping int8 weight matrices
// int8 (their float32 data may be nil). w must not change afterwards.
func newModel(w *Weights) *model {
	pack := func(name string, v []float32, n, k int) *matrix {
		if q, ok := w.quant[name]; ok {
			return packQuantized(q.q, q.scales, n, k)
		}
		return packMatrix(v, n, k)
	}
	m := &model{
		tok:       NewTokenizer(w.Vocab),
		embedding: w.Embedding,
		timing:    make([]float32, MaxTokens*embedDim),
		tanh:      pack("tanh", w.Tanh, outDim, modelDim),
		tanhBias:  w.TanhBias,
		kernel:    bestKernel,
	}
	if q, ok := w.quant["embedding"]; ok {
		m.embedding, m.embedQ = nil, q
	}
	// The graph computes the signal from float32 inverse timescales, in
	// float32, with sin and cos rounded to float32: so does this table.
	for p := range MaxTokens {
		row := m.timing[p*embedDim : (p+1)*embedDim]
		for i, inv := range w.Timing {
			a := float32(p) * inv
			row[i] = float32(math.Sin(float64(a)))
			row[timingDims+i] = float32(math.Cos(float64(a)))
		}
	}
	for i := range m.layers {
		lw, l := &w.Layers[i], &m.layers[i]
		p := fmt.Sprintf("layer%d.", i)
		*l = layer{
			in:            lw.In,
			headDim:       lw.In / numHeads,
			qScale:        lw.QScale,
			attnNormScale: lw.AttnNormScale,
			attnNormBias:  lw.AttnNorm,
			qkv:           pack(p+"qkv", lw.QKV, 3*lw.In, lw.In),
			qkvBias:       lw.QKVBias,
			out:           pack(p+"out", lw.Out, modelDim, lw.In),
			outBias:       lw.OutBias,
			ffnNormScale:  lw.FFNNormScale,
			ffnNormBias:   lw.FFNNorm,
			ffn1:          pack(p+"ffn1", lw.FFN1, ffnDim, modelDim),
			ffn1Bias:      lw.FFN1Bias,
			ffn2:          pack(p+"ffn2", lw.FFN2, modelDim, ffnDim),
			ffn2Bias:      lw.FFN2Bias,
		}
		if lw.Residual != nil {
			l.residual = pack(p+"residual", lw.Residual, modelDim, lw.In)
			l.resBias = lw.ResidualBias
		}
	}
	return m
}

// span is one sentence's tokens in a batch: ids[start : start+n].
type span struct{ start, n int }

// batch is the working memory of one forward pass over a batch of
// sentences; its buffers grow to the largest batch seen and are reused.
type batch struct {
	tok   tokScratch
	ids   []int32 // the tokens of all sentences, one after another
	spans []span  // one per sentence

	// Used by Encoder: where each sentence's vector goes, the vectors, and
	// the calls the pass serves.
	dsts  [][]float32
	out   []float32
	group []*request

	x      []float32 // tokens × embedDim: layer 0's input
	h      []float32 // tokens × modelDim: normalised rows, or a residual term
	wide   []float32 // tokens × ffnDim: q, k, v, then the feed-forward's inner layer
	att    []float32 // tokens × modelDim: attention output, heads side by side
	y      []float32 // tokens × modelDim: the residual stream
	scores []float32 // MaxTokens × MaxTokens: one head's attention weights
	pooled []float32 // sentences × modelDim
	sums   [modelDim]float64
	erow   [embedDim]float32
}

// reset empties b for a new batch.
func (b *batch) reset() {
	b.ids, b.spans = b.ids[:0], b.spans[:0]
	clear(b.dsts)
	b.dsts = b.dsts[:0]
}

// add tokenizes text and appends it to the batch.
func (b *batch) add(t *Tokenizer, text string) {
	start := len(b.ids)
	b.ids = t.tokenize(b.ids, text, &b.tok)
	b.spans = append(b.spans, span{start, len(b.ids) - start})
}

// grow returns buf with length n, reallocating (to at least twice its
// capacity, so that a pass's buffers settle after a few batches) if need be.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n, max(n, 2*cap(buf)))
	}
	return buf[:n]
}

// forward writes the unit vector of each sentence of b to out
// (len(b.spans) × outDim values).
func (m *model) forward(b *batch, out []float32) {
	T, S := len(b.ids), len(b.spans)
	out = out[:S*outDim]
	b.x = grow(b.x, T*embedDim)
	b.h = grow(b.h, T*modelDim)
	b.wide = grow(b.wide, T*ffnDim)
	b.att = grow(b.att, T*modelDim)
	b.y = grow(b.y, T*modelDim)
	b.scores = grow(b.scores, MaxTokens*MaxTokens)
	b.pooled = grow(b.pooled, S*modelDim)

	x := b.x
	for _, sp := range b.spans {
		for p := range sp.n {
			t := sp.start + p
			e := m.embeddingRow(&b.erow, b.ids[t])
			ts := m.timing[p*embedDim:][:embedDim]
			xr := x[t*embedDim:][:embedDim]
			for i := range xr {
				xr[i] = e[i] + (e[i] + ts[i])
			}
		}
	}

	// Layer 0: y = (attention·out + out bias) + (x·residual + residual bias).
	l := &m.layers[0]
	m.attention(b, x, l)
	matMulWith(m.kernel, b.y, modelDim, x, embedDim, T, l.residual)
	addBias(b.y, l.resBias)
	r := b.h[:T*modelDim]
	matMulWith(m.kernel, r, modelDim, b.att, embedDim, T, l.out)
	addBiasResidual(b.y, l.outBias, r)
	m.feedForward(b, l)

	// Layer 1: y = (attention·out + out bias) + y.
	l = &m.layers[1]
	m.attention(b, b.y, l)
	r = b.h[:T*modelDim]
	matMulWith(m.kernel, r, modelDim, b.att, modelDim, T, l.out)
	addBiasResidual(b.y, l.outBias, r)
	m.feedForward(b, l)

	// Mean over each sentence's tokens (summed in float64, as TF.js does).
	for s, sp := range b.spans {
		clear(b.sums[:])
		for t := sp.start; t < sp.start+sp.n; t++ {
			for i, v := range b.y[t*modelDim : (t+1)*modelDim] {
				b.sums[i] += float64(v)
			}
		}
		n := float32(max(sp.n, 1))
		pr := b.pooled[s*modelDim : (s+1)*modelDim]
		for i := range pr {
			pr[i] = float32(b.sums[i]) / n
		}
	}
	matMulWith(m.kernel, out, outDim, b.pooled, modelDim, S, m.tanh)
	for s := range S {
		o := out[s*outDim : (s+1)*outDim]
		var sq float64
		for i := range o {
			v := float32(math.Tanh(float64(o[i] + m.tanhBias[i])))
			o[i] = v
			sq += float64(v * v)
		}
		inv := float32(1 / math.Sqrt(float64(max(float32(sq), minSquaredNorm))))
		for i := range o {
			o[i] *= inv
		}
	}
}

// embeddingRow returns the embedding of token id, dequantised into buf if
// the table is int8.
func (m *model) embeddingRow(buf *[embedDim]float32, id int32) []float32 {
	if m.embedding != nil {
		return m.embedding[int(id)*embedDim:][:embedDim]
	}
	scale := m.embedQ.scales[id]
	for i, q := range m.embedQ.q[int(id)*embedDim:][:embedDim] {
		buf[i] = float32(int8(q)) * scale
	}
	return buf[:]
}

// attention normalises in (tokens × l.in), projects it to queries, keys and
// values and writes each head's attention output to b.att (tokens × l.in).
func (m *model) attention(b *batch, in []float32, l *layer) {
	T, d := len(b.ids), l.in
	h := b.h[:T*d]
	layerNorm(h, in, d, l.attnNormScale, l.attnNormBias)
	qkv := b.wide[:T*3*d]
	matMulWith(m.kernel, qkv, 3*d, h, d, T, l.qkv)
	addBias(qkv, l.qkvBias)
	att := b.att[:T*d]
	clear(att)
	hd := l.headDim
	for _, sp := range b.spans {
		n := sp.n
		for t := sp.start; t < sp.start+n; t++ {
			q := qkv[t*3*d : t*3*d+d]
			for i := range q {
				q[i] *= l.qScale
			}
		}
		for head := range numHeads {
			off := head * hd
			scores := b.scores[:n*n]
			for i := range n {
				q := qkv[(sp.start+i)*3*d+off:][:hd]
				row := scores[i*n : (i+1)*n]
				for j := range n {
					row[j] = dot(m.kernel, q, qkv[(sp.start+j)*3*d+d+off:][:hd])
				}
				softmax(row)
				o := att[(sp.start+i)*d+off:][:hd]
				for j, p := range row {
					axpy(m.kernel, p, qkv[(sp.start+j)*3*d+2*d+off:][:hd], o)
				}
			}
		}
	}
}

// feedForward adds the feed-forward block to the residual stream b.y:
// y = (relu(norm(y)·W1 + b1)·W2 + b2) + y.
func (m *model) feedForward(b *batch, l *layer) {
	T := len(b.ids)
	h := b.h[:T*modelDim]
	layerNorm(h, b.y, modelDim, l.ffnNormScale, l.ffnNormBias)
	f := b.wide[:T*ffnDim]
	matMulWith(m.kernel, f, ffnDim, h, modelDim, T, l.ffn1)
	for i := 0; i < len(f); i += ffnDim {
		row := f[i : i+ffnDim]
		for j, bias := range l.ffn1Bias[:len(row)] {
			v := row[j] + bias
			if !(v > 0) { // relu; a NaN stays NaN in TF, but none arises here
				v = 0
			}
			row[j] = v
		}
	}
	matMulWith(m.kernel, h, modelDim, f, ffnDim, T, l.ffn2)
	addBiasResidual(b.y, l.ffn2Bias, h)
}

// layerNorm writes the layer norm of each row of in (rows of d values, d a
// multiple of 4) to out, rounding where the graph's ops round: mean and
// variance summed in float64 and rounded to float32,
// out = (scale · rsqrt(var + ε)) · (x − mean) + bias.
func layerNorm(out, in []float32, d int, scale, bias []float32) {
	n := float32(d)
	scale, bias = scale[:d], bias[:d]
	for i := 0; i < len(out); i += d {
		x, o := in[i:i+d:i+d], out[i:i+d:i+d]
		// Four float64 partial sums: the float32 result is that of one
		// running float64 sum, as in TF.js, but for rounding far below it.
		var s0, s1, s2, s3 float64
		for j := 0; j < d; j += 4 {
			s0 += float64(x[j])
			s1 += float64(x[j+1])
			s2 += float64(x[j+2])
			s3 += float64(x[j+3])
		}
		mean := float32((s0+s1)+(s2+s3)) / n
		s0, s1, s2, s3 = 0, 0, 0, 0
		for j := 0; j < d; j += 4 {
			c0, c1, c2, c3 := x[j]-mean, x[j+1]-mean, x[j+2]-mean, x[j+3]-mean
			o[j], o[j+1], o[j+2], o[j+3] = c0, c1, c2, c3
			s0 += float64(c0 * c0)
			s1 += float64(c1 * c1)
			s2 += float64(c2 * c2)
			s3 += float64(c3 * c3)
		}
		r := float32(1 / math.Sqrt(float64(float32((s0+s1)+(s2+s3))/n+layerNormEpsilon)))
		for j, c := range o {
			o[j] = float32(scale[j]*r)*c + bias[j]
		}
	}
}

// softmax replaces row by its softmax, rounding as the TF.js kernel does.
func softmax(row []float32) {
	m := row[0]
	for _, v := range row[1:] {
		m = max(m, v)
	}
	var sum float64
	for i, v := range row {
		e := float32(math.Exp(float64(v - m)))
		row[i] = e
		sum += float64(e)
	}
	s := float32(sum)
	for i := range row {
		row[i] /= s
	}
}

// addBias adds bias to every row of x (rows of len(bias) values).
func addBias(x, bias []float32) {
	for i := 0; i < len(x); i += len(bias) {
		row := x[i : i+len(bias)]
		for j, b := range bias {
			row[j] += b
		}
	}
}

// addBiasResidual sets y = (r + bias) + y, row by row.
func addBiasResidual(y, bias, r []float32) {
	for i := 0; i < len(y); i += len(bias) {
		yr, rr := y[i:i+len(bias)], r[i:i+len(bias)]
		for j, b := range bias {
			yr[j] = (rr[j] + b) + yr[j]
		}
	}
}
