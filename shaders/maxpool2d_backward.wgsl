// maxpool2d_backward.wgsl: the gradient of maxpool2d_forward from its argmax, without atomics: one thread per
// input element (h, w) of a plane gathers gradY over the windows (oh, ow) that contain it, in row-major (oh, ow)
// order, adding those whose argmax is h * width + w. That is the order the reference's scatter adds them in, so
// the f32 sums agree to the bit. An argmax outside its own window never matches (never produced by the forward).
// src/kernels/maxpool2d.ts declares the Params fields and holds the reference; native/maxpool2d.cc is the CPU twin.
//
// Bindings (group 0):
//   0  uniform  Params  (maxpool2d_params.wgsl)
//   1  storage  array<f32>, read        gradY (planes * out_h * out_w)
//   2  storage  array<i32>, read        argmax (planes * out_h * out_w)
//   3  storage  array<f32>, read_write  gradX (planes * height * width)
//
// Dispatch: one thread per input element, WG threads per workgroup, groups = ceil(planes * height * width / WG),
// split over (x, y) (limit per dimension); linear id y * num_workgroups.x + x, ids >= `groups` return at once.
// Windows containing row h: oh in [ceil((h + padding - kernel + 1) / stride), floor((h + padding) / stride)]
// clipped to [0, out_h - 1]; likewise for w.
//
// Params and WG: maxpool2d_params.wgsl (prepended).
//
// Numerics: bit-identical to the reference (same f32 additions in the same order, starting from +0).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad_y: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<i32>;
@group(0) @binding(3) var<storage, read_write> grad_x: array<f32>;

// The output rows (or columns) whose windows contain input row (or column) `i`: [first, last], maybe empty.
fn covering(i: u32, outs: u32) -> vec2i {
  let s = i32(params.stride);
  let top = i32(i) + i32(params.padding);     // window oh covers oh * s <= top <= oh * s + kernel - 1
  let low = top - i32(params.kernel) + 1;
  let first = select(0, (low + s - 1) / s, low > 0);
  let last = min(top / s, i32(outs) - 1);
  return vec2i(first, last);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  if (group >= params.groups) {
    return;
  }
  let i = group * WG + lid;
  if (i >= params.planes * params.height * params.width) {
    return;
  }
  let w = i % params.width;
  let rest = i / params.width;
  let h = rest % params.height;
  let plane = rest / params.height;
  let mine = i32(h * params.width + w);
  let rows = covering(h, params.out_h);
  let cols = covering(w, params.out_w);
  let base = plane * params.out_h * params.out_w;
  var sum = 0.0;
  for (var oh = rows.x; oh <= rows.y; oh++) {
    for (var ow = cols.x; ow <= cols.y; ow++) {
      let o = base + u32(oh) * params.out_w + u32(ow);
      if (argmax[o] == mine) {
        sum += grad_y[o];
      }
    }
  }
  grad_x[i] = sum;
}
