#include "em_collapse.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>

#include "fastmath.h"
#include "models.h"
#include "philox.h"
#include "kernel.h"
#include "sde_isa.h"
#include "thread_pool.h"

namespace sc {
namespace {

constexpr int kTile = 128;   // paths per work item (the SIMD lanes of one tile)
constexpr int kAlign = 16;   // lanes are advanced in multiples of this (padding lanes are ignored)

// The normals of one block index for every lane of a tile: lane l has counter (block, path l, c3).
// All lanes read the same draw j in the same order, so a refill serves the whole tile at once.
template <int L>
struct TileNoise {
  static constexpr int kLanes = L;
  alignas(64) uint32_t c2[L];
  alignas(64) float z[4][L];
  uint32_t path0 = 0, c3 = 0, k0 = 0, k1 = 0;  // c2[l] = path0 + l
  int n = 0;
  uint64_t block = std::numeric_limits<uint64_t>::max();

  const float* draw(uint64_t j) {
    const uint64_t b = j >> 2;
    if (b != block) refill(b);
    return z[j & 3];
  }

  void refill(uint64_t b) {
    block = b;
#if SC_SDE_SIMD
    const TileKey key{path0, c3, k0, k1};
    float* zs[4] = {z[0], z[1], z[2], z[3]};
    if (sde_use_avx512() && n % avx512::kWidth == 0) {
      avx512::normals_paths(b, key, n, zs);
      return;
    }
    if (n % avx2::kWidth == 0) {
      avx2::normals_paths(b, key, n, zs);
      return;
    }
#endif
    alignas(64) uint32_t u0[L], u1[L], u2[L], u3[L];
    philox_paths(b, c2, c3, k0, k1, static_cast<size_t>(n), u0, u1, u2, u3);
    float* __restrict z0 = z[0];
    float* __restrict z1 = z[1];
    float* __restrict z2 = z[2];
    float* __restrict z3 = z[3];
    for (int l = 0; l < n; ++l) {
      box_muller(u0[l], u1[l], z0[l], z1[l]);
      box_muller(u2[l], u3[l], z2[l], z3[l]);
    }
  }
};

struct Job {
  const SimConfig& c;
  ModelShape shape;
  size_t tiles;    // tiles per grid point
  size_t samples;  // trace samples per traced path
  float* trace;
  int32_t* control;
  uint32_t check_every;  // steps between cancellation checks / progress reports
};

inline bool cancelled(const int32_t* control, const std::atomic<bool>* stop) {
  return (control != nullptr && __atomic_load_n(&control[0], __ATOMIC_RELAXED) != 0) ||
         (stop != nullptr && stop->load(std::memory_order_relaxed));
}

template <class M>
void measure(const float (*x)[kTile], int active, const StepArgs& a, double epsilon, double* acc) {
  for (int l = 0; l < active; ++l) {
    double xs[M::D];
    bool finite = true;
    for (int i = 0; i < M::D; ++i) {
      xs[i] = x[i][l];
      finite = finite && std::isfinite(xs[i]);
    }
    const float dist = finite ? static_cast<float>(M::distance(xs, a.p, a.data, a.m)) : NAN;
    if (!std::isfinite(dist)) {
      acc[1] += 1;
      continue;
    }
    const double dd = dist;
    if (dd < epsilon) acc[0] += 1;
    acc[2] += dd;
    acc[3] += dd * dd;
    acc[4] += std::log(std::max(dd, 1.1754943508222875e-38));  // 2^-126
  }
}

// Steps t0 .. t1 - 1 of the tile: the fused SIMD driver of this process's family (sde_isa.h), or the
// portable lane loops over TileNoise.
template <class M>
void advance(float* const* x, const StepArgs& args, TileNoise<kTile>& noise, uint32_t t0, uint32_t t1) {
#if SC_SDE_SIMD
  const TileKey key{noise.path0, noise.c3, noise.k0, noise.k1};
  if (sde_use_avx512() && args.n % avx512::kWidth == 0) return avx512::advance<M>(x, args, key, t0, t1);
  if (args.n % avx2::kWidth == 0) return avx2::advance<M>(x, args, key, t0, t1);
#endif
  for (uint32_t t = t0; t < t1; ++t) M::step(x, args, noise, static_cast<uint64_t>(t) * static_cast<uint64_t>(args.m));
}

template <class M>
void run_item(const Job& job, size_t item, double* partial) {
  const SimConfig& c = job.c;
  const size_t k = item / job.tiles;
  const size_t tile = item % job.tiles;
  const uint32_t start = static_cast<uint32_t>(tile * kTile);
  const int active = static_cast<int>(std::min<uint32_t>(kTile, c.paths - start));
  const int n = std::min(kTile, (active + kAlign - 1) / kAlign * kAlign);
  const uint32_t gk = c.grid_offset + static_cast<uint32_t>(k);
  const int m = job.shape.m;

  StepArgs args;
  args.p = c.params + k * M::NP;
  args.data = c.data;
  args.m = m;
  args.dt = static_cast<float>(c.dt);
  args.sqrt_dt = static_cast<float>(std::sqrt(c.dt));
  args.n = n;

  alignas(64) float x[M::D][kTile];
  float* xp[M::D];
  for (int i = 0; i < M::D; ++i) xp[i] = x[i];

  TileNoise<kTile> noise;
  for (int l = 0; l < kTile; ++l) noise.c2[l] = c.path_offset + start + static_cast<uint32_t>(l);
  noise.path0 = c.path_offset + start;
  noise.n = n;
  noise.k0 = c.seed;
  {
    // Initial state: draws 0 .. d-1 of key (seed, init), counter c3 = 0 when shared across the grid.
    TileNoise<kTile>& init = noise;
    init.k1 = kStreamInit;
    init.c3 = c.init_shared ? 0 : gk;
    for (int i = 0; i < M::D; ++i) {
      const float* z = init.draw(static_cast<uint64_t>(i));
      const double mean = c.init_mean[i], sd = c.init_std[i];
      for (int l = 0; l < kTile; ++l) x[i][l] = l < n ? static_cast<float>(mean + sd * static_cast<double>(z[l])) : 0.0f;
    }
  }
  noise.k1 = kStreamNoise;
  noise.c3 = gk;
  noise.block = std::numeric_limits<uint64_t>::max();

  const bool traced = job.trace != nullptr && start < c.trace_paths;
  const int trace_lanes = traced ? static_cast<int>(std::min<uint32_t>(static_cast<uint32_t>(active), c.trace_paths - start)) : 0;
  const size_t records = c.record.size();
  uint64_t progress = 0;  // path-steps not yet reported, in this item

  uint32_t s = 0;
  size_t r = 0;
  for (;;) {
    while (r < records && c.record[r] == s) {
      measure<M>(x, active, args, c.epsilon, partial + r * kStatFields);
      ++r;
    }
    if (traced && s % c.trace_every == 0) {
      const size_t sample = s / c.trace_every;
      for (int l = 0; l < trace_lanes; ++l) {
        float* out = job.trace + ((k * c.trace_paths + start + l) * job.samples + sample) * M::D;
        for (int i = 0; i < M::D; ++i) out[i] = x[i][l];
      }
    }
    if (s == c.steps) break;
    uint32_t next = std::min<uint64_t>(c.steps, static_cast<uint64_t>(s) + job.check_every);
    if (r < records) next = std::min(next, c.record[r]);
    if (traced) next = std::min<uint64_t>(next, (static_cast<uint64_t>(s) / c.trace_every + 1) * c.trace_every);
    advance<M>(xp, args, noise, s, next);
    progress += static_cast<uint64_t>(active) * (next - s);
    s = next;
    if (job.control != nullptr && progress >= 1024) {
      __atomic_fetch_add(&job.control[1], static_cast<int32_t>(progress >> 10), __ATOMIC_RELAXED);
      progress &= 1023;
    }
    if (cancelled(job.control, job.c.stop)) throw Aborted();
  }
}

template <class M>
void run_model(const SimConfig& c, ModelShape shape, double* stats, float* trace, int32_t* control, ThreadPool* pool) {
  const size_t G = c.grid_count, R = c.record.size();
  Job job{c, shape, (c.paths + kTile - 1) / kTile, trace_samples(c), trace, control,
          std::max<uint32_t>(1, 4096 / static_cast<uint32_t>(std::max(1, shape.m * M::D)))};
  const size_t items = G * job.tiles;
  std::vector<double> partial(items * R * kStatFields, 0.0);
  auto body = [&](size_t item) {
    if (cancelled(control, c.stop)) throw Aborted();
    run_item<M>(job, item, partial.data() + item * R * kStatFields);
  };
  if (pool != nullptr && c.threads > 1 && items > 1) {
    pool->parallel_for(items, c.threads, body);
  } else {
    for (size_t i = 0; i < items; ++i) body(i);
  }
  // Combine in item order (grid point, then tile): independent of which thread ran what.
  std::fill(stats, stats + R * G * kStatFields, 0.0);
  for (size_t k = 0; k < G; ++k)
    for (size_t t = 0; t < job.tiles; ++t) {
      const double* p = partial.data() + (k * job.tiles + t) * R * kStatFields;
      for (size_t r = 0; r < R; ++r)
        for (int f = 0; f < kStatFields; ++f) stats[(r * G + k) * kStatFields + f] += p[r * kStatFields + f];
    }
}

template <class M>
bool shape_of(const std::string& name, size_t data_len, ModelShape& out) {
  if (name != M::kName) return false;
  if (!M::data_ok(data_len))
    throw std::invalid_argument("model '" + name + "' needs data x then y (an even, nonzero number of floats); got " +
                                std::to_string(data_len));
  out = ModelShape{M::D, M::noise_dim(data_len), M::NP};
  return true;
}

}  // namespace

std::vector<std::string> model_names() { return {Quartic::kName, Neuron::kName, TeacherStudent::kName, TwoNeuronMomentum::kName, TwoNeuron::kName}; }

ModelShape model_shape(const std::string& name, size_t data_len) {
  ModelShape s{};
  if (shape_of<Quartic>(name, data_len, s) || shape_of<Neuron>(name, data_len, s) ||
      shape_of<TeacherStudent>(name, data_len, s) || shape_of<TwoNeuron>(name, data_len, s) ||
      shape_of<TwoNeuronMomentum>(name, data_len, s))
    return s;
  throw std::invalid_argument("unknown native model '" + name + "' (compiled in: quartic, neuron, teacher-student, two-neuron, two-neuron-sgd)");
}

void simulate(const SimConfig& c, double* stats, size_t stats_len, float* trace, size_t trace_len, int32_t* control,
              ThreadPool* pool) {
  const ModelShape shape = model_shape(c.model, c.data_len);
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (c.params_len != static_cast<size_t>(c.grid_count) * shape.param_count)
    fail("params must hold gridCount x " + std::to_string(shape.param_count) + " = " +
         std::to_string(static_cast<size_t>(c.grid_count) * shape.param_count) + " floats; got " + std::to_string(c.params_len));
  if (c.init_mean.size() != static_cast<size_t>(shape.d) || c.init_std.size() != static_cast<size_t>(shape.d))
    fail("initMean and initStd must have " + std::to_string(shape.d) + " entries");
  for (size_t r = 0; r < c.record.size(); ++r) {
    if (c.record[r] > c.steps) fail("record steps must be <= steps");
    if (r > 0 && c.record[r] <= c.record[r - 1]) fail("record steps must be sorted and distinct");
  }
  if (!(c.dt >= 0) || !std::isfinite(c.dt)) fail("dt must be a finite number >= 0");
  const size_t need = c.record.size() * c.grid_count * kStatFields;
  if (stats_len != need) fail("stats must hold record x gridCount x 5 = " + std::to_string(need) + " doubles; got " + std::to_string(stats_len));
  if (c.trace_paths > 0) {
    if (c.trace_every == 0) fail("traceEvery must be >= 1");
    const size_t tneed = static_cast<size_t>(c.grid_count) * c.trace_paths * trace_samples(c) * shape.d;
    if (trace == nullptr || trace_len != tneed)
      fail("trace must hold gridCount x traceP x (floor(steps/every)+1) x d = " + std::to_string(tneed) + " floats; got " +
           std::to_string(trace == nullptr ? 0 : trace_len));
  } else {
    trace = nullptr;
  }
  if (c.grid_count == 0 || c.paths == 0) {
    std::fill(stats, stats + need, 0.0);
    return;
  }
  if (c.model == Quartic::kName) run_model<Quartic>(c, shape, stats, trace, control, pool);
  else if (c.model == Neuron::kName) run_model<Neuron>(c, shape, stats, trace, control, pool);
  else if (c.model == TeacherStudent::kName) run_model<TeacherStudent>(c, shape, stats, trace, control, pool);
  else if (c.model == TwoNeuronMomentum::kName) run_model<TwoNeuronMomentum>(c, shape, stats, trace, control, pool);
  else run_model<TwoNeuron>(c, shape, stats, trace, control, pool);
}

}  // namespace sc

