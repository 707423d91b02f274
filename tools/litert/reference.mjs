#!/usr/bin/env node
// reference.mjs runs a .tflite model under LiteRT (the @litertjs/core
// WebAssembly build, CPU "wasm" accelerator, which delegates what it can
// to XNNPACK) and writes its outputs for given .npy inputs. It is the
// oracle the Go importer's parity tests were generated with.
//
// Setup (once, into the gitignored node_modules here):
//   cd tools/litert && npm install --ignore-scripts @litertjs/core@2.5.3
//
// Usage:
//   node tools/litert/reference.mjs MODEL.tflite IN.npy OUT.npy [IN2.npy OUT2.npy ...]
//
// Each IN.npy holds input 0 (uint8, int8 or float32, C order, the model's
// shape); OUT.npy receives output 0 with the model's dtype. Several pairs
// reuse one compiled model.
import fs from 'fs';
import vm from 'vm';
import path from 'path';
import { createRequire } from 'module';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));
const wasmDir = path.join(here, 'node_modules', '@litertjs', 'core', 'wasm');

// LiteRT.js expects a browser worker: give it `self`, a synchronous
// `importScripts` that evaluates the Emscripten loader in this context,
// and the CommonJS `require`/`__dirname` the loader uses under Node.
globalThis.self = globalThis;
globalThis.require = createRequire(path.join(here, 'reference.mjs'));
globalThis.__dirname = wasmDir;
globalThis.importScripts = (u) => {
  const p = String(u).startsWith('file:') ? fileURLToPath(String(u)) : String(u);
  vm.runInThisContext(fs.readFileSync(p, 'utf8'), { filename: p });
};

const DESCR = { '|u1': Uint8Array, '|i1': Int8Array, '<f4': Float32Array, '<i4': Int32Array };
const DESCR_OF = { uint8: '|u1', int8: '|i1', float32: '<f4', int32: '<i4', int64: '<i8' };

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const off = major === 1 ? 10 : 12;
  const hdr = b.toString('latin1', off, off + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(hdr)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(hdr)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  if (/'fortran_order':\s*True/.test(hdr)) throw new Error(`${file}: Fortran order`);
  const T = DESCR[descr];
  if (!T) throw new Error(`${file}: dtype ${descr} not supported`);
  const data = new T(b.buffer.slice(b.byteOffset + off + hlen, b.byteOffset + b.length));
  return { descr, shape, data };
}

function writeNpy(file, descr, shape, typed) {
  let hdr = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + hdr.length + 1;
  hdr += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(hdr.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(hdr, 'latin1'), Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength)]));
}

const argv = process.argv.slice(2);
if (argv.length < 3 || argv.length % 2 !== 1) {
  console.error('usage: reference.mjs MODEL.tflite IN.npy OUT.npy [IN2.npy OUT2.npy ...]');
  process.exit(2);
}
// The JS wrapper of @litertjs/core 2.5.3 maps only float32, int32 and
// uint8 tensors (the Wasm runtime handles int8 and int64 too): load a
// copy of it with int8 and int64 entries added to its dtype table.
const dist = path.join(here, 'node_modules', '@litertjs', 'core', 'dist');
let src = fs.readFileSync(path.join(dist, 'index.js'), 'utf8');
const uint8Entry = '    dtype: "uint8",\n    typedArrayConstructor: Uint8Array,\n    elementType: ElementType.UINT8\n  }';
if (!src.includes('Int8Array,') && src.includes(uint8Entry)) {
  src = src.replace(uint8Entry, uint8Entry + ',\n  {\n    dtype: "int8",\n    typedArrayConstructor: Int8Array,\n    elementType: ElementType.INT8\n  }' +
    // ARG_MAX outputs (DeepLab's class map) are int64.
    ',\n  {\n    dtype: "int64",\n    typedArrayConstructor: BigInt64Array,\n    elementType: ElementType.INT64\n  }');
}
const patched = path.join(dist, 'index.int8.mjs');
fs.writeFileSync(patched, src);
const lt = await import(patched);
await lt.loadLiteRt(wasmDir + '/');
const model = await lt.loadAndCompile(new Uint8Array(fs.readFileSync(argv[0])), { accelerator: 'wasm' });
const inDetails = model.getInputDetails()[0];
for (let i = 1; i < argv.length; i += 2) {
  const x = readNpy(argv[i]);
  if (DESCR_OF[inDetails.dtype] !== x.descr) {
    throw new Error(`${argv[i]}: dtype ${x.descr}, model input is ${inDetails.dtype}`);
  }
  const t = new lt.Tensor(x.data, Array.from(inDetails.shape));
  const outs = await model.run([t]);
  t.delete();
  const o = outs[0];
  const arr = o.toTypedArray().slice();
  writeNpy(argv[i + 1], DESCR_OF[o.type.dtype] ?? DESCR_OF[outs[0].dtype] ?? '|u1', Array.from(o.type.layout.dimensions), arr);
  for (const r of outs) r.delete();
}
model.delete();
