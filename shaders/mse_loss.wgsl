// mse_loss.wgsl: mean squared error (PyTorch MSELoss, reduction 'mean') of prediction against target, n values:
//   grad[i] = (d + d) / n with d = prediction[i] - target[i];   stats = [sum d^2 / n, 0]   ([0, 0] when n = 0).
// src/kernels/mse_loss.ts holds the reference; native/mse_loss.cc is the CPU twin.
//
// Bindings (group 0):
//   0  uniform  Params  (below)
//   1  storage  array<f32>, read        prediction (n)
//   2  storage  array<f32>, read        expected: the target (n)
//   3  storage  array<f32>, read_write  grad (n)
//   4  storage  array<f32>, read_write  stats (2)
//
// Dispatch: exactly one workgroup (the loss is one sum, reduced on the device in a fixed order; the trainer's
// regression outputs are small). Thread t handles elements t, t + WG, ...
//
// Override constants:
//   WG    workgroup size, a power of two (default 256)
//
// Numerics: f32. Each thread adds its squares in blocks of `block` (a sum per block, then a running sum of
// blocks), then the WG partials are added as a fixed binary tree: deterministic, summation depth about
// 2 sqrt(n / WG) + 8. The gradient is one subtraction and one division.

override WG: u32 = 256u;

struct Params {
  n: u32,          // elements
  block: u32,      // elements a thread adds before folding them into its running sum (>= 1)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> prediction: array<f32>;
@group(0) @binding(2) var<storage, read> expected: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = f32(p.n);
  var total = 0.0;
  var i = lid;
  while (i < p.n) {
    var part = 0.0;
    for (var b = 0u; b < p.block && i < p.n; b++) {
      let d = prediction[i] - expected[i];
      grad[i] = (d + d) / n;
      part += d * d;
      i += WG;
    }
    total += part;
  }
  red[lid] = total;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      red[lid] = red[lid] + red[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    stats[0] = select(red[0] / n, 0.0, p.n == 0u);
    stats[1] = 0.0;
  }
}
