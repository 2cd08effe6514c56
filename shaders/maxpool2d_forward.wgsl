// maxpool2d_forward.wgsl: 2-D max pooling over NCHW f32 planes with argmax, PyTorch's max_pool2d (dilation 1,
// ceil_mode false): y[q, oh, ow] = max over the kernel x kernel window at (oh * stride - padding,
// ow * stride - padding) clipped to the plane (padding acts as -inf), argmax = h * width + w of the chosen element.
// Ties keep the first element in row-major window order; a NaN replaces what is held (`v > best || is_nan(v)`,
// PyTorch's rule), so a window with NaNs gives NaN and its last NaN's index. src/kernels/maxpool2d.ts declares the
// Params fields and holds the reference; native/maxpool2d.cc is the CPU twin.
//
// Bindings (group 0):
//   0  uniform  Params  (maxpool2d_params.wgsl)
//   1  storage  array<f32>, read        x (planes * height * width)
//   2  storage  array<f32>, read_write  y (planes * out_h * out_w)
//   3  storage  array<i32>, read_write  argmax (planes * out_h * out_w)
//
// Dispatch: one thread per output, WG threads per workgroup, groups = ceil(planes * out_h * out_w / WG), split
// over (x, y) (limit per dimension); linear id y * num_workgroups.x + x, ids >= `groups` return at once.
//
// Params and WG: maxpool2d_params.wgsl (prepended).
//
// Numerics: exact (selection only). The host guarantees padding <= kernel / 2 and kernel <= the padded size,
// so every window holds at least one element of the plane.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<i32>;

// By the bits: WGSL lets a compiler assume floats are never NaN (lavapipe folds `v != v` to false).
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  if (group >= params.groups) {
    return;
  }
  let o = group * WG + lid;
  if (o >= params.planes * params.out_h * params.out_w) {
    return;
  }
  let ow = o % params.out_w;
  let rest = o / params.out_w;
  let oh = rest % params.out_h;
  let plane = rest / params.out_h;
  let H = i32(params.height);
  let W = i32(params.width);
  let k = i32(params.kernel);
  let hs = i32(oh * params.stride) - i32(params.padding);
  let ws = i32(ow * params.stride) - i32(params.padding);
  let h0 = max(hs, 0);
  let h1 = min(hs + k, H);
  let w0 = max(ws, 0);
  let w1 = min(ws + k, W);
  let base = plane * params.height * params.width;
  // Starting from the first element is the same as starting from -inf with its index: it wins unless a later
  // element is greater or NaN, and a -inf window keeps it.
  var at = h0 * W + w0;
  var best = x[base + u32(at)];
  for (var h = h0; h < h1; h++) {
    for (var w = w0; w < w1; w++) {
      let v = x[base + u32(h * W + w)];
      if (v > best || is_nan(v)) {
        best = v;
        at = h * W + w;
      }
    }
  }
  y[o] = best;
  argmax[o] = at;
}
