// global_avgpool_forward / global_avgpool_backward: the mean of each plane of `plane` consecutive f32s (an NCHW
// tensor's H x W planes) and its gradient gradX = gradY / plane broadcast over the plane. src/kernels/global_avgpool.ts
// declares the fields; shaders/global_avgpool_{forward,backward}.wgsl are the webgpu twins.
//
// The forward sums a plane in 8 interleaved partial sums (one AVX2 register after vectorization), combined in a
// fixed order: the result depends only on the plane, never on the thread count. Whole planes are spread over the
// pool in chunks of about kGrain elements (native/elementwise.h). The backward divides once per plane (the
// correctly rounded quotient, as the reference) and fills.
#include <algorithm>
#include <cstddef>
#include <stdexcept>

#include "elementwise.h"
#include "kernel.h"

namespace {

constexpr size_t kGrain = size_t{1} << 14;

float plane_sum(const float* __restrict x, size_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t j = 0; j < 8; ++j) acc[j] += x[i + j];
  for (size_t j = 0; i < n; ++i, ++j) acc[j] += x[i];
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

// fields: planes, plane, groups (webgpu only)
void sizes(const sc::KernelCall& call, size_t& planes, size_t& plane) {
  call.expect(3, 2);
  planes = call.integer(0);
  plane = call.integer(1);
  if (plane == 0) throw std::invalid_argument(call.name + ": plane must be at least 1");
}

// arrays: x (f32, planes * plane), y (f32, planes)
void global_avgpool_forward_kernel(const sc::KernelCall& call) {
  size_t planes, plane;
  sizes(call, planes, plane);
  const float* x = call.array<float>(0, sc::ArrayType::F32, "x");
  float* y = call.array<float>(1, sc::ArrayType::F32, "y");
  if (call.length(0) != planes * plane || call.length(1) != planes) throw std::invalid_argument("global_avgpool_forward: x or y has the wrong length");
  const float size = static_cast<float>(plane);
  sc::for_chunks(planes, std::max<size_t>(1, kGrain / plane), planes * plane, call, [&](size_t begin, size_t end) {
    for (size_t q = begin; q < end; ++q) y[q] = plane_sum(x + q * plane, plane) / size;
  });
}

// arrays: gradY (f32, planes), gradX (f32, planes * plane)
void global_avgpool_backward_kernel(const sc::KernelCall& call) {
  size_t planes, plane;
  sizes(call, planes, plane);
  const float* gy = call.array<float>(0, sc::ArrayType::F32, "gradY");
  float* gx = call.array<float>(1, sc::ArrayType::F32, "gradX");
  if (call.length(0) != planes || call.length(1) != planes * plane) throw std::invalid_argument("global_avgpool_backward: gradY or gradX has the wrong length");
  const float size = static_cast<float>(plane);
  sc::for_chunks(planes, std::max<size_t>(1, kGrain / plane), planes * plane, call, [&](size_t begin, size_t end) {
    for (size_t q = begin; q < end; ++q) std::fill(gx + q * plane, gx + (q + 1) * plane, gy[q] / size);
  });
}

}  // namespace
SC_REGISTER_KERNEL("global_avgpool_forward", global_avgpool_forward_kernel);
SC_REGISTER_KERNEL("global_avgpool_backward", global_avgpool_backward_kernel);
