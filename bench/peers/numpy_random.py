#!/usr/bin/env python3
"""NumPy peer for the `random` suite: np.random.default_rng(seed).standard_normal(n) (PCG64 + ziggurat),
float32 and the float64 default, single-threaded. Each repetition draws n fresh normals into a new array
(as engine.random.normal(n) returns a new Float32Array), and again into one reused array (out=, as
engine.random.normal(n, { out })). Prints one JSON object on stdout.

Usage: numpy_random.py --n 16777216 --repeat 7 [--seed 1]
"""
import argparse
import json
import sys
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=1 << 24)
    ap.add_argument('--repeat', type=int, default=7)
    ap.add_argument('--seed', type=int, default=1)
    args = ap.parse_args()
    results = []
    for name, dtype, reuse in (('float32', np.float32, False), ('float64', np.float64, False),
                               ('float32-out', np.float32, True), ('float64-out', np.float64, True)):
        rng = np.random.default_rng(args.seed)
        rng.standard_normal(1024, dtype=dtype)  # warm-up
        out = np.empty(args.n, dtype=dtype) if reuse else None
        if reuse:
            rng.standard_normal(dtype=dtype, out=out)  # touch the pages once, as the engine's reused array is
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            z = rng.standard_normal(dtype=dtype, out=out) if reuse else rng.standard_normal(args.n, dtype=dtype)
            times.append(time.perf_counter() - t0)
        med = float(np.median(times))
        results.append({
            'name': f'numpy standard_normal {name}', 'dtype': name, 'n': args.n, 'times': times, 'median': med,
            'perSecond': args.n / med, 'mean': float(z.mean()), 'std': float(z.std()),
        })
    print(json.dumps({'peer': 'numpy-random', 'numpy': np.__version__, 'python': sys.version.split()[0],
                      'bitGenerator': 'PCG64', 'threads': 1, 'results': results}))


if __name__ == '__main__':
    main()
