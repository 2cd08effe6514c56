// sgd_update: one torch.optim.SGD step (no dampening, no Nesterov) on one parameter tensor, in place:
//   d = fma(wd, p, g);  buf = fma(momentum, buf, d);  p = fma(-lr, buf, p)   (momentum 0: buf = d, p = fma(-lr, d, p))
// each line one fused multiply-add rounded once (std::fma, which gcc vectorises into vfmadd with -mfma), the
// order shaders/sgd_update.wgsl and the reference (src/kernels/sgd_update.ts, fmaf) follow: bit-identical.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>

#include "kernel.h"
#include "thread_pool.h"

namespace {

using sc::ArrayType;
using sc::KernelCall;

constexpr size_t kChunk = 1 << 16;

void step(const float* g, float* p, float* buf, size_t n, float lr, float momentum, float wd) {
  if (momentum == 0.0f) {
    for (size_t i = 0; i < n; ++i) {
      const float d = std::fma(wd, p[i], g[i]);
      buf[i] = d;
      p[i] = std::fma(-lr, d, p[i]);
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      const float b = std::fma(momentum, buf[i], std::fma(wd, p[i], g[i]));
      buf[i] = b;
      p[i] = std::fma(-lr, b, p[i]);
    }
  }
}

// fields: lr, momentum, weight_decay, n, groups (webgpu only)
// arrays: grad (f32, n); param, buf (f32, n; read and updated in place)
void sgd_update(const KernelCall& call) {
  call.expect(5, 3);
  const float lr = static_cast<float>(call.fields[0]);
  const float momentum = static_cast<float>(call.fields[1]);
  const float wd = static_cast<float>(call.fields[2]);
  const size_t n = call.integer(3);
  const float* g = call.array<float>(0, ArrayType::F32, "grad");
  float* p = call.array<float>(1, ArrayType::F32, "param");
  float* buf = call.array<float>(2, ArrayType::F32, "momentum buffer");
  if (call.length(0) < n || call.length(1) < n || call.length(2) < n) throw std::invalid_argument(call.name + ": an array is shorter than n");
  const size_t chunks = (n + kChunk - 1) / kChunk;
  auto chunk = [&](size_t q) {
    const size_t i = q * kChunk;
    step(g + i, p + i, buf + i, std::min(kChunk, n - i), lr, momentum, wd);
  };
  if (call.pool != nullptr && call.threads > 1 && chunks > 1) call.pool->parallel_for(chunks, call.threads, chunk);
  else for (size_t q = 0; q < chunks; ++q) chunk(q);
}

}  // namespace
SC_REGISTER_KERNEL("sgd_update", sgd_update);
