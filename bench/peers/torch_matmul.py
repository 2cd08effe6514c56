#!/usr/bin/env python3
"""PyTorch peer for the `matmul` suite: torch.mm(a, b) in float32 on the CPU, torch.set_num_threads(n)
(and the OpenMP / BLAS thread variables set before torch is imported). A transposed operand is a view,
`a.t()`, of the tensor stored the other way round. Timing as in numpy_matmul.py: an untimed warm-up, a
calibration call, then samples of `inner` calls (≥ ~10 ms each) until `--repeat` samples or `--budget`
seconds (at least 3).

When torch is not importable this prints {"missing": "<reason>"} and exits 0: the suite records the peer as
missing instead of failing. Prints one JSON object on stdout.

Usage: torch_matmul.py --threads 1 --shape 512x512x512 --shape 10x3136x128:tA [--repeat 9] [--budget 2]
"""
import argparse
import json
import os
import sys

from gemm_timing import time_product


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--shape', action='append', required=True, help='MxNxK[:tA][:tB], as numpy_matmul.py')
    ap.add_argument('--repeat', type=int, default=9, help='samples per shape at most')
    ap.add_argument('--budget', type=float, default=2.0, help='seconds of samples per shape (after 3 samples)')
    ap.add_argument('--seed', type=int, default=1)
    return ap.parse_args()


args = parse_args()
for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ[var] = str(args.threads)

try:
    import torch
except Exception as error:  # ImportError, or a broken install (missing shared library)
    print(json.dumps({'peer': 'torch-matmul', 'missing': f'torch not importable by {sys.executable}: {error}',
                      'python': sys.version.split()[0], 'threads': args.threads}))
    sys.exit(0)


def parse_shape(text):
    dims, *flags = text.split(':')
    m, n, k = (int(x) for x in dims.split('x'))
    return {'m': m, 'n': n, 'k': k, 'transposeA': 'tA' in flags, 'transposeB': 'tB' in flags}


def operands(g, s):
    m, n, k = s['m'], s['n'], s['k']
    a = torch.rand((k, m) if s['transposeA'] else (m, k), generator=g, dtype=torch.float32) * 2 - 1
    b = torch.rand((n, k) if s['transposeB'] else (k, n), generator=g, dtype=torch.float32) * 2 - 1
    return (a.t() if s['transposeA'] else a), (b.t() if s['transposeB'] else b)  # views, as a user would


def time_shape(g, s):
    a, b = operands(g, s)
    assert torch.mm(a, b).dtype == torch.float32
    return time_product(lambda: torch.mm(a, b), s, args.repeat, args.budget)


def main():
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        results = [time_shape(g, parse_shape(text)) for text in args.shape]
    blas = next((line.strip() for line in torch.__config__.show().splitlines() if 'BLAS_INFO' in line), None)
    print(json.dumps({'peer': 'torch-matmul', 'torch': torch.__version__, 'python': sys.version.split()[0],
                      'threads': torch.get_num_threads(), 'blas': blas, 'call': 'torch.mm(a, b) (float32, new C each call)',
                      'results': results}))


if __name__ == '__main__':
    main()
