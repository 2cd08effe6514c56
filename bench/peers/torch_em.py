#!/usr/bin/env python3
"""PyTorch peer for the `sde` suite (quartic, Fig. 1): vectorized Euler–Maruyama in float32 with the state
(grid, paths) on the device, θ ← θ (1 + (μ − θ²) dt + ζ √dt z), z ~ N(0,1) drawn by torch per step.
Counts θ² < ε at the final step. TF32 is off (there are no matmuls here; set for parity with the project).

For a GPU machine: `--device cuda` (default when available); `--graph K` captures K steps in a CUDA graph and
replays it (removes the Python/launch overhead of ~6 small kernels per step; K = 0 runs eagerly).
On CPU, `--threads` sets torch's intra-op threads (default 1, to compare per core).

Prints one JSON object on stdout (times of every repetition, the median, path-steps/s).
Usage: torch_em.py --grid 100 --paths 1000 --steps 4000 --repeat 3 [--device cuda] [--graph 100]
"""
import argparse
import json
import math
import sys
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--grid', type=int, default=100)
    ap.add_argument('--paths', type=int, default=1000)
    ap.add_argument('--steps', type=int, default=4000)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--graph', type=int, default=0, help='steps per captured CUDA graph (0: eager)')
    ap.add_argument('--seed', type=int, default=1)
    args = ap.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device(args.device)
    cuda = dev.type == 'cuda'
    if not cuda:
        torch.set_num_threads(args.threads)
    if args.graph and not cuda:
        sys.exit('--graph needs a CUDA device')
    torch.manual_seed(args.seed)  # the default generators: CUDA-graph safe

    mu, dt, eps, f32 = 1.5, 0.0025, 1e-30, torch.float32
    g, p, steps = args.grid, args.paths, args.steps
    zs = (torch.linspace(0.0, 3.0, g, dtype=torch.float64) * math.sqrt(dt)).to(f32).to(dev)[:, None]
    theta = torch.empty((g, p), dtype=f32, device=dev)
    a = torch.empty_like(theta)
    z = torch.empty_like(theta)

    def init():
        theta0 = torch.randn(p, dtype=f32, device=dev) * 2.0  # θ0 ~ N(0, 2²), shared across the grid
        theta.copy_(theta0.expand(g, p))

    def step():
        torch.mul(theta, theta, out=a)
        a.neg_().add_(mu).mul_(dt)       # (μ − θ²) dt
        z.normal_()
        a.addcmul_(zs, z).add_(1.0)      # 1 + (μ − θ²) dt + ζ√dt z
        theta.mul_(a)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    graph = None
    if args.graph:
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            init()
            for _ in range(3):
                step()
        torch.cuda.current_stream().wait_stream(s)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(args.graph):
                step()
        sync()

    def run():
        init()
        done = 0
        if graph is not None:
            while done + args.graph <= steps:
                graph.replay()
                done += args.graph
        for _ in range(steps - done):
            step()
        return (theta * theta < eps).sum(dim=1).tolist()

    with torch.no_grad():
        # Warm-up (allocator, kernels) on a short run, then the timed repetitions.
        init()
        for _ in range(min(steps, 10)):
            step()
        sync()
        times, counts = [], None
        for _ in range(args.repeat):
            sync()
            t0 = time.perf_counter()
            counts = run()
            sync()
            times.append(time.perf_counter() - t0)

    times_sorted = sorted(times)
    k = len(times_sorted)
    med = times_sorted[k // 2] if k % 2 else 0.5 * (times_sorted[k // 2 - 1] + times_sorted[k // 2])
    path_steps = g * p * steps
    print(json.dumps({
        'peer': 'torch-em', 'torch': torch.__version__, 'python': sys.version.split()[0], 'model': 'quartic',
        'device': torch.cuda.get_device_name(dev) if cuda else f'cpu ({torch.get_num_threads()} threads)',
        'dtype': 'float32', 'allow_tf32': torch.backends.cuda.matmul.allow_tf32, 'cudaGraphSteps': args.graph,
        'grid': g, 'paths': p, 'steps': steps, 'dt': dt, 'epsilon': eps, 'mu': mu,
        'pathSteps': path_steps, 'times': times, 'median': med, 'pathStepsPerSecond': path_steps / med,
        'collapsedAtEnd': int(sum(counts)),
    }))


if __name__ == '__main__':
    main()
