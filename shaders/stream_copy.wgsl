// stream_copy.wgsl: the device's memory-bandwidth ceiling for `collapse bench`: out = in, f32, one element per
// thread (consecutive threads, consecutive addresses). Counted as 8 bytes per element (one read, one write).
// src/kernels/stream_copy.ts holds the reference; native/stream_copy.cc is the CPU twin.
//
// Bindings (group 0):
//   0  uniform  Params  (below) n, groups
//   1  storage  array<f32>, read        in (n)
//   2  storage  array<f32>, read_write  out (n)
//
// Dispatch: n threads in workgroups of WG; the workgroup count may be split over x and y (limit per
// dimension), the linear id is y * num_workgroups.x + x and ids >= `groups` return at once.
//
// Override constants:
//   WG    workgroup size (default 256)
//
// Numerics: bit-exact.

override WG: u32 = 256u;

struct Params {
  n: u32,          // elements
  groups: u32,     // workgroups that carry work
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  if (group >= p.groups) {
    return;
  }
  let i = group * WG + lid;
  if (i < p.n) {
    dst[i] = src[i];
  }
}
