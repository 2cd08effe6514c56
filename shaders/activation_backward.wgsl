// activation_backward.wgsl: gradX = gradY * f'(x) elementwise from the forward's input x, f = ReLU, GELU (erf
// form) or tanh by `kind`, f32, PyTorch's semantics: relu'(0) = 0 and ReLU selects (gradX = x <= 0 ? 0 : gradY,
// so a NaN x passes gradY, as threshold_backward does); tanh' = sech^2 = 1 - tanh^2 computed as 4e / (1 + e)^2,
// e = exp(-2|x|), which keeps its relative accuracy where 1 - tanh^2 cancels. Prepended with activation.wgsl;
// src/kernels/activation.ts declares the Params fields and holds the f64 reference; native/activation.cc is the
// CPU twin.
//
// Bindings (group 0):
//   0  uniform  Params  (activation.wgsl) kind, n, groups
//   1  storage  array<f32>, read        x (n)
//   2  storage  array<f32>, read        gradY (n)
//   3  storage  array<f32>, read_write  gradX (n)
//
// Dispatch: as activation_forward.wgsl: EPT elements per thread, strided by WG inside a workgroup's block of
// WG * EPT; groups = ceil(n / (WG * EPT)), split over (x, y), linear id y * num_workgroups.x + x.
//
// Params, WG and EPT: activation.wgsl (prepended).
//
// Numerics: relu exact; gelu' and sech^2 as stated in activation.wgsl, times one rounding for the product with gradY.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> grad_y: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_x: array<f32>;

fn gradient(kind: u32, v: f32, g: f32) -> f32 {
  if (kind == 0u) {
    return select(g, 0.0, v <= 0.0);
  }
  if (kind == 1u) {
    return g * gelu_grad_f32(v);
  }
  return g * sech2_f32(v);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  if (group >= params.groups) {
    return;
  }
  let base = group * WG * EPT + lid;
  let kind = params.kind;
  for (var j = 0u; j < EPT; j++) {
    let i = base + j * WG;
    if (i < params.n) {
      grad_x[i] = gradient(kind, x[i], grad_y[i]);
    }
  }
}
