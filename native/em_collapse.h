// Monte Carlo Euler-Maruyama for the built-in models (native/models.h), following src/backends/js.ts
// (the reference) step for step: the same initial draws, noise addressing, f32 state and measurements.
// Work is split into items (grid point, tile of up to kTile paths); every item writes its own partial
// statistics, combined in item order, so results are bit-identical for any thread count. The steps run in the
// fused SIMD driver of native/sde_simd.h (Philox, Box-Muller and the model's step in registers), AVX-512 or
// AVX2 as matmul.h chose at load (sde_isa.h); both families give the same bits.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace sc {

class ThreadPool;

constexpr int kStatFields = 5;
constexpr uint32_t kStreamNoise = 0;
constexpr uint32_t kStreamInit = 1;

struct SimConfig {
  std::string model;
  const float* params = nullptr;  // gridCount x paramCount
  size_t params_len = 0;
  const float* data = nullptr;
  size_t data_len = 0;
  uint32_t grid_offset = 0, grid_count = 0;
  uint32_t paths = 0, path_offset = 0;
  uint32_t steps = 0;
  double dt = 0;
  std::vector<uint32_t> record;  // sorted, distinct, each <= steps
  double epsilon = 0;
  uint32_t seed = 0;
  std::vector<double> init_mean, init_std;
  bool init_shared = true;
  uint32_t trace_paths = 0, trace_every = 1;  // trace_paths = 0: no trace
  unsigned threads = 1;
  const std::atomic<bool>* stop = nullptr;  // environment teardown: stop like a cancel
};

// Thrown when control[0] becomes nonzero during a run.
struct Aborted : std::runtime_error {
  Aborted() : std::runtime_error("simulation was aborted") {}
};

struct ModelShape {
  int d, m, param_count;
};

// d, m and the parameter count of a built-in model; throws std::invalid_argument for an unknown name
// or data of the wrong shape.
ModelShape model_shape(const std::string& name, size_t data_len);

// Names of the compiled-in models.
std::vector<std::string> model_names();

// Number of trace samples per traced path: floor(steps / every) + 1.
inline size_t trace_samples(const SimConfig& c) { return c.trace_paths ? c.steps / c.trace_every + 1 : 0; }

// Validates `c` (throws std::invalid_argument with a message naming the problem) and runs it. `stats`
// holds record.size() x gridCount x kStatFields doubles, indexed [(r * gridCount + k) * 5 + f]; `trace`
// (when c.trace_paths > 0) gridCount x trace_paths x samples x d floats. control[0] != 0 cancels (throws
// Aborted); control[1] is increased by (path-steps done) / 1024 as the run goes.
void simulate(const SimConfig& c, double* stats, size_t stats_len, float* trace, size_t trace_len,
              int32_t* control, ThreadPool* pool);

}  // namespace sc
