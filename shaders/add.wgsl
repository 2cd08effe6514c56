// add.wgsl: y = a + b elementwise, f32 (residual connections, sums of gradient branches). src/kernels/add.ts
// declares the Params fields and holds the reference; native/add.cc is the CPU twin.
//
// Bindings (group 0):
//   0  uniform  Params  (below) n, groups
//   1  storage  array<f32>, read        a (n)
//   2  storage  array<f32>, read        b (n)
//   3  storage  array<f32>, read_write  y (n)
//
// Dispatch: EPT elements per thread, WG threads per workgroup; thread `lid` of workgroup g handles
// g * WG * EPT + j * WG + lid, j < EPT (each load and store of a workgroup is contiguous); groups =
// ceil(n / (WG * EPT)), split over (x, y), linear id y * num_workgroups.x + x, ids >= `groups` return.
//
// Override constants:
//   WG    workgroup size (default 256)
//   EPT   elements per thread (default 4)
//
// Numerics: one correctly rounded f32 addition: bit-identical to the reference.

override WG: u32 = 256u;
override EPT: u32 = 4u;

struct Params {
  n: u32,          // elements
  groups: u32,     // workgroups that carry work
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  if (group >= params.groups) {
    return;
  }
  let base = group * WG * EPT + lid;
  for (var j = 0u; j < EPT; j++) {
    let i = base + j * WG;
    if (i < params.n) {
      y[i] = a[i] + b[i];
    }
  }
}
