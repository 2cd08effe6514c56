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

// One window step in PyTorch's order: a strictly greater value or a NaN replaces what is held. Branch-free (the
// outcome of the comparison is data-dependent and would mispredict half the time on random data).
inline void take(float v, long index, float& best, long& at) {
  const bool t = (v > best) | (v != v);
  best = t ? v : best;
  at = t ? index : at;
}

// The general case: any kernel, stride and padding, windows clipped to the plane.
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
      for (long h = h0; h < h1; ++h)
        for (long w = w0; w < w1; ++w) take(x[h * W + w], h * W + w, best, at);
      y[oh * g.OW + ow] = best;
      argmax[oh * g.OW + ow] = static_cast<int32_t>(at);
    }
  }
}

// kernel 2, stride 2, no padding (VGG's pool): every window is whole; the loop over ow is written lane by lane
// (stride-2 loads, selects) so that it vectorizes. Same comparisons in the same order as forward_plane.
void forward_plane_k2s2(const Geometry& g, const float* __restrict x, float* __restrict y, int32_t* __restrict argmax) {
  const size_t W = g.W;
  for (size_t oh = 0; oh < g.OH; ++oh) {
    const float* r0 = x + 2 * oh * W;
    const float* r1 = r0 + W;
    float* yo = y + oh * g.OW;
    int32_t* ao = argmax + oh * g.OW;
    const int32_t top = static_cast<int32_t>(2 * oh * W);
    const int32_t w32 = static_cast<int32_t>(W);
    for (size_t ow = 0; ow < g.OW; ++ow) {
      float best = r0[2 * ow];
      int32_t at = 0;
      float v = r0[2 * ow + 1];
      bool t = (v > best) | (v != v);
      best = t ? v : best;
      at = t ? 1 : at;
      v = r1[2 * ow];
      t = (v > best) | (v != v);
      best = t ? v : best;
      at = t ? w32 : at;
      v = r1[2 * ow + 1];
      t = (v > best) | (v != v);
      best = t ? v : best;
      at = t ? w32 + 1 : at;
      yo[ow] = best;
      ao[ow] = top + 2 * static_cast<int32_t>(ow) + at;
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

// Windows that do not overlap (stride >= kernel, no padding): each input element lies in at most one window, so
// the scatter is a gather of one term, vectorizable. `0.0f + g` keeps the scatter's bits (0 + -0 = +0).
void backward_plane_disjoint(const Geometry& g, const float* __restrict gy, const int32_t* __restrict argmax, float* __restrict gx) {
  const size_t W = g.W, k = static_cast<size_t>(g.k), s = static_cast<size_t>(g.s);
  // With stride == kernel the windows tile the top-left OH·k × OW·k block: only the rest needs zeros first.
  const bool tiled = s == k;
  if (!tiled) std::memset(gx, 0, sizeof(float) * g.H * g.W);
  for (size_t h = tiled ? g.OH * k : g.H; h < g.H; ++h) std::memset(gx + h * W, 0, sizeof(float) * W);
  for (size_t oh = 0; oh < g.OH; ++oh) {
    const float* go = gy + oh * g.OW;
    const int32_t* ao = argmax + oh * g.OW;
    for (size_t dy = 0; dy < k; ++dy) {
      const size_t h = oh * s + dy;
      float* row = gx + h * W;
      const int32_t base = static_cast<int32_t>(h * W);
      if (tiled) std::memset(row + g.OW * k, 0, sizeof(float) * (W - g.OW * k));
      if (k == 2 && s == 2) {
        for (size_t ow = 0; ow < g.OW; ++ow) {
          const int32_t i = base + 2 * static_cast<int32_t>(ow);
          row[2 * ow] = ao[ow] == i ? 0.0f + go[ow] : 0.0f;
          row[2 * ow + 1] = ao[ow] == i + 1 ? 0.0f + go[ow] : 0.0f;
        }
      } else {
        for (size_t ow = 0; ow < g.OW; ++ow)
          for (size_t dx = 0; dx < k; ++dx) {
            const size_t w = ow * s + dx;
            row[w] = ao[ow] == base + static_cast<int32_t>(w) ? 0.0f + go[ow] : 0.0f;
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
  const bool k2s2 = g.k == 2 && g.s == 2 && g.p == 0;
  sc::for_chunks(g.planes, plane_grain(g), g.planes * in, call, [&](size_t begin, size_t end) {
    for (size_t q = begin; q < end; ++q) {
      if (k2s2) forward_plane_k2s2(g, x + q * in, y + q * out, argmax + q * out);
      else forward_plane(g, x + q * in, y + q * out, argmax + q * out);
    }
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
  const bool disjoint = g.s >= g.k && g.p == 0;
  sc::for_chunks(g.planes, plane_grain(g), g.planes * in, call, [&](size_t begin, size_t end) {
    for (size_t q = begin; q < end; ++q) {
      if (disjoint) backward_plane_disjoint(g, gy + q * out, argmax + q * out, gx + q * in);
      else backward_plane(g, gy + q * out, argmax + q * out, gx + q * in);
    }
  });
}

}  // namespace
SC_REGISTER_KERNEL("maxpool2d_forward", maxpool2d_forward_kernel);
SC_REGISTER_KERNEL("maxpool2d_backward", maxpool2d_backward_kernel);
