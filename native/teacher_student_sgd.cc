// teacher_student_sgd: `steps` SGD steps of the diagonal linear teacher–student model with label noise (PAPER.md
// §2.5, Fig. 5) for rows = groups × seeds independent runs of M modes, in place, then the features (s, s²).
// One step on pre-update values, mode i of row q = g·seeds + j (src/kernels/teacher_student_sgd.ts is the
// reference):
//   r = fma(sigma[g], xi, fma(s_v, s_u, -s_star[i]));  g = h·r;  s_v = fma(-g, s_u, s_v);  s_u = fma(-g, s_v, s_u)
// xi = normal draw i of Philox (seed, stream), counter words (c2, c3) = (j, first_step + t): the noise of a row
// is ceil(M/4) consecutive blocks, generated 16 at a time in AVX2 (philox_consecutive), Box–Muller by the
// branch-free fastmath.h functions (within ~2e-6 of the f64 reference). Rows are independent work items on the
// pool, so results do not depend on the thread count; each line is one std::fma, as the reference's fmaf.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "fastmath.h"
#include "kernel.h"
#include "philox.h"
#include "thread_pool.h"

namespace {

using sc::ArrayType;
using sc::KernelCall;

struct Problem {
  size_t seeds, modes, rows, blocks;
  uint32_t steps, first_step, seed, stream;
  float h;
  const float* s_star;
  const float* sigma;
  float* su;
  float* sv;
  float* features;
};

// Rows [r0, r1): each row's state stays in a small buffer for all its steps.
void rows_range(const Problem& p, size_t r0, size_t r1) {
  const size_t nb = p.blocks, M = p.modes;
  std::vector<uint32_t> o(4 * nb);
  std::vector<float> xi(4 * nb), u(M), v(M), neg_target(M);
  uint32_t* o0 = o.data();
  uint32_t* o1 = o0 + nb;
  uint32_t* o2 = o1 + nb;
  uint32_t* o3 = o2 + nb;
  for (size_t i = 0; i < M; ++i) neg_target[i] = -p.s_star[i];
  for (size_t q = r0; q < r1; ++q) {
    const float noise = p.sigma[q / p.seeds];
    const uint32_t j = static_cast<uint32_t>(q % p.seeds);
    float* __restrict su = p.su + q * M;
    float* __restrict sv = p.sv + q * M;
    std::copy(su, su + M, u.begin());
    std::copy(sv, sv + M, v.begin());
    float* __restrict uu = u.data();
    float* __restrict vv = v.data();
    float* __restrict z = xi.data();
    const float* __restrict nt = neg_target.data();
    for (uint32_t t = 0; t < p.steps; ++t) {
      sc::philox_consecutive(0, j, p.first_step + t, p.seed, p.stream, nb, o0, o1, o2, o3);
      for (size_t b = 0; b < nb; ++b) {
        float a0, a1, a2, a3;
        sc::box_muller(o0[b], o1[b], a0, a1);
        sc::box_muller(o2[b], o3[b], a2, a3);
        z[4 * b] = a0; z[4 * b + 1] = a1; z[4 * b + 2] = a2; z[4 * b + 3] = a3;
      }
      for (size_t i = 0; i < M; ++i) {
        const float r = std::fma(noise, z[i], std::fma(vv[i], uu[i], nt[i]));
        const float g = p.h * r;
        const float nv = std::fma(-g, uu[i], vv[i]);
        uu[i] = std::fma(-g, vv[i], uu[i]);
        vv[i] = nv;
      }
    }
    std::copy(u.begin(), u.end(), su);
    std::copy(v.begin(), v.end(), sv);
    float* f = p.features + q * 2 * M;
    for (size_t i = 0; i < M; ++i) {
      const float s = vv[i] * uu[i];
      f[i] = s;
      f[M + i] = s * s;
    }
  }
}

// fields: seeds, modes, rows, blocks, steps, first_step, h, seed, stream, groups (webgpu only)
// arrays: s_star (f32, modes), sigma (f32, groups); su, sv (f32, rows × modes; in place), features (f32, rows × 2 modes)
void teacher_student_sgd(const KernelCall& call) {
  call.expect(10, 5);
  Problem p{};
  p.seeds = call.integer(0);
  p.modes = call.integer(1);
  p.rows = call.integer(2);
  p.blocks = call.integer(3);
  p.steps = static_cast<uint32_t>(call.integer(4));
  p.first_step = static_cast<uint32_t>(call.integer(5));
  p.h = static_cast<float>(call.fields[6]);
  p.seed = static_cast<uint32_t>(call.integer(7));
  p.stream = static_cast<uint32_t>(call.integer(8));
  p.s_star = call.array<float>(0, ArrayType::F32, "sStar");
  p.sigma = call.array<float>(1, ArrayType::F32, "sigma");
  p.su = call.array<float>(2, ArrayType::F32, "su");
  p.sv = call.array<float>(3, ArrayType::F32, "sv");
  p.features = call.array<float>(4, ArrayType::F32, "features");
  if (p.seeds == 0 || p.blocks != (p.modes + 3) / 4 || call.length(0) < p.modes || call.length(1) * p.seeds < p.rows ||
      call.length(2) < p.rows * p.modes || call.length(3) < p.rows * p.modes || call.length(4) < 2 * p.rows * p.modes)
    throw std::invalid_argument("teacher_student_sgd: an array is smaller than its shape needs");
  // Work items of about 2^14 mode-steps (a few tens of microseconds), at least one row each.
  const size_t per_row = std::max<size_t>(1, p.modes * std::max<uint32_t>(p.steps, 1));
  const size_t rows_per_item = std::max<size_t>(1, (size_t(1) << 14) / per_row);
  const size_t items = (p.rows + rows_per_item - 1) / rows_per_item;
  auto item = [&](size_t k) { rows_range(p, k * rows_per_item, std::min(p.rows, (k + 1) * rows_per_item)); };
  if (call.pool != nullptr && call.threads > 1 && items > 1) call.pool->parallel_for(items, call.threads, item);
  else for (size_t k = 0; k < items; ++k) item(k);
}

}  // namespace
SC_REGISTER_KERNEL("teacher_student_sgd", teacher_student_sgd);
