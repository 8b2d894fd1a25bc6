#!/usr/bin/python3
"""The model zoo through `camnet infer`, against ONNX Runtime 1.30.

For every model of models/zoo (scripts/make-zoo.py, run by
scripts/fetch-models.sh) this runs

    camnet infer MODEL --input input.npy -o out.npy [--input-shape N:DIMS]

(--input-shape only when the program has it; the .npy alone must resolve
open dims too) and measures its status:
  refused  camnet exits 1 or 2 with a message (the first line is kept)
  differs  it runs, but an output is off by more than 1e-4 of the
           reference's range, or the top-5 / the boxes differ
  agrees   every output within 1e-4 of its range, same top-5 classes
           (classifiers), same detections above the threshold (YOLO-like,
           BlazeFace) up to scores within that tolerance of the threshold
A crash (signal, sanitizer report, other exit code) always fails.

Each model's status must equal the one in tests/engine/zoo_expected.txt:
a regression fails, and so does an improvement until it is recorded (run
with --update to rewrite the file from this run, then review the diff).
--table FILE writes the Markdown table (into docs/models.md between its
zoo-table markers: --table docs/models.md --pinned); with
--pinned each model also runs from a copy whose input dims are written into
the file (python3-onnx), which shows what stands after the open shapes:
informative only, not checked against the expectations.

Skips (exit 77, "SKIP: missing ..." as the C harness prints) when the zoo
has not been built: scripts/fetch-models.sh builds it.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

TOL = 1e-4
STATUSES = ('refused', 'differs', 'agrees')
SKIP_CODE = 77


def skip(missing, reason):
    line = 'SKIP: missing %s: %s' % (missing, reason)
    print(line, file=sys.stderr)
    log = os.environ.get('CN_TEST_SKIP_LOG')
    if log:
        with open(log, 'a') as f:
            f.write('test_zoo: %s\n' % line)
    sys.exit(SKIP_CODE)


def read_expected(path):
    exp = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2 or parts[1] not in STATUSES:
                sys.exit('%s:%d: expected "NAME STATUS" with STATUS one of '
                         '%s' % (path, n, ', '.join(STATUSES)))
            exp[parts[0]] = parts[1]
    return exp


def rel_err(a, b):
    rng = float(b.max() - b.min()) if b.size else 0.0
    scale = rng if rng > 0 else max(float(np.abs(b).max()) if b.size else 0,
                                    1e-30)
    return float(np.abs(a.astype(np.float64) - b).max()) / scale, scale


def top5_same(a, b, tol):
    """camnet's top-5 classes are the reference's, up to ties: each of
    camnet's picks scores, in the reference, at least the reference's own
    pick at that rank minus tol."""
    a, b = a.reshape(-1), b.reshape(-1)
    ra, rb = np.argsort(-a)[:5], np.argsort(-b)[:5]
    for i in range(5):
        if b[ra[i]] < b[rb[i]] - tol:
            return 'top-5 differs: camnet %s, ORT %s' % (list(ra), list(rb))
    return None


def detections(kind, outs):
    """(score per candidate, class per candidate, threshold) of a
    detector's raw outputs, or None for kinds without detections."""
    if kind == 'yolov8':
        s = outs[0][0, 4:, :]
        return s.max(0), s.argmax(0), None
    if kind == 'yolov5':
        o = outs[0][0]
        s = o[:, 5:] * o[:, 4:5]
        return s.max(1), s.argmax(1), None
    if kind == 'blazeface':
        s = np.concatenate([outs[0].reshape(-1), outs[1].reshape(-1)])
        return s, np.zeros(s.shape, int), 0.0  # logits: sigmoid 0.5
    return None


def parts(kind, cams, refs):
    if kind == 'yolov8':
        return {'boxes': (cams[0][:, :4], refs[0][:, :4]),
                'scores': (cams[0][:, 4:], refs[0][:, 4:])}
    if kind == 'yolov5':
        return {'boxes': (cams[0][..., :4], refs[0][..., :4]),
                'scores': (cams[0][..., 4:], refs[0][..., 4:])}
    return {}


def boxes_same(kind, cam, ref, tol):
    dr = detections(kind, ref)
    if dr is None:
        return None, ''
    dc = detections(kind, cam)
    sr, cr, thr = dr
    sc, cc, _ = dc
    if thr is None:
        # Random weights score every class alike: the reference's top 1 %
        # of candidates count as the detections.
        thr = float(np.quantile(sr, 0.99))
    sure_in = sr > thr + tol
    sure_out = sr < thr - tol
    n = int(sure_in.sum())
    missing = np.flatnonzero(sure_in & (sc <= thr))
    extra = np.flatnonzero(sure_out & (sc > thr))
    wrong = np.flatnonzero(sure_in & (sc > thr) & (cc != cr))
    if len(missing) or len(extra) or len(wrong):
        return ('detections differ: %d missing, %d extra, %d with another '
                'class (of %d)' % (len(missing), len(extra), len(wrong), n),
                '')
    return None, '%d detections' % n


