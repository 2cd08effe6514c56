// batchnorm2d_forward / batchnorm2d_backward: BatchNorm2d over NCHW f32 tensors with PyTorch's semantics.
// src/kernels/batchnorm2d.ts declares the fields and holds the reference; shaders/batchnorm2d_*.wgsl are the
// webgpu twins.
//
// Reductions: each channel's n = N*H*W values are H*W-long contiguous segments, one per batch entry, cut
// into fixed ranges of segments (about kTaskValues values), so the split depends on the shape only, never on
// the thread count. Inside a segment, blocks of at most kBlock values are added in 32 f32 lanes (each lane
// adds at most 32 values: the loop vectorises into four AVX2 adds), the lanes are folded into an f64 sum,
// and the ranges' f64 partials are added in range order: deterministic, bit-identical for any thread count,
// and accurate to ~40 u relative per block.
// Scheduling (run_passes): with enough channels a task is a whole channel, its passes back to back (its values
// stay in cache between passes); with few channels each pass spreads over (channel, range) tasks.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <vector>

#include "kernel.h"
#include "thread_pool.h"

namespace {

using sc::ArrayType;
using sc::KernelCall;

constexpr size_t kLanes = 32;
constexpr size_t kBlock = 32 * kLanes;
constexpr size_t kTaskValues = 1 << 15;
constexpr size_t kSerialValues = 1 << 16;  // below this a pass runs on the calling thread (a wake costs more)

// sum x[0..n) into s.
void add_sum(const float* x, size_t n, double& s) {
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t e = std::min(n, b + kBlock);
    float acc[kLanes] = {};
    size_t i = b;
    for (; i + kLanes <= e; i += kLanes)
      for (size_t l = 0; l < kLanes; ++l) acc[l] += x[i + l];
    for (size_t l = 0; i + l < e; ++l) acc[l] += x[i + l];
    for (size_t l = 0; l < kLanes; ++l) s += acc[l];
  }
}

// sum (x - mu) into s1 and sum (x - mu)^2 into s2 over x[0..n).
void add_centred(const float* x, size_t n, float mu, double& s1, double& s2) {
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t e = std::min(n, b + kBlock);
    float a1[kLanes] = {}, a2[kLanes] = {};
    size_t i = b;
    for (; i + kLanes <= e; i += kLanes)
      for (size_t l = 0; l < kLanes; ++l) {
        const float d = x[i + l] - mu;
        a1[l] += d;
        a2[l] += d * d;
      }
    for (size_t l = 0; i + l < e; ++l) {
      const float d = x[i + l] - mu;
      a1[l] += d;
      a2[l] += d * d;
    }
    for (size_t l = 0; l < kLanes; ++l) { s1 += a1[l]; s2 += a2[l]; }
  }
}

// sum g into s1 and sum g * (x - mu) into s2 over [0..n).
void add_grad(const float* g, const float* x, size_t n, float mu, double& s1, double& s2) {
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t e = std::min(n, b + kBlock);
    float a1[kLanes] = {}, a2[kLanes] = {};
    size_t i = b;
    for (; i + kLanes <= e; i += kLanes)
      for (size_t l = 0; l < kLanes; ++l) {
        a1[l] += g[i + l];
        a2[l] += g[i + l] * (x[i + l] - mu);
      }
    for (size_t l = 0; i + l < e; ++l) {
      a1[l] += g[i + l];
      a2[l] += g[i + l] * (x[i + l] - mu);
    }
    for (size_t l = 0; l < kLanes; ++l) { s1 += a1[l]; s2 += a2[l]; }
  }
}

// The shape shared by both kernels, from fields channels, hw, count (the first three), and the task split.
struct Layout {
  size_t channels, hw, count, batch;
  size_t segs_per_task, tasks_per_channel;
  bool parallel;

  Layout(const KernelCall& call, size_t values_per_element) {
    channels = call.integer(0);
    hw = call.integer(1);
    count = call.integer(2);
    if (hw == 0 ? count != 0 : count % hw != 0) throw std::invalid_argument(call.name + ": count must be a multiple of hw");
    batch = hw == 0 ? 0 : count / hw;
    segs_per_task = std::max<size_t>(1, kTaskValues / std::max<size_t>(hw, 1));
    tasks_per_channel = batch == 0 ? 0 : (batch + segs_per_task - 1) / segs_per_task;
    parallel = call.pool != nullptr && call.threads > 1 && channels * count * values_per_element >= kSerialValues;
  }
  size_t tasks() const { return channels * tasks_per_channel; }
  // Offset of segment s of channel c.
  size_t offset(size_t c, size_t s) const { return (s * channels + c) * hw; }

  // The segments [first, end) of range r of a channel.
  size_t first(size_t r) const { return r * segs_per_task; }
  size_t end(size_t r) const { return std::min(batch, (r + 1) * segs_per_task); }

