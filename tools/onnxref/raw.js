#!/usr/bin/env node
// raw.js runs an ONNX model of one float32 input under onnxruntime (CPU)
// on N inputs read from a raw little-endian float32 file and writes the
// first output of each, concatenated, as raw float32.
//
// Usage: node tools/onnxref/raw.js MODEL.onnx IN.f32 N OUT.f32
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, inPath, nStr, outPath] = process.argv.slice(2);
  const n = Number(nStr);
  const sess = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled' });
  const buf = fs.readFileSync(inPath);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const per = all.length / n;
  const dims = [1, ...process.env.QDQ_SHAPE.split(',').map(Number)];
  const outs = [];
  for (let i = 0; i < n; i++) {
    const x = new ort.Tensor('float32', all.slice(i * per, (i + 1) * per), dims);
    const r = await sess.run({ [sess.inputNames[0]]: x });
    outs.push(Buffer.from(r[sess.outputNames[0]].data.buffer));
  }
  fs.writeFileSync(outPath, Buffer.concat(outs));
}

main().catch((e) => { console.error(e); process.exit(1); });
