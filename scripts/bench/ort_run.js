// Run an ONNX model once in ONNX Runtime (CPU, npm's onnxruntime-node) on
// float32 inputs given as raw little-endian files, and write each output as
// raw float32 plus its dims in a JSON line on stdout. Used by
// scripts/onnx18-cases.py to make reference outputs.
// usage: node ort_run.js MODEL OUTDIR NAME=DIMS:FILE... (DIMS like 1x3x4x4)
'use strict';
const fs = require('fs');
const path = require('path');

function loadOrt() {
  const dirs = [process.env.ORT_NODE_MODULES,
    path.join(__dirname, '..', '..', '.cache', 'ort', 'node_modules')].filter(Boolean);
  for (const d of dirs) {
    const p = path.join(d, 'onnxruntime-node');
    if (fs.existsSync(p)) return require(p);
  }
  console.error('onnxruntime-node not found (npm install --ignore-scripts onnxruntime-node@1.30.0 --prefix .cache/ort)');
  process.exit(2);
}

async function main() {
  const [model, outdir, ...specs] = process.argv.slice(2);
  const ort = loadOrt();
  const feeds = {};
  for (const s of specs) {
    const m = /^(.*)=([0-9x]*):(.*)$/.exec(s);
    if (!m) { console.error(`bad input spec ${s}`); process.exit(2); }
    const dims = m[2] ? m[2].split('x').map(Number) : [];
    const buf = fs.readFileSync(m[3]);
    const data = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    feeds[m[1]] = new ort.Tensor('float32', Float32Array.from(data), dims);
  }
  const sess = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const res = await sess.run(feeds);
  sess.outputNames.forEach((name, i) => {
    const t = res[name];
    fs.writeFileSync(path.join(outdir, `out_${i}.bin`), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    console.log(JSON.stringify({ name, dims: t.dims }));
  });
}
main().catch((e) => { console.error(String(e)); process.exit(1); });
