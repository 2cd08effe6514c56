#!/usr/bin/env python3
"""PyTorch peer for the conv2d benchmarks: one pass of a 2-D convolution in float32 on the CPU with
torch.set_num_threads(n) (and the OpenMP / BLAS thread variables set before torch is imported), on the layer of
src/bench/problems.ts (`--layer C,H,W,O,K,stride,padding`) at each `--batch`:
  forward  torch.nn.functional.conv2d(x, w, b, stride, padding)
  input    torch.ops.aten.convolution_backward(gy, x, w, ..., output_mask=[True, False, False])   (gradX)
  weight   torch.ops.aten.convolution_backward(gy, x, w, ..., output_mask=[False, True, True])   (gradW, gradB)
Timing: an untimed warm-up, a calibration call, then samples of `inner` calls (>= ~10 ms each) until `--repeat`
samples or `--budget` seconds (at least 3).

When torch is not importable this prints {"missing": "<reason>"} and exits 0: the suite records the peer as
missing instead of failing. Prints one JSON object on stdout.

Usage: torch_conv2d.py --pass forward --layer 64,32,32,64,3,1,1 --batch 16 --batch 64 [--threads 1] [--repeat 9] [--budget 2]
"""
import argparse
import json
import os
import statistics
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pass', dest='which', choices=['forward', 'input', 'weight'], required=True)
    ap.add_argument('--layer', required=True, help='inChannels,height,width,outChannels,kernel,stride,padding')
    ap.add_argument('--batch', type=int, action='append', required=True)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--repeat', type=int, default=9, help='samples per batch at most')
    ap.add_argument('--budget', type=float, default=2.0, help='seconds of samples per batch (after 3 samples)')
    ap.add_argument('--seed', type=int, default=1)
    return ap.parse_args()


args = parse_args()
for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ[var] = str(args.threads)

try:
    import torch
except Exception as error:  # ImportError, or a broken install (missing shared library)
    print(json.dumps({'peer': 'torch-conv2d', 'missing': f'torch not importable by {sys.executable}: {error}',
                      'python': sys.version.split()[0], 'threads': args.threads}))
    sys.exit(0)

# One freed 30 MB buffer: glibc then serves blocks below that size from its heap (a dynamic mmap threshold), as in
# any training process. Without it, a process timing one layer mmaps and page-faults its activations on every call
# and torch runs ~4x slower (35 vs 150 GFLOP/s at 128->128 on 16x16, one thread).
torch.empty(30 * 2**20 // 4)  # allocated and freed at once


def time_call(call):
    call()  # warm-up: threads, page faults, oneDNN primitive creation
    t0 = time.perf_counter()
    call()
    inner = max(1, int(0.01 / max(time.perf_counter() - t0, 1e-7)))
    times = []
    started = time.perf_counter()
    while len(times) < args.repeat and (len(times) < 3 or time.perf_counter() - started < args.budget):
        t0 = time.perf_counter()
        for _ in range(inner):
            call()
        times.append((time.perf_counter() - t0) / inner)
    return inner, times


def time_batch(g, batch):
    c, h, w_, o, k, s, p = (int(v) for v in args.layer.split(','))
    x = torch.rand((batch, c, h, w_), generator=g) * 2 - 1
    w = torch.rand((o, c, k, k), generator=g) * 2 - 1
    b = torch.rand((o,), generator=g) * 2 - 1
    y = torch.nn.functional.conv2d(x, w, b, s, p)
    gy = torch.rand(tuple(y.shape), generator=g) * 2 - 1
    backward = lambda mask: torch.ops.aten.convolution_backward(gy, x, w, [o], [s, s], [p, p], [1, 1], False, [0, 0], 1, mask)
    call = {
        'forward': lambda: torch.nn.functional.conv2d(x, w, b, s, p),
        'input': lambda: backward([True, False, False]),
        'weight': lambda: backward([False, True, True]),
    }[args.which]
    inner, times = time_call(call)
    flops = 2 * batch * o * y.shape[2] * y.shape[3] * c * k * k
    med = statistics.median(times)
    return {'batch': batch, 'flops': flops, 'inner': inner, 'times': times, 'median': med, 'flopsPerSecond': flops / med}


def main():
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        results = [time_batch(g, batch) for batch in args.batch]
    print(json.dumps({'peer': 'torch-conv2d', 'torch': torch.__version__, 'python': sys.version.split()[0],
                      'threads': torch.get_num_threads(), 'pass': args.which, 'layer': args.layer, 'results': results}))


if __name__ == '__main__':
    main()
