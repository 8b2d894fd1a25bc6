#!/usr/bin/env node
// Time an ONNX model in ONNX Runtime (CPU, from npm's onnxruntime-node) and
// optionally save its outputs as .npy, for the engine benchmark and as a
// second reference beside OpenCV DNN.
//
// Usage: node ort_bench.js MODEL.onnx --input in.npy [--threads N]
//          [--runs N] [--warmup N] [--out DIR]
// Prints one JSON line: {"model", "threads", "load_ms", "median_ms",
// "p90_ms", "runs"}. onnxruntime-node is looked up in $ORT_NODE_MODULES,
// else in .cache/ort/node_modules of the repository.
'use strict';
const fs = require('fs');
const path = require('path');

function die(msg) {
  process.stderr.write('ort_bench: ' + msg + '\n');
  process.exit(1);
}

function parseArgs(argv) {
  const a = { threads: 2, runs: 30, warmup: 5, input: null, out: null, model: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) die(k + ' needs a value');
      return argv[++i];
    };
    if (k === '--threads') a.threads = parseInt(next(), 10);
    else if (k === '--runs') a.runs = parseInt(next(), 10);
    else if (k === '--warmup') a.warmup = parseInt(next(), 10);
    else if (k === '--input') a.input = next();
    else if (k === '--out') a.out = next();
    else if (k.startsWith('--')) die('unknown option ' + k);
    else a.model = k;
  }
  if (!a.model || !a.input) die('usage: ort_bench.js MODEL.onnx --input in.npy [--threads N] [--runs N] [--warmup N] [--out DIR]');
  if (!(a.threads > 0 && a.runs > 0 && a.warmup >= 0)) die('bad --threads/--runs/--warmup');
  return a;
}

// NumPy .npy v1/v2/v3, little-endian float32, C order only: what the
// generators write.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') die(file + ': not a .npy file');
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  if (!/'descr':\s*'<f4'/.test(header)) die(file + ': only <f4 arrays are supported');
  if (/'fortran_order':\s*True/.test(header)) die(file + ': Fortran order is not supported');
  const m = header.match(/'shape':\s*\(([^)]*)\)/);
  if (!m) die(file + ': no shape in header');
  const dims = m[1].split(',').map(s => s.trim()).filter(s => s.length).map(Number);
  const n = dims.reduce((p, d) => p * d, 1);
  const off = hstart + hlen;
  if (buf.length - off !== n * 4) die(file + ': data size does not match shape');
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(off + 4 * i);
  return { dims, data };
}

function writeNpy(file, dims, data) {
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
    dims.join(', ') + (dims.length === 1 ? ',' : '') + '), }';
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(new Float32Array(data).buffer);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

function loadOrt() {
  const dirs = [process.env.ORT_NODE_MODULES,
    path.join(__dirname, '..', '..', '.cache', 'ort', 'node_modules')].filter(Boolean);
  for (const d of dirs) {
    const p = path.join(d, 'onnxruntime-node');
    if (fs.existsSync(p)) return require(p);
  }
  die('onnxruntime-node not found (npm install --ignore-scripts onnxruntime-node@1.30.0 --prefix .cache/ort)');
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const inp = readNpy(a.input);
  const opts = {
    intraOpNumThreads: a.threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  };
  const t0 = process.hrtime.bigint();
  const sess = await ort.InferenceSession.create(a.model, opts);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (sess.inputNames.length !== 1) die(a.model + ': expected one input, got ' + sess.inputNames.length);
  const feeds = { [sess.inputNames[0]]: new ort.Tensor('float32', inp.data, inp.dims) };
  let outs = await sess.run(feeds);
  for (let i = 0; i < a.warmup; i++) outs = await sess.run(feeds);
  const ts = [];
  for (let i = 0; i < a.runs; i++) {
    const s = process.hrtime.bigint();
    outs = await sess.run(feeds);
    ts.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  ts.sort((x, y) => x - y);
  const q = f => ts[Math.min(ts.length - 1, Math.floor(f * ts.length))];
  const median = ts.length % 2 ? ts[(ts.length - 1) / 2]
    : (ts[ts.length / 2 - 1] + ts[ts.length / 2]) / 2;
  if (a.out) {
    fs.mkdirSync(a.out, { recursive: true });
    for (const name of sess.outputNames) {
      const t = outs[name];
      writeNpy(path.join(a.out, name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.npy'), t.dims, t.data);
    }
  }
  process.stdout.write(JSON.stringify({
    model: a.model, threads: a.threads, load_ms: +loadMs.toFixed(2),
    median_ms: +median.toFixed(3), p90_ms: +q(0.9).toFixed(3), runs: a.runs,
  }) + '\n');
}

main().catch(e => die(String(e && e.message ? e.message : e).split('\n')[0]));
