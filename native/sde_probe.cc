// sde_probe: checks and a clock for the noise-bound kernels, called through the addon's generic `run`
// (test/native.random.test.ts, test/native.sde.test.ts, bench/suite-sde.mjs, bench/suite-random.mjs); not a
// tensor kernel, so src/kernels has no spec for it.
//   fields: mode, n, a, b, c;  arrays: out (f64)
//   mode 0 (clock): n iterations of 16 dependent 64-bit adds (1-cycle latency each, on every x86 core since
//     the P6), out = [wall seconds, thread CPU seconds, adds]: the core clock is adds / CPU seconds (CPU time,
//     so that a preemption on a shared machine does not read as a slow clock). The benchmarks time it in the
//     same run as the kernels and report cycles = CPU seconds x that clock.
//   mode 1 (normals): draws 4 a .. 4 a + n - 1 (n a multiple of 64) of key (b, c), counter words c2 = c3 = 0,
//     through the SIMD family of this process (sde_isa.h; split over the pool), against the f64 Box-Muller
//     of src/rng/philox.ts on the same u32s from the scalar Philox. out = [max |dz|, max |dz| / (1 + |z|),
//     largest |z|, draws with |z| > 5, draws whose SIMD bits differ from the scalar box_muller of the scalar
//     Philox words, max (|dz| - bound), family width] with bound = 3e-7 max(1, r), r the pair's f64 radius
//     (fastmath.h).
//   mode 2 (SDE addressing): blocks a .. a + n - 1 (a may straddle 2^32: the counter's carry into the high
//     word) for 128 paths from path0 = b, c3 = c, key (7, 0): normals_paths against the scalar box_muller of
//     the scalar Philox, out = [bit mismatches, family width].
#include <algorithm>
#include <chrono>
#include <ctime>
#include <utility>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fastmath.h"
#include "kernel.h"
#include "philox.h"
#include "sde_isa.h"
#include "thread_pool.h"

namespace {

double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Returns [wall seconds, this thread's CPU seconds].
std::pair<double, double> clock_probe(uint64_t iterations) {
  uint64_t x = 0;
  const double c0 = thread_seconds();
  const auto t0 = std::chrono::steady_clock::now();
#if defined(__GNUC__) && defined(__x86_64__)
  for (uint64_t i = 0; i < iterations; ++i) {
    asm volatile(
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
        : "+r"(x));
  }
#else
  for (uint64_t i = 0; i < 16 * iterations; ++i) asm volatile("" : "+r"(x) : : "memory");
#endif
  const auto t1 = std::chrono::steady_clock::now();
  const double c1 = thread_seconds();
  if (x != 16 * iterations) throw std::runtime_error("sde_probe: clock chain miscounted");
  return {std::chrono::duration<double>(t1 - t0).count(), c1 - c0};
}

int width() {
#if SC_SDE_SIMD
  return sc::sde_use_avx512() ? sc::avx512::kWidth : sc::avx2::kWidth;
#else
  return 0;
#endif
}

void simd_consecutive(float* out, uint64_t first, size_t nb, uint32_t k0, uint32_t k1) {
#if SC_SDE_SIMD
  if (sc::sde_use_avx512()) return sc::avx512::normals_consecutive(out, first, nb, k0, k1);
  return sc::avx2::normals_consecutive(out, first, nb, k0, k1);
#else
  for (size_t i = 0; i < nb; ++i) {
    uint32_t u[4];
    sc::philox4x32(static_cast<uint32_t>(first + i), static_cast<uint32_t>((first + i) >> 32), 0, 0, k0, k1, u);
    sc::box_muller(u[0], u[1], out[4 * i], out[4 * i + 1]);
    sc::box_muller(u[2], u[3], out[4 * i + 2], out[4 * i + 3]);
  }
#endif
}

struct NormalStats {
  double max_abs = 0, max_rel = 0, max_z = 0, tails = 0, mismatches = 0, over_bound = -1;
  void merge(const NormalStats& o) {
    max_abs = std::max(max_abs, o.max_abs);
    max_rel = std::max(max_rel, o.max_rel);
    max_z = std::max(max_z, o.max_z);
    tails += o.tails;
    mismatches += o.mismatches;
    over_bound = std::max(over_bound, o.over_bound);
  }
};

NormalStats check_normals(uint64_t first, size_t nb, uint32_t k0, uint32_t k1) {
  NormalStats st;
  std::vector<float> z(4 * nb);
  simd_consecutive(z.data(), first, nb, k0, k1);
  const double two_pi = 6.283185307179586;
  for (size_t i = 0; i < nb; ++i) {
    const uint64_t b = first + i;
    uint32_t u[4];
    sc::philox4x32(static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), 0, 0, k0, k1, u);
    for (int p = 0; p < 2; ++p) {
      const uint32_t ua = u[2 * p], ub = u[2 * p + 1];
      const double r = std::sqrt(-2.0 * std::log(((ua >> 9) + 0.5) * 1.1920928955078125e-7));
      const double t = two_pi * (((ub >> 9) + 0.5) * 1.1920928955078125e-7);
      const double ref[2] = {r * std::cos(t), r * std::sin(t)};
      float scalar[2];
      sc::box_muller(ua, ub, scalar[0], scalar[1]);
      for (int q = 0; q < 2; ++q) {
        const float got = z[4 * i + 2 * p + q];
        const double d = std::fabs(static_cast<double>(got) - ref[q]);
        const double az = std::fabs(ref[q]);
        st.max_abs = std::max(st.max_abs, d);
        st.max_rel = std::max(st.max_rel, d / (1.0 + az));
        st.max_z = std::max(st.max_z, az);
        st.over_bound = std::max(st.over_bound, d - 3e-7 * std::max(1.0, r));
        if (az > 5) st.tails += 1;
        if (sc::float_to_bits(got) != sc::float_to_bits(scalar[q])) st.mismatches += 1;
      }
    }
  }
  return st;
}

double check_paths(uint64_t first, size_t nb, uint32_t path0, uint32_t c3) {
  constexpr int kLanes = 128;
  double mismatches = 0;
#if SC_SDE_SIMD
  std::vector<float> z(4 * kLanes);
  float* zs[4] = {z.data(), z.data() + kLanes, z.data() + 2 * kLanes, z.data() + 3 * kLanes};
  const sc::TileKey key{path0, c3, 7, 0};
  for (size_t i = 0; i < nb; ++i) {
    const uint64_t b = first + i;
    if (sc::sde_use_avx512()) sc::avx512::normals_paths(b, key, kLanes, zs);
    else sc::avx2::normals_paths(b, key, kLanes, zs);
    for (int l = 0; l < kLanes; ++l) {
      uint32_t u[4];
      sc::philox4x32(static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), path0 + static_cast<uint32_t>(l), c3, 7, 0, u);
      float s[4];
      sc::box_muller(u[0], u[1], s[0], s[1]);
      sc::box_muller(u[2], u[3], s[2], s[3]);
      for (int q = 0; q < 4; ++q)
        if (sc::float_to_bits(s[q]) != sc::float_to_bits(zs[q][l])) {
          mismatches += 1;
        }
    }
  }
#else
  (void)first; (void)nb; (void)path0; (void)c3;
#endif
  return mismatches;
}

