#!/usr/bin/env node
// reference.js runs an ONNX model under onnxruntime (CPU) on MNIST test
// images and writes the outputs the Go importer is checked against.
//
// Setup (once, into the gitignored node_modules here):
//   cd tools/onnxref && npm install --ignore-scripts onnxruntime-node
//
// Usage:
//   node tools/onnxref/reference.js --model M.onnx --mnist DIR \
//       [--output NAME] [--logits N --logits-out F.npy] [--preds-out F.npy]
//       [--mean 0.1307 --std 0.3081]
//
// Inputs are (pixel/255 − mean)/std, shape [n,1,28,28]. --logits writes the
// float32 output NAME (default: the model's first output) for the first N
// images; --preds-out writes the int32 argmax of every image and prints
// top-1 accuracy against the labels.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const ort = require('onnxruntime-node');

function args() {
  const a = { mean: 0.1307, std: 0.3081, logits: 0, batch: 500 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    const v = argv[i + 1];
    a[k.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = ['model', 'mnist', 'output', 'logitsOut', 'predsOut'].includes(k.replace(/-([a-z])/g, (_, c) => c.toUpperCase())) ? v : Number(v);
  }
  if (!a.model || !a.mnist) {
    console.error('usage: reference.js --model M.onnx --mnist DIR [--output NAME] [--logits N --logits-out F.npy] [--preds-out F.npy]');
    process.exit(2);
  }
  return a;
}

function readIdx(file) {
  let b = fs.readFileSync(file);
  if (b[0] === 0x1f && b[1] === 0x8b) b = zlib.gunzipSync(b);
  const dims = b[3];
  const shape = [];
  for (let d = 0; d < dims; d++) shape.push(b.readUInt32BE(4 + 4 * d));
  return { shape, data: b.subarray(4 + 4 * dims) };
}

function findIdx(dir, kind) {
  const names = fs.readdirSync(dir).filter((n) => n.includes(kind) && n.includes('idx'));
  if (names.length === 0) throw new Error(`no ${kind} idx file in ${dir}`);
  return path.join(dir, names.sort()[0]);
}

function writeNpy(file, descr, shape, bytes) {
  let hdr = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 6 + 2 + 2 + hdr.length + 1;
  hdr += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(hdr.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(hdr, 'latin1'), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]));
}

async function main() {
  const a = args();
  const images = readIdx(findIdx(a.mnist, 'images'));
  const labels = readIdx(findIdx(a.mnist, 'labels'));
  const [count, h, w] = images.shape;
  const sess = await ort.InferenceSession.create(a.model, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
  const inName = sess.inputNames[0];
  const outName = a.output || sess.outputNames[0];
  const n = a.predsOut ? count : a.logits;
  const preds = new Int32Array(n);
  let logits = null;
  let classes = 0;
  let correct = 0;
  for (let start = 0; start < n; start += a.batch) {
    const b = Math.min(a.batch, n - start);
    const x = new Float32Array(b * h * w);
    for (let i = 0; i < b * h * w; i++) x[i] = (images.data[start * h * w + i] / 255 - a.mean) / a.std;
    const out = await sess.run({ [inName]: new ort.Tensor('float32', x, [b, 1, h, w]) });
    const y = out[outName];
    classes = y.dims[y.dims.length - 1];
    if (!logits && a.logits > 0) logits = new Float32Array(a.logits * classes);
    for (let i = 0; i < b; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (y.data[i * classes + c] > y.data[i * classes + best]) best = c;
      preds[start + i] = best;
      if (best === labels.data[start + i]) correct++;
      if (start + i < a.logits) logits.set(y.data.subarray(i * classes, (i + 1) * classes), (start + i) * classes);
    }
  }
  if (logits) writeNpy(a.logitsOut, '<f4', [a.logits, classes], logits);
  if (a.predsOut) {
    writeNpy(a.predsOut, '<i4', [n], preds);
    console.log(JSON.stringify({ model: path.basename(a.model), output: outName, n, top1: correct / n }));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
