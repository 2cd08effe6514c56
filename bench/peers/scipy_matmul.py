#!/usr/bin/env python3
"""SciPy peer for `matmul`: scipy.linalg.blas.sgemm(1, a, b), the BLAS single-precision GEMM that SciPy links
(OpenBLAS on Debian), thread count set through the BLAS environment variables before SciPy is imported. Timing as
in numpy_matmul.py (gemm_timing.py). When SciPy is not importable this prints {"missing": "<reason>"} and exits 0.

Usage: scipy_matmul.py --threads 1 --shape 512x512x512 [--repeat 9] [--budget 2]
"""
import argparse
import json
import os
import sys

from gemm_timing import time_product


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--shape', action='append', required=True, help='MxNxK (no transposes)')
    ap.add_argument('--repeat', type=int, default=9)
    ap.add_argument('--budget', type=float, default=2.0)
    ap.add_argument('--seed', type=int, default=1)
    return ap.parse_args()


args = parse_args()
for var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'BLIS_NUM_THREADS', 'FLEXIBLAS_NUM_THREADS'):
    os.environ[var] = str(args.threads)

try:
    import numpy as np
    import scipy
    from scipy.linalg.blas import sgemm
except Exception as error:
    print(json.dumps({'peer': 'scipy-matmul', 'missing': f'scipy not importable by {sys.executable}: {error}'}))
    sys.exit(0)


def main():
    rng = np.random.default_rng(args.seed)
    results = []
    for text in args.shape:
        m, n, k = (int(x) for x in text.split(':')[0].split('x'))
        a = np.asfortranarray(rng.uniform(-1, 1, (m, k)).astype(np.float32))
        b = np.asfortranarray(rng.uniform(-1, 1, (k, n)).astype(np.float32))
        s = {'m': m, 'n': n, 'k': k, 'transposeA': False, 'transposeB': False}
        results.append(time_product(lambda: sgemm(1.0, a, b), s, args.repeat, args.budget))
    print(json.dumps({'peer': 'scipy-matmul', 'scipy': scipy.__version__, 'numpy': np.__version__, 'python': sys.version.split()[0],
                      'threads': args.threads, 'call': 'scipy.linalg.blas.sgemm(1, a, b) (float32, Fortran order)', 'results': results}))


if __name__ == '__main__':
    main()