  // The per-channel totals of per-range partial pairs, added in range order.
  void totals(const std::vector<double>& partial, size_t c, double& s1, double& s2) const {
    s1 = s2 = 0;
    for (size_t t = c * tasks_per_channel; t < (c + 1) * tasks_per_channel; ++t) { s1 += partial[2 * t]; s2 += partial[2 * t + 1]; }
  }
};

// One pass of a kernel: `range(c, r)` works on range r of channel c (writing its partials, if any), then
// `channel(c)` (optional) combines channel c's partials.
struct Pass {
  std::function<void(size_t, size_t)> range;
  std::function<void(size_t)> channel;
};

// Runs the passes. With enough channels each task is one whole channel, all passes in a row, so the channel's
// values stay in cache from one pass to the next; otherwise each pass is spread over (channel, range) tasks.
// Both orders call the same functions on the same ranges and combine partials in range order: the same bits.
void run_passes(const KernelCall& call, const Layout& s, const std::vector<Pass>& passes) {
  const bool by_channel = !s.parallel || s.channels >= 2 * size_t(call.threads);
  if (by_channel) {
    auto channel = [&](size_t c) {
      for (const Pass& p : passes) {
        for (size_t r = 0; r < s.tasks_per_channel; ++r) p.range(c, r);
        if (p.channel) p.channel(c);
      }
    };
    if (s.parallel && s.channels > 1) call.pool->parallel_for(s.channels, call.threads, channel);
    else for (size_t c = 0; c < s.channels; ++c) channel(c);
    return;
  }
  for (const Pass& p : passes) {
    auto task = [&](size_t t) { p.range(t / s.tasks_per_channel, t % s.tasks_per_channel); };
    if (s.tasks() > 1) call.pool->parallel_for(s.tasks(), call.threads, task);
    else for (size_t t = 0; t < s.tasks(); ++t) task(t);
    if (p.channel) for (size_t c = 0; c < s.channels; ++c) p.channel(c);
  }
}

// Each array holds a whole tensor (true) or one value per channel (false).
void check_lengths(const KernelCall& call, const Layout& s, const std::vector<bool>& whole) {
  for (size_t i = 0; i < whole.size(); ++i) {
    const size_t want = whole[i] ? s.channels * s.count : s.channels;
    if (call.length(i) < want) throw std::invalid_argument(call.name + ": array " + std::to_string(i) + " is too short");
  }
}

// fields: channels, hw, count, training, momentum, eps, unbias, block (webgpu only)
// arrays: x, gamma, beta (inputs); y, save_mean, save_invstd, running_mean, running_var (outputs; the running
// statistics are read, and updated in place when training)
void batchnorm2d_forward(const KernelCall& call) {
  call.expect(8, 8);
  const Layout s(call, 4);
  const bool training = call.integer(3) != 0;
  const float momentum = static_cast<float>(call.fields[4]), eps = static_cast<float>(call.fields[5]);
  const float unbias = static_cast<float>(call.fields[6]);
  const float* x = call.array<float>(0, ArrayType::F32, "x");
  const float* gamma = call.array<float>(1, ArrayType::F32, "gamma");
  const float* beta = call.array<float>(2, ArrayType::F32, "beta");
  float* y = call.array<float>(3, ArrayType::F32, "y");
  float* save_mean = call.array<float>(4, ArrayType::F32, "save_mean");
  float* save_invstd = call.array<float>(5, ArrayType::F32, "save_invstd");
  float* running_mean = call.array<float>(6, ArrayType::F32, "running_mean");
  float* running_var = call.array<float>(7, ArrayType::F32, "running_var");
  check_lengths(call, s, {true, false, false, true, false, false, false, false});
  if (training && s.count < 2) throw std::invalid_argument(call.name + ": training needs at least 2 values per channel");

  const double n = static_cast<double>(s.count);
  std::vector<double> partial(2 * s.tasks());
  auto at = [&](size_t c, size_t r) -> double* { return &partial[2 * (c * s.tasks_per_channel + r)]; };
  const Pass sums{
    [&](size_t c, size_t r) {
      double sum = 0;
      for (size_t q = s.first(r); q < s.end(r); ++q) add_sum(x + s.offset(c, q), s.hw, sum);
      at(c, r)[0] = sum;
    },
    [&](size_t c) {
      double sum, unused;
      s.totals(partial, c, sum, unused);
      save_mean[c] = static_cast<float>(sum / n);
    }};
  const Pass centred{
    [&](size_t c, size_t r) {
      double d1 = 0, d2 = 0;
      for (size_t q = s.first(r); q < s.end(r); ++q) add_centred(x + s.offset(c, q), s.hw, save_mean[c], d1, d2);
      at(c, r)[0] = d1;
      at(c, r)[1] = d2;
    },
    [&](size_t c) {
      double d1, d2;
      s.totals(partial, c, d1, d2);
      // The corrected two-pass variance: the (sum d)^2 / n term removes the error of the rounded mean.
      const double var = std::max((d2 - d1 * d1 / n) / n, 0.0);
      save_invstd[c] = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
      running_mean[c] = static_cast<float>((1.0 - momentum) * running_mean[c] + double(momentum) * save_mean[c]);
      running_var[c] = static_cast<float>((1.0 - momentum) * running_var[c] + double(momentum) * (var * unbias));
    }};
  const Pass output{
    [&](size_t c, size_t r) {
      const float scale = gamma[c] * save_invstd[c];
      const float shift = beta[c] - save_mean[c] * scale;
      for (size_t q = s.first(r); q < s.end(r); ++q) {
        const float* xs = x + s.offset(c, q);
        float* ys = y + s.offset(c, q);
        for (size_t i = 0; i < s.hw; ++i) ys[i] = xs[i] * scale + shift;
      }
    },
    nullptr};
  if (training) {
    run_passes(call, s, {sums, centred, output});
  } else {
    for (size_t c = 0; c < s.channels; ++c) {
      save_mean[c] = running_mean[c];
      save_invstd[c] = static_cast<float>(1.0 / std::sqrt(double(running_var[c]) + double(eps)));
    }
    run_passes(call, s, {output});
  }
}

