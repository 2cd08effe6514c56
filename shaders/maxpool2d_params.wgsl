// maxpool2d_params.wgsl: the Params struct and workgroup size of maxpool2d_forward.wgsl and maxpool2d_backward.wgsl,
// prepended to each (their KernelSpec's `shaders` list); src/kernels/maxpool2d.ts packs the fields in this order.
//
// No bindings, no entry point.
//
// Override constants:
//   WG    workgroup size (default 256)

override WG: u32 = 256u;

struct Params {
  planes: u32,     // batch * channels
  height: u32,
  width: u32,
  out_h: u32,
  out_w: u32,
  kernel: u32,
  stride: u32,
  padding: u32,
  groups: u32,     // workgroups that carry work
}
