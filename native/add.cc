// add: y = a + b elementwise, f32 (residual connections, sums of gradient branches); a vectorized loop, chunks
// over the pool for large tensors (native/elementwise.h). src/kernels/add.ts declares the fields;
// shaders/add.wgsl is the webgpu twin. One correctly rounded addition per element: bit-identical everywhere.
#include <cstddef>
#include <stdexcept>

#include "elementwise.h"
#include "kernel.h"

namespace {

constexpr size_t kGrain = size_t{1} << 14;

void add_span(const float* __restrict a, const float* __restrict b, float* __restrict y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

// fields: n, groups (webgpu only);  arrays: a (f32, n), b (f32, n), y (f32, n)
void add_kernel(const sc::KernelCall& call) {
  call.expect(2, 3);
  const size_t n = call.integer(0);
  const float* a = call.array<float>(0, sc::ArrayType::F32, "a");
  const float* b = call.array<float>(1, sc::ArrayType::F32, "b");
  float* y = call.array<float>(2, sc::ArrayType::F32, "y");
  if (call.length(0) != n || call.length(1) != n || call.length(2) != n) throw std::invalid_argument("add: a, b and y must hold n elements");
  sc::for_chunks(n, kGrain, n, call, [&](size_t begin, size_t end) { add_span(a + begin, b + begin, y + begin, end - begin); });
}

}  // namespace
SC_REGISTER_KERNEL("add", add_kernel);