// fields: as batchnorm2d_forward (momentum, eps, unbias unused)
// arrays: grad_y, x, gamma, save_mean, save_invstd (inputs); grad_x, grad_gamma, grad_beta (outputs)
void batchnorm2d_backward(const KernelCall& call) {
  call.expect(8, 8);
  const Layout s(call, 3);
  const bool training = call.integer(3) != 0;
  const float* gy = call.array<float>(0, ArrayType::F32, "grad_y");
  const float* x = call.array<float>(1, ArrayType::F32, "x");
  const float* gamma = call.array<float>(2, ArrayType::F32, "gamma");
  const float* save_mean = call.array<float>(3, ArrayType::F32, "save_mean");
  const float* save_invstd = call.array<float>(4, ArrayType::F32, "save_invstd");
  float* gx = call.array<float>(5, ArrayType::F32, "grad_x");
  float* grad_gamma = call.array<float>(6, ArrayType::F32, "grad_gamma");
  float* grad_beta = call.array<float>(7, ArrayType::F32, "grad_beta");
  check_lengths(call, s, {true, true, false, false, false, true, false, false});

  // Per channel: scale = invstd * gamma, and the training terms sum(gy) / n and k = dot * invstd^2 / n.
  std::vector<double> partial(2 * s.tasks());
  std::vector<float> coef(3 * s.channels);
  const double n = static_cast<double>(s.count);
  const Pass sums{
    [&](size_t c, size_t r) {
      double g1 = 0, g2 = 0;
      for (size_t q = s.first(r); q < s.end(r); ++q) add_grad(gy + s.offset(c, q), x + s.offset(c, q), s.hw, save_mean[c], g1, g2);
      partial[2 * (c * s.tasks_per_channel + r)] = g1;
      partial[2 * (c * s.tasks_per_channel + r) + 1] = g2;
    },
    [&](size_t c) {
      double sum_gy, dot;
      s.totals(partial, c, sum_gy, dot);
      const double invstd = save_invstd[c];
      grad_beta[c] = static_cast<float>(sum_gy);
      grad_gamma[c] = static_cast<float>(dot * invstd);
      coef[3 * c] = static_cast<float>(invstd * gamma[c]);
      coef[3 * c + 1] = training ? static_cast<float>(sum_gy / n) : 0.0f;
      coef[3 * c + 2] = training ? static_cast<float>(dot * invstd * invstd / n) : 0.0f;
    }};
  const Pass output{
    [&](size_t c, size_t r) {
      const float scale = coef[3 * c], mean_gy = coef[3 * c + 1], k = coef[3 * c + 2], mu = save_mean[c];
      for (size_t q = s.first(r); q < s.end(r); ++q) {
        const float* g = gy + s.offset(c, q);
        const float* xs = x + s.offset(c, q);
        float* out = gx + s.offset(c, q);
        if (training)
          for (size_t i = 0; i < s.hw; ++i) out[i] = (g[i] - mean_gy - (xs[i] - mu) * k) * scale;
        else
          for (size_t i = 0; i < s.hw; ++i) out[i] = g[i] * scale;
      }
    },
    nullptr};
  run_passes(call, s, {sums, output});
}

}  // namespace
SC_REGISTER_KERNEL("batchnorm2d_forward", batchnorm2d_forward);
SC_REGISTER_KERNEL("batchnorm2d_backward", batchnorm2d_backward);
