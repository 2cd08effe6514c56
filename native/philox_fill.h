// Bulk draws of the counter-based generator: out[i] = draw (offset + i) of key (seed, stream), counter
// words c2 = c3 = 0 (the contract of `fillDraws` in src/rng/philox.ts). Any chunking gives the same
// bits, so the work is split across threads in fixed-size chunks.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sc {

class ThreadPool;

enum class DrawKind : int { U32 = 0, Uniform = 1, Normal = 2 };

// Single-threaded: draws offset .. offset + n - 1 into out (uint32_t* for U32, float* otherwise).
void fill_draws(DrawKind kind, void* out, size_t n, uint32_t seed, uint32_t stream, uint64_t offset);

// The same, split over `threads` threads of `pool` (nullptr or threads <= 1: on the calling thread).
void fill_draws_parallel(DrawKind kind, void* out, size_t n, uint32_t seed, uint32_t stream, uint64_t offset,
                         ThreadPool* pool, unsigned threads);

}  // namespace sc
