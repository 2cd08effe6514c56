// softmax_cross_entropy: mean softmax cross-entropy of logits [N, K] against u32 labels or f32 soft targets,
// the gradient of the mean loss and the count of correct rows. src/kernels/softmax_cross_entropy.ts declares
// the fields and holds the reference; shaders/softmax_cross_entropy.wgsl is the webgpu twin (same formulas).
//
// Rows are f32 (std::exp, std::log); rows are cut into fixed chunks of kRows whose loss sums (f64) and counts
// are added in chunk order, so the result does not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "kernel.h"
#include "thread_pool.h"

namespace {

using sc::ArrayType;
using sc::KernelCall;

constexpr size_t kRows = 64;
constexpr size_t kSerialValues = 1 << 15;  // below this the rows run on the calling thread

// fields: batch, classes, soft
// arrays: logits (f32, N*K), targets (u32 labels [N], or f32 soft targets [N*K]); grad (f32, N*K), stats (f32, 2)
void softmax_cross_entropy(const KernelCall& call) {
  call.expect(3, 4);
  const size_t batch = call.integer(0), classes = call.integer(1);
  const bool soft = call.integer(2) != 0;
  if (classes == 0) throw std::invalid_argument(call.name + ": classes must be >= 1");
  const float* logits = call.array<float>(0, ArrayType::F32, "logits");
  const uint32_t* labels = soft ? nullptr : call.array<uint32_t>(1, ArrayType::U32, "labels");
  const float* soft_t = soft ? call.array<float>(1, ArrayType::F32, "soft targets") : nullptr;
  float* grad = call.array<float>(2, ArrayType::F32, "grad");
  float* stats = call.array<float>(3, ArrayType::F32, "stats");
  if (call.length(0) < batch * classes || call.length(1) < (soft ? batch * classes : batch) || call.length(2) < batch * classes || call.length(3) < 2)
    throw std::invalid_argument(call.name + ": an array is shorter than batch and classes need");

  const float rows = static_cast<float>(batch);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const size_t chunks = (batch + kRows - 1) / kRows;
  std::vector<double> loss(chunks);
  std::vector<size_t> correct(chunks);

  auto chunk = [&](size_t q) {
    double chunk_loss = 0;
    size_t chunk_correct = 0;
    for (size_t i = q * kRows; i < std::min(batch, (q + 1) * kRows); ++i) {
      const float* z = logits + i * classes;
      float* g = grad + i * classes;
      const float* t = soft ? soft_t + i * classes : nullptr;
      const uint32_t label = soft ? 0 : labels[i];
      auto target = [&](size_t k) { return soft ? t[k] : (k == label ? 1.0f : 0.0f); };
      size_t best = 0;
      float m = z[0];
      for (size_t k = 1; k < classes; ++k)
        if (z[k] > m) { m = z[k]; best = k; }
      float s = 0, tsum = 0, t_best = target(0);
      size_t want = 0;
      for (size_t k = 0; k < classes; ++k) {
        g[k] = std::exp(z[k] - m);   // kept for the gradient pass
        s += g[k];
        const float tk = target(k);
        tsum += tk;
        if (tk > t_best) { t_best = tk; want = k; }
      }
      const float log_s = std::log(s);
      const bool bad = !soft && label >= classes;
      // Labels: the one term directly (a -inf logit elsewhere must not give 0 * inf); soft: every term.
      float row_loss = soft || bad ? 0.0f : (m - z[label]) + log_s;
      for (size_t k = 0; k < classes; ++k) {
        const float tk = target(k);
        if (soft) row_loss += tk * ((m - z[k]) + log_s);
        g[k] = bad ? nan : (g[k] / s * tsum - tk) / rows;
      }
      chunk_loss += bad ? nan : row_loss;
      if (!bad && best == want) ++chunk_correct;
    }
    loss[q] = chunk_loss;
    correct[q] = chunk_correct;
  };
  if (call.pool != nullptr && call.threads > 1 && chunks > 1 && batch * classes >= kSerialValues)
    call.pool->parallel_for(chunks, call.threads, chunk);
  else
    for (size_t q = 0; q < chunks; ++q) chunk(q);

  double total = 0;
  size_t right = 0;
  for (size_t q = 0; q < chunks; ++q) { total += loss[q]; right += correct[q]; }
  stats[0] = batch == 0 ? 0.0f : static_cast<float>(total / static_cast<double>(batch));
  stats[1] = static_cast<float>(right);
}

}  // namespace
SC_REGISTER_KERNEL("softmax_cross_entropy", softmax_cross_entropy);
