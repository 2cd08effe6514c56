// sgd_update.wgsl: one torch.optim.SGD step (no dampening, no Nesterov) on one parameter tensor, in place:
//   d = fma(weight_decay, param, grad);  buf = fma(momentum, buf, d);  param = fma(-lr, buf, param)
// and, when momentum = 0, buf = d and param = fma(-lr, d, param). Each line is one fused multiply-add rounded
// once, the order src/kernels/sgd_update.ts (reference: fmaf) and native/sgd_update.cc follow too.
//
// Bindings (group 0):
//   0  uniform  Params  (below)
//   1  storage  array<f32>, read        grad (n)
//   2  storage  array<f32>, read_write  param (n): read and updated in place
//   3  storage  array<f32>, read_write  buf (n), the momentum buffer: read and updated in place
//
// Dispatch: n threads in workgroups of WG; the workgroup count may be split over x and y (limit per
// dimension), the linear id is y * num_workgroups.x + x and ids >= `groups` return at once.
//
// Override constants:
//   WG    workgroup size (default 256)
//
// Numerics: bit-identical to the reference and to native where the device's fma() is fused (hardware GPUs).
// WGSL allows an unfused fma(), and lavapipe's is (every result of 100k equalled mul-then-add): there each line
// may round its product first, about one ulp per line.

override WG: u32 = 256u;

struct Params {
  lr: f32,
  momentum: f32,
  weight_decay: f32,
  n: u32,          // elements
  groups: u32,     // workgroups that carry work
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> buf: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  if (group >= p.groups) {
    return;
  }
  let i = group * WG + lid;
  if (i >= p.n) {
    return;
  }
  let w = param[i];
  let d = fma(p.weight_decay, w, grad[i]);
  var b = d;
  if (p.momentum != 0.0) {
    b = fma(p.momentum, buf[i], d);
  }
  buf[i] = b;
  param[i] = fma(-p.lr, b, w);
}
