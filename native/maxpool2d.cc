// maxpool2d_forward / maxpool2d_backward: 2-D max pooling over NCHW f32 planes with argmax indices (PyTorch's
// max_pool2d, dilation 1, ceil_mode false) and its gradient. src/kernels/maxpool2d.ts declares the fields, checks
// the geometry and states the semantics (ties: first in row-major window order; NaN: the window's last NaN);
// shaders/maxpool2d_{forward,backward}.wgsl are the webgpu twins.
//
// Both split whole planes over the pool (chunks of about kGrain input elements, native/elementwise.h). The
// backward zeroes its planes and scatters gradY onto argmax in row-major (oh, ow) order, the order in which the
// webgpu gather and the reference add, so the f32 sums agree to the bit; an argmax outside its own window is
// skipped (never produced by the forward; keeps a bad index from writing out of bounds).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "elementwise.h"
#include "kernel.h"

namespace {

constexpr size_t kGrain = size_t{1} << 14;  // input elements per chunk (whole planes)

struct Geometry {
  size_t planes, H, W, OH, OW;
  long k, s, p;
};

// fields: planes, height, width, out_h, out_w, kernel, stride, padding, groups (webgpu only)
Geometry geometry(const sc::KernelCall& call) {
  call.expect(9, 3);
  Geometry g{call.integer(0), call.integer(1), call.integer(2), call.integer(3), call.integer(4),
             static_cast<long>(call.integer(5)), static_cast<long>(call.integer(6)), static_cast<long>(call.integer(7))};
  if (g.k < 1 || g.s < 1 || 2 * g.p > g.k || g.H == 0 || g.W == 0 ||
      g.OH != static_cast<size_t>((static_cast<long>(g.H) + 2 * g.p - g.k) / g.s + 1) ||
      g.OW != static_cast<size_t>((static_cast<long>(g.W) + 2 * g.p - g.k) / g.s + 1) ||
      static_cast<long>(g.H) + 2 * g.p < g.k || static_cast<long>(g.W) + 2 * g.p < g.k)
    throw std::invalid_argument(call.name + ": inconsistent pooling geometry");
  return g;
}

// Planes per chunk: whole planes, about kGrain input elements.
size_t plane_grain(const Geometry& g) { return std::max<size_t>(1, kGrain / (g.H * g.W)); }

void forward_plane(const Geometry& g, const float* __restrict x, float* __restrict y, int32_t* __restrict argmax) {
  const long H = static_cast<long>(g.H), W = static_cast<long>(g.W);
  for (size_t oh = 0; oh < g.OH; ++oh) {
    const long hs = static_cast<long>(oh) * g.s - g.p;
    const long h0 = std::max(hs, 0L), h1 = std::min(hs + g.k, H);
    for (size_t ow = 0; ow < g.OW; ++ow) {
      const long ws = static_cast<long>(ow) * g.s - g.p;
      const long w0 = std::max(ws, 0L), w1 = std::min(ws + g.k, W);
      long at = h0 * W + w0;
      float best = x[at];  // as starting from -inf with this index (see maxpool2d_forward.wgsl)
      for (long h = h0; h < h1; ++h) {
        const float* row = x + h * W;
        for (long w = w0; w < w1; ++w) {
          const float v = row[w];
          if (v > best || v != v) {
            best = v;
            at = h * W + w;
          }
        }
      }
      y[oh * g.OW + ow] = best;
      argmax[oh * g.OW + ow] = static_cast<int32_t>(at);
    }
  }
}

void backward_plane(const Geometry& g, const float* __restrict gy, const int32_t* __restrict argmax, float* __restrict gx) {
  const long H = static_cast<long>(g.H), W = static_cast<long>(g.W);
  std::memset(gx, 0, sizeof(float) * g.H * g.W);
  for (size_t oh = 0; oh < g.OH; ++oh) {
    const long hs = static_cast<long>(oh) * g.s - g.p;
    const long h0 = std::max(hs, 0L), h1 = std::min(hs + g.k, H);
    for (size_t ow = 0; ow < g.OW; ++ow) {
      const long ws = static_cast<long>(ow) * g.s - g.p;
      const long w0 = std::max(ws, 0L), w1 = std::min(ws + g.k, W);
      const long at = argmax[oh * g.OW + ow];
      // In the window: some row h in [h0, h1) has at - h * W in [w0, w1) (k rows at most, no division).
      for (long h = h0; h < h1; ++h) {
        const long w = at - h * W;
        if (w >= w0 && w < w1) {
          gx[at] += gy[oh * g.OW + ow];
          break;
        }
      }
    }
  }
}

// arrays: x (f32, planes * H * W), y (f32, planes * OH * OW), argmax (i32, planes * OH * OW)
void maxpool2d_forward_kernel(const sc::KernelCall& call) {
  const Geometry g = geometry(call);
  const float* x = call.array<float>(0, sc::ArrayType::F32, "x");
  float* y = call.array<float>(1, sc::ArrayType::F32, "y");
  int32_t* argmax = call.array<int32_t>(2, sc::ArrayType::I32, "argmax");
  const size_t in = g.H * g.W, out = g.OH * g.OW;
  if (call.length(0) != g.planes * in || call.length(1) != g.planes * out || call.length(2) != g.planes * out)
    throw std::invalid_argument("maxpool2d_forward: x, y or argmax has the wrong length");
  sc::for_chunks(g.planes, plane_grain(g), g.planes * in, call, [&](size_t begin, size_t end) {
    for (size_t q = begin; q < end; ++q) forward_plane(g, x + q * in, y + q * out, argmax + q * out);
  });
}

// arrays: gradY (f32, planes * OH * OW), argmax (i32, planes * OH * OW), gradX (f32, planes * H * W)
void maxpool2d_backward_kernel(const sc::KernelCall& call) {
  const Geometry g = geometry(call);
  const float* gy = call.array<float>(0, sc::ArrayType::F32, "gradY");
  const int32_t* argmax = call.array<int32_t>(1, sc::ArrayType::I32, "argmax");
  float* gx = call.array<float>(2, sc::ArrayType::F32, "gradX");
  const size_t in = g.H * g.W, out = g.OH * g.OW;
  if (call.length(0) != g.planes * out || call.length(1) != g.planes * out || call.length(2) != g.planes * in)
    throw std::invalid_argument("maxpool2d_backward: gradY, argmax or gradX has the wrong length");
  sc::for_chunks(g.planes, plane_grain(g), g.planes * in, call, [&](size_t begin, size_t end) {
    for (size_t q = begin; q < end; ++q) backward_plane(g, gy + q * out, argmax + q * out, gx + q * in);
  });
}

}  // namespace
SC_REGISTER_KERNEL("maxpool2d_forward", maxpool2d_forward_kernel);
SC_REGISTER_KERNEL("maxpool2d_backward", maxpool2d_backward_kernel);
