// softmax_cross_entropy: mean softmax cross-entropy of logits [N, K] against u32 labels or f32 soft targets,
// the gradient of the mean loss and the count of correct rows. src/kernels/softmax_cross_entropy.ts declares
// the fields and holds the reference; shaders/softmax_cross_entropy.wgsl is the webgpu twin (same formulas).
//
// Rows are f32 (sc::expf_fast within ~2 ulp, std::log); rows are cut into fixed chunks of kRows whose loss sums (f64) and counts
// are added in chunk order, so the result does not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "fastmath.h"
#include "kernel.h"
#include "thread_pool.h"

namespace {

using sc::ArrayType;
using sc::KernelCall;

constexpr size_t kRows = 64;

// exp for x <= 0 (x = z - max z): sc::expf_fast (~2 ulp, vectorisable), and 0 below the normal range, where
// expf_fast would stop at ~1e-38 instead of vanishing.
SC_INLINE float exp_or_zero(float x) { return x < -87.0f ? 0.0f : sc::expf_fast(x); }
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
      size_t best = 0;
      float m = z[0];
      for (size_t k = 1; k < classes; ++k)
        if (z[k] > m) { m = z[k]; best = k; }
      // exp(z - m) into the gradient row (a vectorised loop), then their sum in order.
      for (size_t k = 0; k < classes; ++k) g[k] = exp_or_zero(z[k] - m);
      float s = 0;
      for (size_t k = 0; k < classes; ++k) s += g[k];
      const float log_s = std::log(s);
      float row_loss = 0;
      size_t want = 0;
      bool bad = false;
      if (soft) {
        // tsum = sum t; the loss sums every term (as PyTorch: a zero target on a -inf logit gives NaN there too).
        const float* t = soft_t + i * classes;
        float tsum = 0, t_best = t[0];
        for (size_t k = 0; k < classes; ++k) {
          tsum += t[k];
          if (t[k] > t_best) { t_best = t[k]; want = k; }
          row_loss += t[k] * ((m - z[k]) + log_s);
        }
        for (size_t k = 0; k < classes; ++k) g[k] = (g[k] / s * tsum - t[k]) / rows;
      } else {
        const uint32_t label = labels[i];
        bad = label >= classes;
        if (bad) {
          std::fill(g, g + classes, nan);
        } else {
          // One-hot row: tsum = 1 exactly, so (e / s * 1 - t) / rows is (e / s) / rows off the label.
          const float e_label = g[label];
          for (size_t k = 0; k < classes; ++k) g[k] = g[k] / s / rows;
          g[label] = (e_label / s - 1.0f) / rows;
          row_loss = (m - z[label]) + log_s;
          want = label;
        }
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
