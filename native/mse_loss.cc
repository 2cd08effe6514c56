// mse_loss: mean squared error (PyTorch MSELoss, reduction 'mean'): grad = (d + d) / n with d = p - t, and
// stats = [sum d^2 / n, 0] ([0, 0] for n = 0). src/kernels/mse_loss.ts declares the fields and holds the
// reference; shaders/mse_loss.wgsl is the webgpu twin.
//
// Fixed chunks of kChunk values (over the pool when large); inside a chunk the squares are added in 32 f32
// lanes (at most 32 values per lane per block), folded into f64, and the chunks' sums are added in chunk
// order: deterministic for any thread count.
#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <vector>

#include "kernel.h"
#include "thread_pool.h"

namespace {

using sc::ArrayType;
using sc::KernelCall;

constexpr size_t kLanes = 32;
constexpr size_t kBlock = 32 * kLanes;
constexpr size_t kChunk = 1 << 15;

// fields: n, block (webgpu only);  arrays: prediction, target (f32, n); grad (f32, n), stats (f32, 2)
void mse_loss(const KernelCall& call) {
  call.expect(2, 4);
  const size_t n = call.integer(0);
  const float* p = call.array<float>(0, ArrayType::F32, "prediction");
  const float* t = call.array<float>(1, ArrayType::F32, "target");
  float* grad = call.array<float>(2, ArrayType::F32, "grad");
  float* stats = call.array<float>(3, ArrayType::F32, "stats");
  if (call.length(0) < n || call.length(1) < n || call.length(2) < n || call.length(3) < 2)
    throw std::invalid_argument(call.name + ": an array is shorter than n");
  const float nf = static_cast<float>(n);
  const size_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(chunks);
  auto chunk = [&](size_t q) {
    double sum = 0;
    const size_t end = std::min(n, (q + 1) * kChunk);
    for (size_t b = q * kChunk; b < end; b += kBlock) {
      const size_t e = std::min(end, b + kBlock);
      float acc[kLanes] = {};
      size_t i = b;
      for (; i + kLanes <= e; i += kLanes)
        for (size_t l = 0; l < kLanes; ++l) {
          const float d = p[i + l] - t[i + l];
          grad[i + l] = (d + d) / nf;
          acc[l] += d * d;
        }
      for (size_t l = 0; i + l < e; ++l) {
        const float d = p[i + l] - t[i + l];
        grad[i + l] = (d + d) / nf;
        acc[l] += d * d;
      }
      for (size_t l = 0; l < kLanes; ++l) sum += acc[l];
    }
    partial[q] = sum;
  };
  if (call.pool != nullptr && call.threads > 1 && chunks > 1) call.pool->parallel_for(chunks, call.threads, chunk);
  else for (size_t q = 0; q < chunks; ++q) chunk(q);
  double total = 0;
  for (double v : partial) total += v;
  stats[0] = n == 0 ? 0.0f : static_cast<float>(total / static_cast<double>(n));
  stats[1] = 0.0f;
}

}  // namespace
SC_REGISTER_KERNEL("mse_loss", mse_loss);
