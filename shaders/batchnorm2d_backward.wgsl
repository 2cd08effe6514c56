// batchnorm2d_backward.wgsl: BatchNorm2d backward over [N, C, H, W] (NCHW, f32), PyTorch semantics, from the
// statistics the forward saved (mu = save_mean, invstd = save_invstd). Per channel c, over its n = N*H*W values:
//   grad_beta = sum gy,  dot = sum gy * (x - mu),  grad_gamma = dot * invstd;
//   training: grad_x = (gy - sum gy / n - (x - mu) * k) * (invstd * gamma), k = dot * invstd * invstd / n
//             (the gradient through the batch statistics);
//   eval:     grad_x = gy * (invstd * gamma).
// src/kernels/batchnorm2d.ts holds the reference; native/batchnorm2d.cc is the CPU twin.
//
// Bindings (group 0):
//   0  uniform  Params  (batchnorm2d_channel.wgsl)
//   1  storage  array<f32>, read        grad_y (N * C * H * W)
//   2  storage  array<f32>, read        x (N * C * H * W)
//   3  storage  array<f32>, read        gamma (C)
//   4  storage  array<f32>, read        save_mean (C)
//   5  storage  array<f32>, read        save_invstd (C)
//   6  storage  array<f32>, read_write  grad_x (N * C * H * W)
//   7  storage  array<f32>, read_write  grad_gamma (C)
//   8  storage  array<f32>, read_write  grad_beta (C)
//
// Dispatch: one workgroup per channel, `channels` workgroups as a 1-D count that may be split over (x, y)
// (limit per dimension); the linear id g = wid.y * num_workgroups.x + wid.x is the channel, ids >= channels
// return at once. Two passes over the channel: the sums, then grad_x.
//
// Params, WG, addr and reduce: batchnorm2d_channel.wgsl (prepended).
//
// Numerics: f32, the summation order of batchnorm2d_forward.wgsl (blocks of `block` per thread, then a fixed
// binary tree over the workgroup): deterministic, depth about 2 sqrt(n / WG) + 8 additions.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad_y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> save_mean: array<f32>;
@group(0) @binding(5) var<storage, read> save_invstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad_x: array<f32>;
@group(0) @binding(7) var<storage, read_write> grad_gamma: array<f32>;
@group(0) @binding(8) var<storage, read_write> grad_beta: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let c = wid.y * nwg.x + wid.x;
  if (c >= p.channels) {
    return;
  }
  let mu = save_mean[c];
  let invstd = save_invstd[c];
  var total = vec2<f32>(0.0);
  var j = lid;
  while (j < p.count) {
    var part = vec2<f32>(0.0);
    for (var b = 0u; b < p.block && j < p.count; b++) {
      let i = addr(c, j);
      let gy = grad_y[i];
      part += vec2<f32>(gy, gy * (x[i] - mu));
      j += WG;
    }
    total += part;
  }
  let s = reduce(lid, total);   // (sum gy, dot)
  if (lid == 0u) {
    grad_beta[c] = s.x;
    grad_gamma[c] = s.y * invstd;
  }
  let scale = invstd * gamma[c];
  if (p.training == 0u) {
    for (var j = lid; j < p.count; j += WG) {
      let i = addr(c, j);
      grad_x[i] = grad_y[i] * scale;
    }
    return;
  }
  let n = f32(p.count);
  let mean_gy = s.x / n;
  let k = s.y * invstd * invstd / n;
  for (var j = lid; j < p.count; j += WG) {
    let i = addr(c, j);
    grad_x[i] = (grad_y[i] - mean_gy - (x[i] - mu) * k) * scale;
  }
}
