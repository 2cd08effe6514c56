#!/usr/bin/env python3
"""SciPy / NumPy peers of the `analysis` suite (bench/suite-analysis.mjs):

- distances between the K rows of a K x dim float32 matrix (uniform in [-1, 1), NumPy's default_rng(seed)):
  scipy.spatial.distance.pdist(X, 'sqeuclidean') (condensed; SciPy converts to float64 and loops in C, one thread),
  cdist(X, X, 'sqeuclidean') (the full K x K matrix), and NumPy's expanded form in float32 through BLAS,
  d = 2 (n_i + n_j - 2 X X^T) / (n_i + n_j + eps), the fast way that cancels for near-identical rows;
- accuracy on near-identical rows (X = base * (1 + scale * noise), d ~ scale^2): the relative error of NumPy's
  float32 expanded form and of pdist (float64) against a float64 difference-based reference;
- scipy.cluster.hierarchy.linkage(y, method='average') on the Euclidean distances of K random points in 16-D.

Thread count through the BLAS environment variables before NumPy is imported (pdist and linkage are
single-threaded whatever it says). Timing: one untimed warm-up for calls under 0.5 s, then samples of one or more
calls until `repeat` samples or `budget` seconds (at least 1 sample; 3 when they are short); the median is
reported. When SciPy is not importable this prints {"missing": "<reason>"} and exits 0.

Usage: scipy_distances.py --threads 1 --distances 512x4608 [--distances ...] [--only pdist,cdist,numpy] [--linkage 1024 ...]
                          [--accuracy 256x1152:1e-4 ...] [--repeat 7] [--budget 2]
"""
import argparse
import json
import os
import statistics
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--distances', action='append', default=[], help='KxDIM')
    ap.add_argument('--linkage', action='append', default=[], type=int, help='K')
    ap.add_argument('--accuracy', action='append', default=[], help='KxDIM:SCALE')
    ap.add_argument('--repeat', type=int, default=7)
    ap.add_argument('--budget', type=float, default=2.0)
    ap.add_argument('--only', default='pdist,cdist,numpy', help='which distance peers to time, comma-separated')
    ap.add_argument('--seed', type=int, default=1)
    return ap.parse_args()


args = parse_args()
for var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'BLIS_NUM_THREADS', 'FLEXIBLAS_NUM_THREADS'):
    os.environ[var] = str(args.threads)

try:
    import numpy as np
    import scipy
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import cdist, pdist
except Exception as error:  # noqa: BLE001
    print(json.dumps({'peer': 'scipy-distances', 'missing': f'scipy not importable by {sys.executable}: {error}'}))
    sys.exit(0)

EPS = 1e-8


def time_call(fn, repeat, budget):
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = [] if first < 0.5 else [first]  # a long first call is a sample (no second warm-up of a slow peer)
    inner = max(1, int(0.01 / max(first, 1e-7)))
    started = time.perf_counter()
    want = 3 if first < 0.5 else 1
    while len(times) < repeat and (len(times) < want or time.perf_counter() - started < budget):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return {'median': statistics.median(times), 'times': times, 'inner': inner}


def numpy_expanded(x):
    n = np.einsum('ij,ij->i', x, x)
    g = x @ x.T
    s = n[:, None] + n[None, :]
    return 2 * (s - 2 * g) / (s + np.float32(EPS))


def main():
    rng = np.random.default_rng(args.seed)
    out = {'peer': 'scipy-distances', 'scipy': scipy.__version__, 'numpy': np.__version__, 'python': sys.version.split()[0],
           'threads': args.threads, 'distances': [], 'linkage': [], 'accuracy': []}
    for text in args.distances:
        k, dim = (int(v) for v in text.split('x'))
        x = rng.uniform(-1, 1, (k, dim)).astype(np.float32)
        entry = {'K': k, 'dim': dim}
        only = args.only.split(',')
        if 'pdist' in only:
            entry['pdist'] = time_call(lambda: pdist(x, 'sqeuclidean'), args.repeat, args.budget)
        if 'cdist' in only:
            entry['cdist'] = time_call(lambda: cdist(x, x, 'sqeuclidean'), args.repeat, args.budget)
        if 'numpy' in only:
            entry['numpy'] = time_call(lambda: numpy_expanded(x), args.repeat, args.budget)
        out['distances'].append(entry)
    for text in args.accuracy:
        shape, scale = text.split(':')
        k, dim = (int(v) for v in shape.split('x'))
        base = rng.uniform(-1, 1, dim)
        x = (base[None, :] * (1 + float(scale) * rng.uniform(-1, 1, (k, dim)))).astype(np.float32)
        x64 = x.astype(np.float64)
        n64 = (x64 * x64).sum(1)
        iu = np.triu_indices(k, 1)
        diff = x64[iu[0]] - x64[iu[1]]
        truth = 2 * (diff * diff).sum(1) / (n64[iu[0]] + n64[iu[1]] + EPS)
        expanded = numpy_expanded(x)[iu].astype(np.float64)
        pd = pdist(x, 'sqeuclidean')
        pd_norm = 2 * pd / (n64[iu[0]] + n64[iu[1]] + EPS)
        rel = lambda got: np.abs(got - truth) / truth  # noqa: E731
        out['accuracy'].append({'K': k, 'dim': dim, 'scale': float(scale), 'medianDistance': float(np.median(truth)),
                                'numpyExpandedF32': {'maxRelativeError': float(rel(expanded).max()), 'medianRelativeError': float(np.median(rel(expanded))),
                                                     'negative': int((expanded < 0).sum()), 'pairs': int(truth.size)},
                                'pdistF64': {'maxRelativeError': float(rel(pd_norm).max())}})
    for k in args.linkage:
        pts = rng.uniform(-1, 1, (k, 16))
        y = pdist(pts)
        out['linkage'].append({'K': k, **time_call(lambda: linkage(y, method='average'), args.repeat, args.budget)})
    print(json.dumps(out))


if __name__ == '__main__':
    main()