// ---- registry entry (src/kernels/em_collapse.ts declares the fields) ----
namespace {
// variant: the model. fields: grid_offset, grid_count, paths, path_offset, steps, dt, epsilon, seed,
// init_shared, trace_paths, trace_every. arrays: params f32, data f32, record u32, init_mean f64,
// init_std f64, stats f64 (out), trace f32 (out, empty without a trace).
void em_collapse_kernel(const sc::KernelCall& call) {
  using sc::ArrayType;
  call.expect(11, 7);
  sc::SimConfig c;
  c.model = call.variant;
  c.grid_offset = static_cast<uint32_t>(call.integer(0));
  c.grid_count = static_cast<uint32_t>(call.integer(1));
  c.paths = static_cast<uint32_t>(call.integer(2));
  c.path_offset = static_cast<uint32_t>(call.integer(3));
  c.steps = static_cast<uint32_t>(call.integer(4));
  c.dt = call.fields[5];
  c.epsilon = call.fields[6];
  c.seed = static_cast<uint32_t>(call.integer(7));
  c.init_shared = call.fields[8] != 0;
  c.trace_paths = static_cast<uint32_t>(call.integer(9));
  c.trace_every = static_cast<uint32_t>(call.integer(10));
  c.threads = call.threads;
  c.stop = call.stop;
  c.params = call.array<float>(0, ArrayType::F32, "params");
  c.params_len = call.length(0);
  c.data = call.array<float>(1, ArrayType::F32, "data");
  c.data_len = call.length(1);
  const uint32_t* record = call.array<uint32_t>(2, ArrayType::U32, "record");
  c.record.assign(record, record + call.length(2));
  const double* mean = call.array<double>(3, ArrayType::F64, "init mean");
  const double* std_dev = call.array<double>(4, ArrayType::F64, "init std");
  c.init_mean.assign(mean, mean + call.length(3));
  c.init_std.assign(std_dev, std_dev + call.length(4));
  double* stats = call.array<double>(5, ArrayType::F64, "stats");
  float* trace = call.array<float>(6, ArrayType::F32, "trace");
  sc::simulate(c, stats, call.length(5), call.length(6) ? trace : nullptr, call.length(6), call.control, call.pool);
}
}  // namespace
SC_REGISTER_KERNEL("em_collapse", em_collapse_kernel);
