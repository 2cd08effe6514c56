/** `collapse bench --help` (kept beside the command; src/cli/help.ts lists it). */
export const BENCH_HELP = `collapse bench: measure the kernels on this machine (its CPU, its GPU)

Runs every registered kernel on every backend available here, on a few problems typical of the paper's
workloads, and reports per row the median time per call, the rate in the kernel's own unit, and the fraction
of this machine's ceiling reached. The ceilings are measured on the spot, first: the CPU's FMA peak (AVX2
FMA chains, per core and on all the benchmark's threads) and copy bandwidth, and on a GPU the same two with
shaders. When Python with NumPy / SciPy / PyTorch is found, the same problems run there too and the ratios are
printed (never required; missing ones are named).

Usage: collapse bench [KERNEL...] [options]

Kernels: matmul (f32 GEMM, GFLOP/s, size m = n = k), philox_fill (standard normals, normals/s, size = normals
  per call), em_collapse (Fig. 1's quartic SDE, path-steps/s, size = paths × 100 noise levels × 1000 steps);
  the layers, in bytes moved per second: activation_forward / activation_backward (GELU) and add (size =
  elements), maxpool2d_forward / maxpool2d_backward (size = batch of 64×32×32, 2×2 windows) and
  global_avgpool_forward / global_avgpool_backward (size = batch of 512×4×4); neuron_distances (the collapse
  analysis's distance matrix, FLOP/s, size = neurons K of 4608 entries, against SciPy's pdist).
  Default: all of them.

Options:
  --backend B     all (default: every backend that opens here) or webgpu, native, js, or a list (native,js);
                  naming one that cannot run here is an error
  --threads N     threads of the native backend (default: all cores); peers that thread use as many
  --sizes LIST    sizes for every chosen kernel, comma-separated integers or powers 2^k (default: each
                  kernel's list; the js backend and software adapters get smaller ones)
  --quick         fewer sizes and shorter measurements: the whole run in under a minute
  --json FILE     also write the rows as JSON (an array: kernel, backend, size, unit, rate, medianSeconds,
                  ceilingFraction, ...); '-' writes them to stdout instead of the table
  --out DIR       also write DIR/bench.json (everything: machine, ceilings, rows), bench.md (the table in
                  markdown), bench.svg and bench.png (rate against size per kernel, ceilings dashed)
  --no-peers      skip the Python peers
  -h, --help      this help

How it measures: one untimed warm-up call, then samples of one or more calls (short calls are repeated so a
sample lasts ≥ 10 ms) until a time budget is spent (at least 5 samples; 3 with --quick); rates use the median.
Tensor kernels run at the tensor level (inputs resident, output reused, one flush per sample). Peers run
afterwards in their own processes (never at the same time). Other programs running skew every number.

A software WebGPU adapter (lavapipe / llvmpipe: the CPU pretending to be a GPU) is labelled as such: its rows
show the kernels run, not what a GPU does. Dawn prints "Warning: ... artificially reduced" on stderr when it
opens an adapter: harmless.

Examples:
  collapse bench --quick
  collapse bench matmul --backend native --threads 1 --sizes 256,512,1024
  collapse bench --json bench.json --out bench-results/
`;
