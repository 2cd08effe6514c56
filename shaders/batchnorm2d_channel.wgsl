// batchnorm2d_channel.wgsl: what batchnorm2d_forward.wgsl and batchnorm2d_backward.wgsl share, prepended to each
// (their KernelSpec's `shaders` list): the one Params struct of both kernels (src/kernels/batchnorm2d.ts packs it),
// the address of a channel's j-th value, and the workgroup's fixed-order reduction. One workgroup owns one channel.
//
// Bindings: none here; each kernel declares `p` (binding 0, this Params) and its own arrays.
//
// Override constants:
//   WG    workgroup size, a power of two (default 256)
//
// Numerics: `reduce` adds the WG partials as a fixed binary tree (deterministic; log2(WG) additions deep).

override WG: u32 = 256u;

struct Params {
  channels: u32,   // C
  hw: u32,         // H * W
  count: u32,      // n = N * H * W values per channel
  training: u32,   // 1: batch statistics (forward: and the running update; backward: through the batch statistics)
  momentum: f32,   // forward only: weight of the batch statistic in the running average
  eps: f32,        // forward only: added to the variance
  unbias: f32,     // forward only: n / (n - 1), rounded once on the host (0 when n < 2, eval only)
  block: u32,      // elements a thread adds before folding them into its running sum (>= 1)
}

var<workgroup> red: array<vec2<f32>, WG>;

// Index of value j (in n, h, w order) of channel c in an NCHW tensor.
fn addr(c: u32, j: u32) -> u32 {
  let seg = j / p.hw;
  return (seg * p.channels + c) * p.hw + (j - seg * p.hw);
}

// The workgroup's total of each thread's v, added as a fixed binary tree (WG a power of two). Every thread must call
// it (it holds barriers); it may be called again at once.
fn reduce(lid: u32, v: vec2<f32>) -> vec2<f32> {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      red[lid] = red[lid] + red[lid + s];
    }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();   // red is written again by the next reduction
  return total;
}
