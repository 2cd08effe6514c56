#!/usr/bin/env python3
"""NumPy peer for the `matmul` suite: C = A @ B in float32, the way a user writes it (a new C per call; a
transposed operand is a view, `a.T`, of the array stored the other way round). The BLAS threads are set in
this process's environment (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, ...) before NumPy is imported. Reports
which BLAS library NumPy actually loaded. Prints one JSON object on stdout.

Each shape: one untimed warm-up call, one call timed to calibrate, then samples of `inner` calls each (inner
chosen so that a sample takes at least ~10 ms: a single 64³ product is far below the timer's resolution),
until `--repeat` samples or `--budget` seconds (at least 3 samples). Time per call = sample / inner; the
rate uses the median.

Usage: numpy_matmul.py --threads 1 --shape 512x512x512 --shape 10x3136x128:tA [--repeat 9] [--budget 2]
"""
import argparse
import json
import os
import sys

from gemm_timing import time_product

SHAPE_HELP = 'MxNxK[:tA][:tB]: C is m×n, op(A) m×k, op(B) k×n; tA stores A as k×m (used as a.T), tB stores B as n×k'


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--shape', action='append', required=True, help=SHAPE_HELP)
    ap.add_argument('--repeat', type=int, default=9, help='samples per shape at most')
    ap.add_argument('--budget', type=float, default=2.0, help='seconds of samples per shape (after 3 samples)')
    ap.add_argument('--seed', type=int, default=1)
    return ap.parse_args()


args = parse_args()
for var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'BLIS_NUM_THREADS', 'FLEXIBLAS_NUM_THREADS'):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402  (after the thread variables, which BLAS reads when it loads)


def parse_shape(text):
    dims, *flags = text.split(':')
    m, n, k = (int(x) for x in dims.split('x'))
    return {'m': m, 'n': n, 'k': k, 'transposeA': 'tA' in flags, 'transposeB': 'tB' in flags}


def loaded_blas():
    """The BLAS shared library mapped into this process (after a product has run), and what kind it is."""
    try:
        with open('/proc/self/maps') as f:
            paths = sorted({line.split()[-1] for line in f if '.so' in line and '/' in line})
    except OSError:
        return {'library': None, 'kind': 'unknown (no /proc/self/maps)'}
    libs = [os.path.realpath(p) for p in paths
            if any(s in os.path.basename(p).lower() for s in ('blas', 'mkl', 'blis', 'flexiblas'))]
    libs = sorted(set(libs))
    text = ' '.join(libs).lower()
    if 'openblas' in text:
        kind = 'OpenBLAS'
    elif 'mkl' in text:
        kind = 'MKL'
    elif 'blis' in text:
        kind = 'BLIS'
    elif 'flexiblas' in text:
        kind = 'FlexiBLAS'
    elif any('/blas/libblas.so' in p for p in libs):
        kind = 'reference BLAS (netlib libblas3, single-threaded)'
    else:
        kind = 'unknown'
    return {'library': libs[0] if len(libs) == 1 else libs, 'kind': kind}


def operands(rng, s):
    m, n, k = s['m'], s['n'], s['k']
    a = rng.uniform(-1, 1, (k, m) if s['transposeA'] else (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, k) if s['transposeB'] else (k, n)).astype(np.float32)
    return (a.T if s['transposeA'] else a), (b.T if s['transposeB'] else b)  # views, as a user would


def time_shape(rng, s):
    a, b = operands(rng, s)
    assert (a @ b).dtype == np.float32
    return time_product(lambda: a @ b, s, args.repeat, args.budget)


def main():
    rng = np.random.default_rng(args.seed)
    results = [time_shape(rng, parse_shape(text)) for text in args.shape]
    print(json.dumps({'peer': 'numpy-matmul', 'numpy': np.__version__, 'python': sys.version.split()[0],
                      'threads': args.threads, 'blas': loaded_blas(), 'call': 'a @ b (float32, new C each call)',
                      'results': results}))


if __name__ == '__main__':
    main()
