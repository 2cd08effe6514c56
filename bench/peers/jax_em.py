#!/usr/bin/env python3
"""JAX peer for the `sde` suite (quartic, Fig. 1): vectorized Euler–Maruyama in float32, state (grid, paths),
θ ← θ (1 + (μ − θ²) dt + ζ √dt z) with z = jax.random.normal per step, the step loop a `lax.scan` under `jit`.
Counts θ² < ε at the final step. Compilation is excluded from the timings (one untimed call first).

Prints one JSON object on stdout (times of every repetition, the median, path-steps/s).
Usage: jax_em.py --grid 100 --paths 1000 --steps 4000 --repeat 3 [--unroll 8]
"""
import argparse
import json
import math
import sys
import time
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

jax.config.update('jax_default_matmul_precision', 'highest')  # no TF32 (no matmuls here anyway)

MU, DT, EPS = 1.5, 0.0025, 1e-30


@partial(jax.jit, static_argnames=('paths', 'steps', 'unroll'))
def simulate(key, zs, paths, steps, unroll=1):
    k0, key = jax.random.split(key)
    theta0 = 2.0 * jax.random.normal(k0, (paths,), dtype=jnp.float32)
    theta = jnp.broadcast_to(theta0, (zs.shape[0], paths))  # θ0 ~ N(0, 2²) shared across the grid

    def body(carry, _):
        theta, key = carry
        key, sub = jax.random.split(key)
        z = jax.random.normal(sub, theta.shape, dtype=jnp.float32)
        theta = theta * (1.0 + (MU - theta * theta) * DT + zs * z)
        return (theta, key), None

    (theta, _), _ = lax.scan(body, (theta, key), None, length=steps, unroll=unroll)
    return jnp.sum(theta * theta < EPS, axis=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--grid', type=int, default=100)
    ap.add_argument('--paths', type=int, default=1000)
    ap.add_argument('--steps', type=int, default=4000)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--unroll', type=int, default=1)
    ap.add_argument('--seed', type=int, default=1)
    args = ap.parse_args()
    g = args.grid
    zs = (jnp.linspace(0.0, 3.0, g, dtype=jnp.float32) * jnp.float32(math.sqrt(DT)))[:, None]
    key = jax.random.PRNGKey(args.seed)
    simulate(key, zs, paths=args.paths, steps=args.steps, unroll=args.unroll).block_until_ready()  # compile + warm-up
    times, counts = [], None
    for r in range(args.repeat):
        k = jax.random.fold_in(key, r + 1)
        t0 = time.perf_counter()
        counts = simulate(k, zs, paths=args.paths, steps=args.steps, unroll=args.unroll).block_until_ready()
        times.append(time.perf_counter() - t0)
    ts = sorted(times)
    n = len(ts)
    med = ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])
    path_steps = g * args.paths * args.steps
    dev = jax.devices()[0]
    print(json.dumps({
        'peer': 'jax-em', 'jax': jax.__version__, 'python': sys.version.split()[0], 'model': 'quartic',
        'device': f'{dev.platform}: {getattr(dev, "device_kind", str(dev))}', 'dtype': 'float32', 'unroll': args.unroll,
        'grid': g, 'paths': args.paths, 'steps': args.steps, 'dt': DT, 'epsilon': EPS, 'mu': MU,
        'pathSteps': path_steps, 'times': times, 'median': med, 'pathStepsPerSecond': path_steps / med,
        'collapsedAtEnd': int(counts.sum()),
    }))


if __name__ == '__main__':
    main()
