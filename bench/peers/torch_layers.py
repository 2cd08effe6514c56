#!/usr/bin/env python3
"""PyTorch peer for the layer kernels (src/bench/layers.ts): the same problems as the engine's benchmarks, in
float32 on the CPU with torch.set_num_threads(n) (and the OpenMP / BLAS thread variables set before torch is
imported), under torch.no_grad(). Each call allocates its output, as PyTorch does; the engine writes into
tensors it keeps. Timing: an untimed warm-up, a calibration call, then samples of `inner` calls (>= ~10 ms each)
until `--repeat` samples or `--budget` seconds (at least 3).

  activation_forward        F.gelu(x)                                   x: n elements
  activation_backward       aten.gelu_backward(g, x)                    n elements
  maxpool2d_forward         F.max_pool2d(x, 2, 2, return_indices=True)  x: [size, 64, 32, 32]
  maxpool2d_backward        aten.max_pool2d_with_indices_backward       the same shapes
  global_avgpool_forward    F.adaptive_avg_pool2d(x, 1)                 x: [size, 512, 4, 4]
  global_avgpool_backward   aten._adaptive_avg_pool2d_backward          the same shapes
  add                       torch.add(a, b)                             n elements

When torch is not importable this prints {"missing": "<reason>"} and exits 0. Prints one JSON object on stdout.

Usage: torch_layers.py --op activation_forward --size 1048576 [--size ...] [--threads 2] [--repeat 9] [--budget 1.5]
"""
import argparse
import json
import os
import statistics
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument('--op', required=True)
    ap.add_argument('--size', type=int, action='append', required=True)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--repeat', type=int, default=9)
    ap.add_argument('--budget', type=float, default=1.5)
    return ap.parse_args()


args = parse_args()
for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ[var] = str(args.threads)

try:
    import torch
    import torch.nn.functional as F
except Exception as error:  # ImportError, or a broken install (missing shared library)
    print(json.dumps({'peer': 'torch-layers', 'missing': f'torch not importable by {sys.executable}: {error}',
                      'python': sys.version.split()[0], 'threads': args.threads}))
    sys.exit(0)


def rand(g, *shape):
    return torch.rand(shape, generator=g, dtype=torch.float32) * 2 - 1


def problem(op, size, g):
    """The call to time, as a closure over its operands, and its description."""
    aten = torch.ops.aten
    if op == 'activation_forward':
        x = rand(g, size) * 4
        return lambda: F.gelu(x), 'F.gelu(x)'
    if op == 'activation_backward':
        x, gy = rand(g, size) * 4, rand(g, size)
        return lambda: aten.gelu_backward(gy, x), 'aten.gelu_backward(g, x)'
    if op == 'add':
        a, b = rand(g, size), rand(g, size)
        return lambda: torch.add(a, b), 'torch.add(a, b)'
    if op in ('maxpool2d_forward', 'maxpool2d_backward'):
        x = rand(g, size, 64, 32, 32)
        if op == 'maxpool2d_forward':
            return lambda: F.max_pool2d(x, 2, 2, return_indices=True), 'F.max_pool2d(x, 2, 2, return_indices=True)'
        y, idx = F.max_pool2d(x, 2, 2, return_indices=True)
        gy = rand(g, *y.shape)
        return (lambda: aten.max_pool2d_with_indices_backward(gy, x, [2, 2], [2, 2], [0, 0], [1, 1], False, idx),
                'aten.max_pool2d_with_indices_backward')
    if op in ('global_avgpool_forward', 'global_avgpool_backward'):
        x = rand(g, size, 512, 4, 4)
        if op == 'global_avgpool_forward':
            return lambda: F.adaptive_avg_pool2d(x, 1), 'F.adaptive_avg_pool2d(x, 1)'
        gy = rand(g, size, 512, 1, 1)
        return lambda: aten._adaptive_avg_pool2d_backward(gy, x), 'aten._adaptive_avg_pool2d_backward(g, x)'
    raise SystemExit(f'unknown --op {op}')


def time_call(call):
    call()  # warm-up: threads, page faults
    t0 = time.perf_counter()
    call()
    first = time.perf_counter() - t0
    inner = max(1, int(0.01 / max(first, 1e-7)))
    times = []
    started = time.perf_counter()
    while len(times) < args.repeat and (len(times) < 3 or time.perf_counter() - started < args.budget):
        t0 = time.perf_counter()
        for _ in range(inner):
            call()
        times.append((time.perf_counter() - t0) / inner)
    return {'inner': inner, 'times': times, 'median': statistics.median(times)}


def main():
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(1)
    results, described = [], None
    with torch.no_grad():
        for size in args.size:
            call, described = problem(args.op, size, g)
            results.append({'size': size, **time_call(call)})
    print(json.dumps({'peer': 'torch-layers', 'op': args.op, 'call': described, 'torch': torch.__version__,
                      'python': sys.version.split()[0], 'threads': torch.get_num_threads(), 'results': results}))


if __name__ == '__main__':
    main()
