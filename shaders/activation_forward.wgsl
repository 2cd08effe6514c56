// activation_forward.wgsl: y = f(x) elementwise, f = ReLU, GELU (erf form) or tanh by `kind`, f32, PyTorch's
// semantics (relu(NaN) = NaN, relu(-0) = -0). Prepended with activation.wgsl (erf, tanh); src/kernels/activation.ts
// declares the Params fields and holds the f64 reference; native/activation.cc is the CPU twin.
//
// Bindings (group 0):
//   0  uniform  Params  (activation.wgsl) kind, n, groups
//   1  storage  array<f32>, read        x (n)
//   2  storage  array<f32>, read_write  y (n)
//
// Dispatch: EPT elements per thread, WG threads per workgroup, groups = ceil(n / (WG * EPT)) workgroups; the
// count may be split over x and y (limit per dimension), the linear id is y * num_workgroups.x + x and ids
// >= `groups` return at once. Thread `lid` of workgroup g handles g * WG * EPT + j * WG + lid, j < EPT, so
// each of the EPT loads and stores of a workgroup is one contiguous run.
//
// Params, WG and EPT: activation.wgsl (prepended).
//
// Numerics: relu exact; gelu and tanh as stated in activation.wgsl (a few ulp, plus this device's exp error).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn activate(kind: u32, v: f32) -> f32 {
  if (kind == 0u) {
    return select(v, 0.0, v < 0.0);  // NaN < 0 is false: NaN (and -0) pass, as torch.relu
  }
  if (kind == 1u) {
    return gelu_f32(v);
  }
  return tanh_f32(v);
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
      y[i] = activate(kind, x[i]);
    }
  }
}
