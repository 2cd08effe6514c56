#!/usr/bin/env python3
"""NumPy peer for the `sde` suite: vectorized Euler–Maruyama as in the paper's notebook.

State is an array (grid, paths); every step draws rng.standard_normal for the whole state and updates it
with NumPy ufuncs (single-threaded). Collapsed paths are counted at the record steps.

  quartic (Fig. 1): dθ = (μθ − θ³) dt + ζθ dB, θ0 ~ N(0, 2²) shared across the grid, count θ² < ε.
  neuron  (Fig. 2): f(x) = w2 tanh(w1 x) on m points, dw = −∇L dt + √(2α/m) Σ_i ∇f(x_i) dB_i,
                    the (grid, paths, m) tanh per step, count ‖w‖ < ε.

Prints one JSON object on stdout: the problem, every repetition's seconds, the median, path-steps/s.
Usage: numpy_em.py --model quartic --grid 100 --paths 1000 --steps 4000 --repeat 3 [--dtype float32]
"""
import argparse
import json
import sys
import time

import numpy as np


def quartic(rng, noise, paths, steps, dt, eps, mu, record, dtype):
    g = len(noise)
    theta0 = rng.normal(0.0, 2.0, size=paths).astype(dtype)
    theta = np.empty((g, paths), dtype=dtype)
    theta[:] = theta0  # shared initial condition across the grid
    zs = (np.asarray(noise, dtype=np.float64) * np.sqrt(dt)).astype(dtype)[:, None]
    a = np.empty_like(theta)
    z = np.empty_like(theta)
    one, mu_, dt_ = dtype(1), dtype(mu), dtype(dt)
    counts = {}
    rec = set(record)
    for s in range(1, steps + 1):
        # θ ← θ (1 + (μ − θ²) dt + ζ √dt z), all in place
        np.multiply(theta, theta, out=a)
        np.subtract(mu_, a, out=a)
        np.multiply(a, dt_, out=a)
        rng.standard_normal(out=z, dtype=dtype)
        np.multiply(z, zs, out=z)
        np.add(a, z, out=a)
        np.add(a, one, out=a)
        np.multiply(theta, a, out=theta)
        if s in rec:
            counts[s] = np.count_nonzero(theta * theta < eps, axis=1).tolist()
    return counts


def neuron(rng, noise, paths, steps, dt, eps, m, record, dtype):
    g = len(noise)
    x = rng.standard_normal(m).astype(dtype)
    y = (x + 0.1 * rng.standard_normal(m)).astype(dtype)
    w1 = np.empty((g, paths), dtype=dtype)
    w2 = np.empty((g, paths), dtype=dtype)
    w1[:] = rng.normal(0.0, 1e-3, size=paths).astype(dtype)
    w2[:] = rng.normal(0.0, 1e-3, size=paths).astype(dtype)
    c = (np.sqrt(2.0 * np.asarray(noise, dtype=np.float64) / m) * np.sqrt(dt)).astype(dtype)[:, None]
    dt_m = dtype(dt / m)
    t = np.empty((g, paths, m), dtype=dtype)
    g1 = np.empty_like(t)
    res = np.empty_like(t)
    z = np.empty_like(t)
    counts = {}
    rec = set(record)
    for s in range(1, steps + 1):
        np.multiply(w1[..., None], x, out=t)
        np.tanh(t, out=t)                         # t = tanh(w1 x_i)
        np.multiply(w2[..., None], t, out=res)
        np.subtract(res, y, out=res)              # residual w2 t − y_i
        np.multiply(t, t, out=g1)
        np.subtract(1, g1, out=g1)
        np.multiply(g1, w2[..., None], out=g1)
        np.multiply(g1, x, out=g1)                # ∂f/∂w1 = w2 (1 − t²) x_i ; ∂f/∂w2 = t
        rng.standard_normal(out=z, dtype=dtype)
        # w ← w − (dt/m) Σ res ∇f + c √dt Σ ∇f z
        np.multiply(res, -dt_m, out=res)
        np.multiply(z, c[..., None], out=z)
        np.add(res, z, out=z)                     # −(dt/m) res + c√dt z, per data point
        d1 = np.einsum('gpm,gpm->gp', g1, z)
        d2 = np.einsum('gpm,gpm->gp', t, z)
        w1 += d1
        w2 += d2
        if s in rec:
            counts[s] = np.count_nonzero(np.hypot(w1, w2) < eps, axis=1).tolist()
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', choices=['quartic', 'neuron'], default='quartic')
    ap.add_argument('--grid', type=int, default=100)
    ap.add_argument('--paths', type=int, default=1000)
    ap.add_argument('--steps', type=int, default=4000)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--dtype', choices=['float32', 'float64'], default='float32')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--m', type=int, default=32)
    args = ap.parse_args()
    dtype = np.float32 if args.dtype == 'float32' else np.float64
    if args.model == 'quartic':
        dt, eps, hi = 0.0025, 1e-30, 3.0
        noise = np.linspace(0.0, hi, args.grid)
        run = lambda rng: quartic(rng, noise, args.paths, args.steps, dt, eps, 1.5, [args.steps], dtype)
    else:
        dt, eps, hi = 0.01, 1e-2, 2.0
        noise = np.linspace(0.0, hi, args.grid)
        run = lambda rng: neuron(rng, noise, args.paths, args.steps, dt, eps, args.m, [args.steps], dtype)
    path_steps = args.grid * args.paths * args.steps
    times = []
    counts = None
    for r in range(args.repeat):
        rng = np.random.default_rng(args.seed + r)
        t0 = time.perf_counter()
        counts = run(rng)
        times.append(time.perf_counter() - t0)
    med = float(np.median(times))
    out = {
        'peer': 'numpy-em', 'numpy': np.__version__, 'python': sys.version.split()[0],
        'model': args.model, 'dtype': args.dtype, 'grid': args.grid, 'paths': args.paths, 'steps': args.steps,
        'm': args.m if args.model == 'neuron' else None, 'dt': dt, 'epsilon': eps,
        'pathSteps': path_steps, 'times': times, 'median': med, 'pathStepsPerSecond': path_steps / med,
        'collapsedAtEnd': sum(counts[args.steps]),
        'threads': 1,
    }
    print(json.dumps(out))


if __name__ == '__main__':
    main()
