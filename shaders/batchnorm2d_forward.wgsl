// batchnorm2d_forward.wgsl: BatchNorm2d forward over x [N, C, H, W] (NCHW, f32), PyTorch semantics.
// Training: per channel c the batch mean mu and biased variance var over its n = N*H*W values,
//   y = x * scale + shift with scale = gamma * invstd, shift = beta - mu * scale, invstd = 1 / sqrt(var + eps);
//   save_mean = mu, save_invstd = invstd; running_mean = (1 - momentum) * running_mean + momentum * mu,
//   running_var = (1 - momentum) * running_var + momentum * (var * unbias), unbias = n / (n - 1) (from the host).
// Eval: mu = running_mean, invstd = 1 / sqrt(running_var + eps), the same y; running statistics untouched.
// src/kernels/batchnorm2d.ts holds the reference; native/batchnorm2d.cc is the CPU twin.
//
// Bindings (group 0):
//   0  uniform  Params  (batchnorm2d_channel.wgsl)
//   1  storage  array<f32>, read        x (N * C * H * W)
//   2  storage  array<f32>, read        gamma (C)
//   3  storage  array<f32>, read        beta (C)
//   4  storage  array<f32>, read_write  y (N * C * H * W)
//   5  storage  array<f32>, read_write  save_mean (C)
//   6  storage  array<f32>, read_write  save_invstd (C)
//   7  storage  array<f32>, read_write  running_mean (C): read, and updated in place when training
//   8  storage  array<f32>, read_write  running_var (C): likewise
//
// Dispatch: one workgroup per channel, `channels` workgroups as a 1-D count that may be split over (x, y)
// (limit per dimension); the linear id g = wid.y * num_workgroups.x + wid.x is the channel, ids >= channels
// return at once. Each workgroup makes up to three passes over its channel: sum, centred sums, y.
//
// Params, WG, addr and reduce: batchnorm2d_channel.wgsl (prepended).
//
// Numerics: f32. Thread t reduces the channel's elements t, t + WG, t + 2 WG, ... in blocks of `block` (a
// sum per block, then a running sum of blocks), then the workgroup adds the WG partials as a fixed binary
// tree: deterministic, and the summation depth is about 2 * block + log2(WG) ~ 2 sqrt(n / WG) + 8 additions.
// The variance is the corrected two-pass form (sum d^2 - (sum d)^2 / n) / n with d = x - mu (computed mu).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> save_mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> save_invstd: array<f32>;
@group(0) @binding(7) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(8) var<storage, read_write> running_var: array<f32>;

var<workgroup> stats: vec2<f32>;   // (mu, invstd) of the channel, from thread 0

// This thread's (sum x, 0) over its values of channel c.
fn sum_x(c: u32, lid: u32) -> vec2<f32> {
  var total = 0.0;
  var j = lid;
  while (j < p.count) {
    var part = 0.0;
    for (var b = 0u; b < p.block && j < p.count; b++) {
      part += x[addr(c, j)];
      j += WG;
    }
    total += part;
  }
  return vec2<f32>(total, 0.0);
}

// This thread's (sum d, sum d^2) with d = x - mu over its values of channel c.
fn sum_centred(c: u32, lid: u32, mu: f32) -> vec2<f32> {
  var total = vec2<f32>(0.0);
  var j = lid;
  while (j < p.count) {
    var part = vec2<f32>(0.0);
    for (var b = 0u; b < p.block && j < p.count; b++) {
      let d = x[addr(c, j)] - mu;
      part += vec2<f32>(d, d * d);
      j += WG;
    }
    total += part;
  }
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let c = wid.y * nwg.x + wid.x;
  if (c >= p.channels) {
    return;
  }
  let n = f32(p.count);
  if (p.training != 0u) {
    let mu = reduce(lid, sum_x(c, lid)).x / n;
    let s = reduce(lid, sum_centred(c, lid, mu));
    let v = max((s.y - s.x * s.x / n) / n, 0.0);
    if (lid == 0u) {
      let invstd = 1.0 / sqrt(v + p.eps);
      stats = vec2<f32>(mu, invstd);
      save_mean[c] = mu;
      save_invstd[c] = invstd;
      running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * mu;
      running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * (v * p.unbias);
    }
  } else if (lid == 0u) {
    let mu = running_mean[c];
    let invstd = 1.0 / sqrt(running_var[c] + p.eps);
    stats = vec2<f32>(mu, invstd);
    save_mean[c] = mu;
    save_invstd[c] = invstd;
  }
  workgroupBarrier();
  let st = stats;
  let scale = gamma[c] * st.y;
  let shift = beta[c] - st.x * scale;
  for (var j = lid; j < p.count; j += WG) {
    let i = addr(c, j);
    y[i] = x[i] * scale + shift;
  }
}