void sde_probe_kernel(const sc::KernelCall& call) {
  call.expect(5, 1);
  const uint64_t mode = call.integer(0);
  const uint64_t n = call.integer(1, 53);
  double* out = call.array<double>(0, sc::ArrayType::F64, "out");
  if (mode == 0) {
    if (call.length(0) != 3) throw std::invalid_argument("sde_probe: clock writes 3 values");
    const auto t = clock_probe(n);
    out[0] = t.first;
    out[1] = t.second;
    out[2] = 16.0 * static_cast<double>(n);
  } else if (mode == 1) {
    if (call.length(0) != 7) throw std::invalid_argument("sde_probe: normals writes 7 values");
    if (n % 64 != 0) throw std::invalid_argument("sde_probe: n must be a multiple of 64");
    const uint64_t first = call.integer(2, 52);
    const auto k0 = static_cast<uint32_t>(call.integer(3)), k1 = static_cast<uint32_t>(call.integer(4));
    constexpr size_t kChunkBlocks = size_t(1) << 16;
    const size_t blocks = n / 4, chunks = (blocks + kChunkBlocks - 1) / kChunkBlocks;
    std::vector<NormalStats> parts(chunks);
    auto body = [&](size_t c) {
      const size_t b0 = c * kChunkBlocks;
      parts[c] = check_normals(first + b0, std::min(kChunkBlocks, blocks - b0), k0, k1);
    };
    if (call.pool != nullptr && call.threads > 1 && chunks > 1) call.pool->parallel_for(chunks, call.threads, body);
    else for (size_t c = 0; c < chunks; ++c) body(c);
    NormalStats all;
    for (const NormalStats& p : parts) all.merge(p);
    const double v[7] = {all.max_abs, all.max_rel, all.max_z, all.tails, all.mismatches, all.over_bound, static_cast<double>(width())};
    std::copy(v, v + 7, out);
  } else if (mode == 2) {
    if (call.length(0) != 2) throw std::invalid_argument("sde_probe: paths writes 2 values");
    out[0] = check_paths(call.integer(2, 52), n, static_cast<uint32_t>(call.integer(3)), static_cast<uint32_t>(call.integer(4)));
    out[1] = width();
  } else {
    throw std::invalid_argument("sde_probe: mode must be 0, 1 or 2");
  }
}

}  // namespace
SC_REGISTER_KERNEL("sde_probe", sde_probe_kernel);
