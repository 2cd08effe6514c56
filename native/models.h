// The built-in models in C++: the same equations and parameter layout as the `js` functions of
// src/sde/models/*.ts (the reference). Each model advances `n` lanes (paths) of a tile by one
// Euler-Maruyama step, x <- x + f(x) dt + sum_k G_k(x) xi_k sqrt(dt), state structure-of-arrays
// x[component][lane], in f32 (the reference computes in f64 and rounds the state to f32 each step).
// Noise draw j + k (k < m) for every lane comes from `noise.draw(j + k)`, which returns a lane array.
// `distance` is evaluated in f64 from the f32 state, like the reference, once per recorded step.
// `Lanes<F>` is the same step for the fused SIMD driver (native/sde_simd.h), F a GCC vector of floats (one
// path per element, the state in registers): begin() once per step, noise(x, i, z) for noise column i < m
// with its normal z, end(x) applies the update. Same expressions as `step`, so both agree to rounding.
// kFixedM is the noise dimension when the model fixes it (1), else 0 (it comes from the data).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fastmath.h"

namespace sc {

struct StepArgs {
  const float* p;     // this grid point's parameter vector
  const float* data;  // model data (x then y for the data models)
  int m;              // noise dimension
  float dt;
  float sqrt_dt;      // f32(sqrt(dt)), as the reference
  int n;              // lanes to advance (a multiple of the SIMD width; extra lanes are padding)
};

// dθ = (μθ − θ³) dt + ζθ dB; params (mu, zeta); distance θ².
struct Quartic {
  static constexpr const char* kName = "quartic";
  static constexpr int D = 1;
  static constexpr int NP = 2;
  static int noise_dim(size_t) { return 1; }
  static bool data_ok(size_t) { return true; }
  template <class Noise>
  static void step(float* const* x, const StepArgs& a, Noise& noise, uint64_t j) {
    const float* __restrict z = noise.draw(j);
    float* __restrict x0 = x[0];
    const float mu = a.p[0], zeta = a.p[1], dt = a.dt, sdt = a.sqrt_dt;
    for (int l = 0; l < a.n; ++l) x0[l] = step1(x0[l], z[l], mu, zeta, dt, sdt);
  }
  // One step of one lane with its normal (the portable lane loop above).
  static SC_INLINE float step1(float v, float zn, float mu, float zeta, float dt, float sdt) {
    return v + (mu * v - v * v * v) * dt + (zeta * v) * (zn * sdt);
  }
  static constexpr int kFixedM = 1;
  // The same step as v + v (mu dt + zeta sqrt(dt) z - dt v^2): the noise part is off the chain through the
  // state, which is then 3 operations a step instead of 5 (the SIMD driver is bound by that chain's latency
  // as much as by the noise); the leading v enters exactly as the addend of the last fma.
  template <class F>
  struct Lanes {
    F mu_dt, noise_scale, minus_dt, k;
    explicit Lanes(const StepArgs& a)
        : mu_dt(F{} + a.p[0] * a.dt), noise_scale(F{} + a.p[1] * a.sqrt_dt), minus_dt(F{} - a.dt), k(F{}) {}
    SC_INLINE void begin(const F*) {}
    SC_INLINE void noise(const F*, int, F z) { k = z * noise_scale + mu_dt; }
    SC_INLINE void end(F* x) {
      const F v = x[0];
      x[0] = v * ((v * v) * minus_dt + k) + v;
    }
  };
  static double distance(const double* x, const float*, const float*, int) { return x[0] * x[0]; }
};

// Fig. 2 single neuron f(x) = w2 tanh(w1 x) on m points (data x then y); params (c); distance ‖w‖.
struct Neuron {
  static constexpr const char* kName = "neuron";
  static constexpr int D = 2;
  static constexpr int NP = 1;
  static int noise_dim(size_t data_len) { return static_cast<int>(data_len / 2); }
  static bool data_ok(size_t data_len) { return data_len >= 2 && data_len % 2 == 0; }
  template <class Noise>
  static void step(float* const* x, const StepArgs& a, Noise& noise, uint64_t j) {
    constexpr int L = Noise::kLanes;
    alignas(64) float f0[L], f1[L], n0[L], n1[L];
    float* __restrict w0 = x[0];
    float* __restrict w1 = x[1];
    const int n = a.n, m = a.m;
    const float c = a.p[0], sdt = a.sqrt_dt, inv_m = 1.0f / static_cast<float>(m);
    for (int l = 0; l < n; ++l) { f0[l] = 0.0f; f1[l] = 0.0f; n0[l] = 0.0f; n1[l] = 0.0f; }
    for (int i = 0; i < m; ++i) {
      const float xi = a.data[i], yi = a.data[m + i];
      const float* __restrict z = noise.draw(j + static_cast<uint64_t>(i));
      for (int l = 0; l < n; ++l) {
        const float t = tanhf_fast(w0[l] * xi);
        const float g0 = w1[l] * (1.0f - t * t) * xi;
        const float g1 = t;
        const float res = w1[l] * t - yi;
        f0[l] -= res * g0;
        f1[l] -= res * g1;
        const float zs = c * (z[l] * sdt);
        n0[l] += g0 * zs;
        n1[l] += g1 * zs;
      }
    }
    const float dt = a.dt;
    for (int l = 0; l < n; ++l) {
      w0[l] = w0[l] + f0[l] * inv_m * dt + n0[l];
      w1[l] = w1[l] + f1[l] * inv_m * dt + n1[l];
    }
  }
  static constexpr int kFixedM = 0;
  template <class F>
  struct Lanes {
    const float* data;
    int m;
    F c, sdt, dt, inv_m, f0, f1, n0, n1;
    explicit Lanes(const StepArgs& a)
        : data(a.data), m(a.m), c(F{} + a.p[0]), sdt(F{} + a.sqrt_dt), dt(F{} + a.dt), inv_m(F{} + 1.0f / static_cast<float>(a.m)) {}
    SC_INLINE void begin(const F*) { f0 = f1 = n0 = n1 = F{}; }
    SC_INLINE void noise(const F* x, int i, F z) {
      const float xi = data[i], yi = data[m + i];
      const F t = tanhf_lanes<F>(x[0] * xi);
      const F g0 = x[1] * (1.0f - t * t) * xi;
      const F g1 = t;
      const F res = x[1] * t - yi;
      f0 -= res * g0;
      f1 -= res * g1;
      const F zs = c * (z * sdt);
      n0 += g0 * zs;
      n1 += g1 * zs;
    }
    SC_INLINE void end(F* x) {
      x[0] = x[0] + f0 * inv_m * dt + n0;
      x[1] = x[1] + f1 * inv_m * dt + n1;
    }
  };
  static double distance(const double* x, const float*, const float*, int) { return std::hypot(x[0], x[1]); }
};

// Fig. 5 teacher-student mode: s = s_u s_v; params (sStar, g = sqrt(eta) sigma); distance |s_u s_v|.
struct TeacherStudent {
  static constexpr const char* kName = "teacher-student";
  static constexpr int D = 2;
  static constexpr int NP = 2;
  static int noise_dim(size_t) { return 1; }
  static bool data_ok(size_t) { return true; }
  template <class Noise>
  static void step(float* const* x, const StepArgs& a, Noise& noise, uint64_t j) {
    const float* __restrict z = noise.draw(j);
    float* __restrict u = x[0];
    float* __restrict v = x[1];
    const float s_star = a.p[0], g = a.p[1], dt = a.dt, sdt = a.sqrt_dt;
    for (int l = 0; l < a.n; ++l) {
      const float uu = u[l], vv = v[l];
      const float r = uu * vv - s_star;
      const float xi = z[l] * sdt;
      u[l] = uu + (-r * vv) * dt + (-g * vv) * xi;
      v[l] = vv + (-r * uu) * dt + (-g * uu) * xi;
    }
  }
  static constexpr int kFixedM = 1;
  template <class F>
  struct Lanes {
    F s_star, g, dt, sdt, zn;
    explicit Lanes(const StepArgs& a) : s_star(F{} + a.p[0]), g(F{} + a.p[1]), dt(F{} + a.dt), sdt(F{} + a.sqrt_dt), zn(F{}) {}
    SC_INLINE void begin(const F*) {}
    SC_INLINE void noise(const F*, int, F z) { zn = z; }
    SC_INLINE void end(F* x) {
      const F uu = x[0], vv = x[1];
      const F r = uu * vv - s_star;
      const F xi = zn * sdt;
      x[0] = uu + (-r * vv) * dt + (-g * vv) * xi;
      x[1] = vv + (-r * uu) * dt + (-g * uu) * xi;
    }
  };
  static double distance(const double* x, const float*, const float*, int) { return std::fabs(x[0] * x[1]); }
};

// Appendix toy without momentum ("two-neuron-sgd"): two GELU neurons (a1, a2, b1, b2) on n points (data x then y);
// params (c); distance ‖w1 − w2‖.
struct TwoNeuron {
  static constexpr const char* kName = "two-neuron-sgd";
  static constexpr int D = 4;
  static constexpr int NP = 1;
  static int noise_dim(size_t data_len) { return static_cast<int>(data_len / 2); }
  static bool data_ok(size_t data_len) { return data_len >= 2 && data_len % 2 == 0; }
  static SC_INLINE float gelu(float z) { return 0.5f * z * (1.0f + erf_as(z * 0.70710678118654752f)); }
  static SC_INLINE float gelu_prime(float z) {
    return 0.5f * (1.0f + erf_as(z * 0.70710678118654752f)) + z * 0.39894228040143268f * expf_fast(-0.5f * z * z);
  }
  template <class F>
  static SC_INLINE F gelu_lanes(F z) { return 0.5f * z * (1.0f + erf_lanes<F>(z * 0.70710678118654752f)); }
  template <class F>
  static SC_INLINE F gelu_prime_lanes(F z) {
    return 0.5f * (1.0f + erf_lanes<F>(z * 0.70710678118654752f)) + z * 0.39894228040143268f * expf_lanes<F>(-0.5f * z * z);
  }
  // The network's gradients for one data point (x_i, y_i): g = grad f(x_i), res = f(x_i) - y_i.
  template <class F>
  static SC_INLINE void point_lanes(const F* w, float xi, float yi, F (&g)[4], F& res) {
    const F z1 = w[0] * xi, z2 = w[1] * xi;
    g[0] = w[2] * gelu_prime_lanes<F>(z1) * xi;
    g[1] = w[3] * gelu_prime_lanes<F>(z2) * xi;
    g[2] = gelu_lanes<F>(z1);
    g[3] = gelu_lanes<F>(z2);
    res = w[2] * g[2] + w[3] * g[3] - yi;
  }
  static constexpr int kFixedM = 0;
  template <class F>
  struct Lanes {
    const float* data;
    int m;
    F c, sdt, dt, inv_m, f[4], nz[4];
    explicit Lanes(const StepArgs& a)
        : data(a.data), m(a.m), c(F{} + a.p[0]), sdt(F{} + a.sqrt_dt), dt(F{} + a.dt), inv_m(F{} + 1.0f / static_cast<float>(a.m)) {}
    SC_INLINE void begin(const F*) {
      for (int q = 0; q < 4; ++q) f[q] = nz[q] = F{};
    }
    SC_INLINE void noise(const F* x, int i, F z) {
      F g[4], res;
      point_lanes<F>(x, data[i], data[m + i], g, res);
      const F zs = c * (z * sdt);
      for (int q = 0; q < 4; ++q) {
        f[q] -= res * g[q];
        nz[q] += g[q] * zs;
      }
    }
    SC_INLINE void end(F* x) {
      for (int q = 0; q < 4; ++q) x[q] = x[q] + f[q] * inv_m * dt + nz[q];
    }
  };
  template <class Noise>
  static void step(float* const* x, const StepArgs& a, Noise& noise, uint64_t j) {
    constexpr int L = Noise::kLanes;
    alignas(64) float f[4][L], nz[4][L];
    const int n = a.n, m = a.m;
    const float c = a.p[0], sdt = a.sqrt_dt, inv_m = 1.0f / static_cast<float>(m);
    for (int q = 0; q < 4; ++q)
      for (int l = 0; l < n; ++l) { f[q][l] = 0.0f; nz[q][l] = 0.0f; }
    float* __restrict a1 = x[0];
    float* __restrict a2 = x[1];
    float* __restrict b1 = x[2];
    float* __restrict b2 = x[3];
    for (int i = 0; i < m; ++i) {
      const float xi = a.data[i], yi = a.data[m + i];
      const float* __restrict z = noise.draw(j + static_cast<uint64_t>(i));
      for (int l = 0; l < n; ++l) {
        const float z1 = a1[l] * xi, z2 = a2[l] * xi;
        const float g0 = b1[l] * gelu_prime(z1) * xi;
        const float g1 = b2[l] * gelu_prime(z2) * xi;
        const float g2 = gelu(z1);
        const float g3 = gelu(z2);
        const float res = b1[l] * g2 + b2[l] * g3 - yi;
        f[0][l] -= res * g0; f[1][l] -= res * g1; f[2][l] -= res * g2; f[3][l] -= res * g3;
        const float zs = c * (z[l] * sdt);
        nz[0][l] += g0 * zs; nz[1][l] += g1 * zs; nz[2][l] += g2 * zs; nz[3][l] += g3 * zs;
      }
    }
    const float dt = a.dt;
    for (int q = 0; q < 4; ++q) {
      float* __restrict w = x[q];
      for (int l = 0; l < n; ++l) w[l] = w[l] + f[q][l] * inv_m * dt + nz[q][l];
    }
  }
  static double distance(const double* x, const float*, const float*, int) { return std::hypot(x[0] - x[1], x[2] - x[3]); }
};

// Appendix toy as the paper runs it ("two-neuron"): the same network, SGD with heavy-ball momentum. State
// (a1, a2, b1, b2, v_a1, v_a2, v_b1, v_b2), v the pre-step velocity; params (c, beta, invLr); with dt = lr one
// step is v <- beta v + g, w <- w - lr v. Drift: w: -beta v - grad L; v: ((beta - 1) v + grad L) / lr.
// Noise column i: w: c grad f(x_i); v: -(c / lr) grad f(x_i). Distance ‖w1 − w2‖ on the weights.
struct TwoNeuronMomentum {
  static constexpr const char* kName = "two-neuron";
  static constexpr int D = 8;
  static constexpr int NP = 3;
  static int noise_dim(size_t data_len) { return static_cast<int>(data_len / 2); }
  static bool data_ok(size_t data_len) { return data_len >= 2 && data_len % 2 == 0; }
  template <class Noise>
  static void step(float* const* x, const StepArgs& a, Noise& noise, uint64_t j) {
    constexpr int L = Noise::kLanes;
    alignas(64) float f[4][L], nz[4][L];
    const int n = a.n, m = a.m;
    const float c = a.p[0], beta = a.p[1], inv_lr = a.p[2], sdt = a.sqrt_dt, inv_m = 1.0f / static_cast<float>(m);
    for (int q = 0; q < 4; ++q)
      for (int l = 0; l < n; ++l) { f[q][l] = 0.0f; nz[q][l] = 0.0f; }
    float* __restrict a1 = x[0];
    float* __restrict a2 = x[1];
    float* __restrict b1 = x[2];
    float* __restrict b2 = x[3];
    for (int i = 0; i < m; ++i) {
      const float xi = a.data[i], yi = a.data[m + i];
      const float* __restrict z = noise.draw(j + static_cast<uint64_t>(i));
      for (int l = 0; l < n; ++l) {
        const float z1 = a1[l] * xi, z2 = a2[l] * xi;
        const float g0 = b1[l] * TwoNeuron::gelu_prime(z1) * xi;
        const float g1 = b2[l] * TwoNeuron::gelu_prime(z2) * xi;
        const float g2 = TwoNeuron::gelu(z1);
        const float g3 = TwoNeuron::gelu(z2);
        const float res = b1[l] * g2 + b2[l] * g3 - yi;
        f[0][l] += res * g0; f[1][l] += res * g1; f[2][l] += res * g2; f[3][l] += res * g3;  // m grad L
        const float zs = c * (z[l] * sdt);
        nz[0][l] += g0 * zs; nz[1][l] += g1 * zs; nz[2][l] += g2 * zs; nz[3][l] += g3 * zs;
      }
    }
    const float dt = a.dt;
    for (int q = 0; q < 4; ++q) {
      float* __restrict w = x[q];
      float* __restrict v = x[4 + q];
      for (int l = 0; l < n; ++l) {
        const float gl = f[q][l] * inv_m, vv = v[l];
        w[l] = w[l] + (-beta * vv - gl) * dt + nz[q][l];
        v[l] = vv + ((beta - 1.0f) * vv + gl) * inv_lr * dt + (-inv_lr) * nz[q][l];
      }
    }
  }
  static constexpr int kFixedM = 0;
  template <class F>
  struct Lanes {
    const float* data;
    int m;
    F c, beta, inv_lr, sdt, dt, inv_m, f[4], nz[4];
    explicit Lanes(const StepArgs& a)
        : data(a.data), m(a.m), c(F{} + a.p[0]), beta(F{} + a.p[1]), inv_lr(F{} + a.p[2]), sdt(F{} + a.sqrt_dt), dt(F{} + a.dt),
          inv_m(F{} + 1.0f / static_cast<float>(a.m)) {}
    SC_INLINE void begin(const F*) {
      for (int q = 0; q < 4; ++q) f[q] = nz[q] = F{};
    }
    SC_INLINE void noise(const F* x, int i, F z) {
      F g[4], res;
      TwoNeuron::point_lanes<F>(x, data[i], data[m + i], g, res);
      const F zs = c * (z * sdt);
      for (int q = 0; q < 4; ++q) {
        f[q] += res * g[q];
        nz[q] += g[q] * zs;
      }
    }
    SC_INLINE void end(F* x) {
      for (int q = 0; q < 4; ++q) {
        const F gl = f[q] * inv_m, vv = x[4 + q];
        x[q] = x[q] + (-beta * vv - gl) * dt + nz[q];
        x[4 + q] = vv + ((beta - 1.0f) * vv + gl) * inv_lr * dt + (-inv_lr) * nz[q];
      }
    }
  };
  static double distance(const double* x, const float*, const float*, int) { return std::hypot(x[0] - x[1], x[2] - x[3]); }
};

}  // namespace sc
