#!/usr/bin/env node
// ortbench.js times one ONNX model under onnxruntime-node (CPU): a warm-up,
// then N single-image runs, and prints one JSON line with the median, min
// and max in milliseconds. Setup: npm install --ignore-scripts (here).
//
//   node ortbench.js MODEL.onnx THREADS RUNS
'use strict';

const ort = require('onnxruntime-node');

async function main() {
  const [model, threads, runs] = [process.argv[2], Number(process.argv[3] || 1), Number(process.argv[4] || 20)];
  if (!model) {
    console.error('usage: ortbench.js MODEL.onnx THREADS RUNS');
    process.exit(2);
  }
  const s = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const name = s.inputNames[0];
  const x = new Float32Array(3 * 224 * 224);
  let seed = 7;
  for (let i = 0; i < x.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    x[i] = (seed / 4294967296) * 2 - 1;
  }
  const feeds = { [name]: new ort.Tensor('float32', x, [1, 3, 224, 224]) };
  for (let i = 0; i < 3; i++) await s.run(feeds);
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await s.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  const median = t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
  console.log(JSON.stringify({ model, threads, runs, median_ms: median, min_ms: t[0], max_ms: t[t.length - 1] }));
}

main().catch((e) => { console.error(e.message || e); process.exit(1); });
