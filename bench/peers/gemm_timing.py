"""The timing loop of the GEMM peers (numpy_matmul.py, torch_matmul.py): one warm-up call, one to calibrate how
many calls make a ~10 ms sample, then samples until `repeat` of them or `budget` seconds (at least 3)."""
import statistics
import time


def time_product(product, s, repeat, budget):
    product()  # warm-up: BLAS threads, page faults
    t0 = time.perf_counter()
    c = product()
    first = time.perf_counter() - t0
    assert tuple(c.shape) == (s['m'], s['n'])
    inner = max(1, int(0.01 / max(first, 1e-7)))
    times = []
    started = time.perf_counter()
    while len(times) < repeat and (len(times) < 3 or time.perf_counter() - started < budget):
        t0 = time.perf_counter()
        for _ in range(inner):
            product()
        times.append((time.perf_counter() - t0) / inner)
    med = statistics.median(times)
    flops = 2 * s['m'] * s['n'] * s['k']
    return {**s, 'flops': flops, 'inner': inner, 'times': times, 'median': med, 'flopsPerSecond': flops / med}
