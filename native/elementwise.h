// Chunked loops for the memory-bound layer kernels (activation, add, pooling): `for_chunks(n, grain, call, fn)`
// calls fn(begin, end) over [0, n) in chunks of `grain` items, on the pool when the work is large enough to pay
// for waking it (at least kParallelItems items, more than one chunk, more than one thread), inline otherwise.
// Chunk boundaries depend only on n and grain, never on the thread count; kernels whose per-item result does
// not depend on its chunk are therefore bit-identical for any number of threads.
#pragma once
#include <algorithm>
#include <cstddef>

#include "kernel.h"
#include "thread_pool.h"

namespace sc {

// Below ~2^16 elements (~20 µs of streaming) a pool wake-up costs as much as the work.
constexpr size_t kParallelItems = size_t{1} << 16;

template <class Fn>
void for_chunks(size_t n, size_t grain, size_t work_items, const KernelCall& call, Fn&& fn) {
  const size_t chunks = (n + grain - 1) / grain;
  auto chunk = [&](size_t c) { fn(c * grain, std::min(n, (c + 1) * grain)); };
  if (call.pool != nullptr && call.threads > 1 && chunks > 1 && work_items >= kParallelItems) {
    call.pool->parallel_for(chunks, call.threads, chunk);
  } else {
    for (size_t c = 0; c < chunks; ++c) chunk(c);
  }
}

}  // namespace sc