def has_input_shape_flag(camnet):
    r = subprocess.run([camnet, 'infer', '--help'], capture_output=True,
                       text=True)
    return '--input-shape' in r.stdout + r.stderr


def pin_dims(meta, model, tmp):
    """A copy of the model with its input's dims fixed to the .npy's."""
    import onnx
    m = onnx.load(model)
    init = {i.name for i in m.graph.initializer}
    ins = [i for i in m.graph.input if i.name not in init]
    for dim, v in zip(ins[0].type.tensor_type.shape.dim, meta['input_shape']):
        dim.dim_value = v
    path = os.path.join(tmp, meta['name'] + '-pinned.onnx')
    onnx.save(m, path)
    return path


def run_model(camnet, zoo, meta, shape_flag, tmp, pinned=False):
    status, detail = run_infer(camnet, zoo, meta, shape_flag, tmp, pinned)
    # The same words whatever the checkout's path (the docs keep them).
    return status, detail.replace(tmp + os.sep, '').replace(
        os.path.normpath(os.path.join(zoo, '..')) + os.sep, 'models/')


def run_infer(camnet, zoo, meta, shape_flag, tmp, pinned):
    d = os.path.join(zoo, meta['name'])
    model = os.path.normpath(os.path.join(zoo, '..', meta['model']))
    if pinned:
        model, shape_flag = pin_dims(meta, model, tmp), False
    out = os.path.join(tmp, meta['name'] + '.npy')
    cmd = [camnet, 'infer', model, '--input', os.path.join(d, 'input.npy'),
           '-o', out]
    ins = meta['inputs']
    # A name with ':' (TF's "input:0") would make NAME:DIMS ambiguous:
    # there the .npy alone resolves the dims.
    if shape_flag and len(ins) == 1 and ':' not in ins[0]['name'] and any(
            isinstance(x, str) for x in ins[0]['dims']):
        cmd += ['--input-shape', '%s:%s' % (
            ins[0]['name'], 'x'.join(str(x) for x in meta['input_shape']))]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return 'crash', 'no answer in 300 s: ' + ' '.join(cmd)
    err = [l for l in r.stderr.splitlines() if l.strip()]
    if r.returncode in (1, 2):
        first = next((l for l in err if 'error' in l), err[0] if err else
                     'exit %d, no message' % r.returncode)
        return 'refused', re.sub(r'^camnet: (error: )?', '', first)
    if r.returncode != 0 or any('Sanitizer' in l or 'runtime error' in l
                                for l in err):
        return 'crash', 'exit %d: %s' % (r.returncode,
                                         (err or ['no message'])[-1])
    paths = dict(re.findall(r'^(.*) -> (.*)$', r.stdout, re.M))
    return compare(meta, d, paths)


def compare(meta, d, paths):
    cams, refs, worst, notes = [], [], 0.0, []
    for i, name in enumerate(meta['outputs']):
        ref = np.load(os.path.join(d, 'ref_%d.npy' % i))
        if name not in paths:
            return 'differs', 'no output %s from camnet (it gave %s)' % (
                name, ', '.join(paths) or 'none')
        cam = np.load(paths[name])
        if cam.size != ref.size:
            return 'differs', '%s: shape %s, ORT %s' % (
                name, list(cam.shape), list(ref.shape))
        cam = cam.reshape(ref.shape)
        if not np.all(np.isfinite(cam)):
            return 'differs', '%s: not finite' % name
        e, _ = rel_err(cam, ref)
        worst = max(worst, e)
        cams.append(cam)
        refs.append(ref)
    # Box coordinates span hundreds of pixels, scores 0..1: each part is
    # held to its own range.
    for part, (a, b) in parts(meta['kind'], cams, refs).items():
        e, _ = rel_err(a, b)
        if e > TOL:
            return 'differs', '%s: max error %.2g of their range' % (part, e)
    if worst > TOL:
        return 'differs', 'max error %.2g of the output range' % worst
    if meta['kind'] == 'classifier':
        _, scale = rel_err(cams[0], refs[0])
        bad = top5_same(cams[0], refs[0], TOL * scale)
        if bad:
            return 'differs', bad
        notes.append('same top-5')
    bad, note = boxes_same(meta['kind'], cams, refs, TOL)
    if bad:
        return 'differs', bad
    if note:
        notes.append('same ' + note)
    return 'agrees', 'max error %.1e%s' % (
        worst, ''.join('; ' + n for n in notes))


