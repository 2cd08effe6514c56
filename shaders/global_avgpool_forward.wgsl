// global_avgpool_forward.wgsl: y[q] = mean of plane q (plane = height * width consecutive f32s of an NCHW tensor),
// PyTorch's adaptive_avg_pool2d to 1x1: the sum divided by the plane size. src/kernels/global_avgpool.ts declares
// the Params fields and holds the reference; native/global_avgpool.cc is the CPU twin.
//
// Bindings (group 0):
//   0  uniform  Params  (below) planes, plane, groups
//   1  storage  array<f32>, read        x (planes * plane)
//   2  storage  array<f32>, read_write  y (planes)
//
// Dispatch: one workgroup of WG threads per plane (groups = planes), split over (x, y) (limit per dimension);
// linear id y * num_workgroups.x + x, ids >= `groups` return at once. Thread t sums elements t, t + WG, ...
// (each step of the workgroup reads one contiguous run), then a tree sum in workgroup memory.
//
// Override constants:
//   WG    workgroup size, a power of two (default 64)
//
// Numerics: f32 sums, every element on a path of at most ceil(plane / WG) + log2(WG) additions:
// |error| <= plane * 2^-24 * sum |x| / plane + one rounding of the division.

override WG: u32 = 64u;

struct Params {
  planes: u32,     // batch * channels
  plane: u32,      // height * width
  groups: u32,     // workgroups that carry work (= planes)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  // Uniform per workgroup: the whole workgroup leaves together, before any barrier.
  if (group >= params.groups) {
    return;
  }
  let base = group * params.plane;
  var sum = 0.0;
  for (var i = lid; i < params.plane; i += WG) {
    sum += x[base + i];
  }
  partial[lid] = sum;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    y[group] = partial[0] / f32(params.plane);
  }
}
