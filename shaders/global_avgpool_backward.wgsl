// global_avgpool_backward.wgsl: gradX[q * plane + i] = gradY[q] / plane, the gradient of the plane mean
// broadcast over each plane (plane = height * width). src/kernels/global_avgpool.ts declares the Params fields
// and holds the reference; native/global_avgpool.cc is the CPU twin.
//
// Bindings (group 0):
//   0  uniform  Params  (below) planes, plane, groups
//   1  storage  array<f32>, read        gradY (planes)
//   2  storage  array<f32>, read_write  gradX (planes * plane)
//
// Dispatch: EPT elements of gradX per thread, WG threads per workgroup; thread `lid` of workgroup g handles
// g * WG * EPT + j * WG + lid, j < EPT; groups = ceil(planes * plane / (WG * EPT)), split over (x, y), linear id
// y * num_workgroups.x + x, ids >= `groups` return at once.
//
// Override constants:
//   WG    workgroup size (default 256)
//   EPT   elements per thread (default 4)
//
// Numerics: one f32 division per element (WGSL allows 2.5 ulp; correctly rounded where the device divides
// exactly, and then bit-identical to the reference).

override WG: u32 = 256u;
override EPT: u32 = 4u;

struct Params {
  planes: u32,     // batch * channels
  plane: u32,      // height * width
  groups: u32,     // workgroups that carry work
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad_y: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad_x: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  if (group >= params.groups) {
    return;
  }
  let n = params.planes * params.plane;
  let size = f32(params.plane);
  let base = group * WG * EPT + lid;
  for (var j = 0u; j < EPT; j++) {
    let i = base + j * WG;
    if (i < n) {
      grad_x[i] = grad_y[i / params.plane] / size;
    }
  }
}