def table(rows):
    pinned = any(r[3] for r in rows)
    out = ['| model | opset | input | source | status | first refusal or '
           'agreement |' + (' input dims pinned in the file |' if pinned
                            else ''),
           '|---|---:|---|---|---|---|' + ('---|' if pinned else '')]
    for meta, status, detail, pin in rows:
        ins = meta['inputs'][0] if meta['inputs'] else {'name': '?',
                                                         'dims': []}
        dims = '×'.join(str(x) for x in ins['dims'])
        if dims != '×'.join(str(x) for x in meta['input_shape']):
            dims += ' ← ' + '×'.join(str(x) for x in meta['input_shape'])
        src = meta['source'].replace('generated: ', '')
        out.append('| %s | %d | `%s` %s | %s | %s | %s |' % (
            meta['name'], meta['opset'], ins['name'], dims,
            src, status, detail.replace('|', '\\|')) +
            (' %s: %s |' % (pin[0], pin[1].replace('|', '\\|'))
             if pin else ''))
    return '\n'.join(out) + '\n'


def write_table(path, text, only):
    """Into PATH between the zoo-table markers when it has them (the docs),
    else the whole file."""
    begin, end = '<!-- zoo-table:begin -->\n', '<!-- zoo-table:end -->'
    old = open(path).read() if os.path.exists(path) else ''
    if begin in old and end in old:
        if only:
            return  # a partial run does not replace the docs' table
        text = old[:old.index(begin) + len(begin)] + text + old[old.index(end):]
    with open(path, 'w') as f:
        f.write(text)


def update_expected(path, got):
    head = []
    with open(path) as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                head.append(line)
            else:
                break
    with open(path, 'w') as f:
        f.writelines(head)
        w = max(len(n) for n in got)
        for n, s in got.items():
            f.write('%-*s %s\n' % (w, n, s))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--camnet', required=True)
    ap.add_argument('--zoo', required=True)
    ap.add_argument('--expected', required=True)
    ap.add_argument('--table')
    ap.add_argument('--only', default='')
    ap.add_argument('--update', action='store_true')
    ap.add_argument('--pinned', action='store_true')
    a = ap.parse_args()
    exp = read_expected(a.expected)
    man = os.path.join(a.zoo, 'manifest.json')
    if not os.path.exists(man):
        skip('scripts/fetch-models.sh', '%s is not built' % man)
    with open(man) as f:
        built = json.load(f)['models']
    names = list(dict.fromkeys(list(exp) + built))
    if a.only:
        names = [n for n in names if n in a.only.split(',')]
    shape_flag = has_input_shape_flag(a.camnet)
    rows, got, fails, skipped = [], {}, [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in names:
            mp = os.path.join(a.zoo, n, 'meta.json')
            if not os.path.exists(mp) or n not in built:
                skipped.append(n)
                continue
            with open(mp) as f:
                meta = json.load(f)
            if meta.get('ref_error'):
                fails.append('%s: no reference: %s' % (n, meta['ref_error']))
                continue
            status, detail = run_model(a.camnet, a.zoo, meta, shape_flag, tmp)
            print('%-22s %-8s %s' % (n, status, detail), flush=True)
            pin = None
            if a.pinned and any(isinstance(x, str)
                                for x in meta['inputs'][0]['dims']):
                pin = run_model(a.camnet, a.zoo, meta, False, tmp, True)
                print('%-22s %-8s %s' % ('  pinned', pin[0], pin[1]),
                      flush=True)
            rows.append((meta, status, detail, pin))
            got[n] = status
            if status == 'crash':
                fails.append('%s: %s' % (n, detail))
            elif n not in exp:
                fails.append('%s: not in %s (it %s)' % (n, a.expected,
                                                         status))
            elif status != exp[n]:
                better = STATUSES.index(status) > STATUSES.index(exp[n])
                fails.append('%s: %s, expected %s%s' % (
                    n, status, exp[n],
                    ' (an improvement: record it with --update)'
                    if better else ' (a regression)'))
    if a.table:
        write_table(a.table, table(rows), a.only)
    if a.update and not a.only:
        update_expected(a.expected, got)
        print('test_zoo: wrote %s' % a.expected, file=sys.stderr)
        return 0
    for f in fails:
        print('FAIL: ' + f, file=sys.stderr)
    counts = {s: sum(1 for v in got.values() if v == s) for s in STATUSES}
    print('test_zoo: %d models: %d agree, %d differ, %d refused%s' % (
        len(got), counts['agrees'], counts['differs'], counts['refused'],
        '; not built: ' + ', '.join(skipped) if skipped else ''))
    if fails:
        return 1
    if skipped:
        skip('scripts/fetch-models.sh', 'not built: ' + ', '.join(skipped))
    return 0


if __name__ == '__main__':
    sys.exit(main())
