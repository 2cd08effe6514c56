// stream_copy: the memory-bandwidth ceiling for `collapse bench`: out = in, f32, in chunks of 256 KiB spread
// over the pool (each thread streams its own chunks). Counted as 8 bytes per element (one read, one write).
// src/kernels/stream_copy.ts declares the fields; shaders/stream_copy.wgsl is the webgpu twin.
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "kernel.h"
#include "thread_pool.h"

namespace {

constexpr size_t kChunk = 1 << 16;  // elements

// fields: n, groups (webgpu only);  arrays: in (f32, n), out (f32, n)
void stream_copy_kernel(const sc::KernelCall& call) {
  call.expect(2, 2);
  const size_t n = call.integer(0);
  const float* in = call.array<float>(0, sc::ArrayType::F32, "in");
  float* out = call.array<float>(1, sc::ArrayType::F32, "out");
  if (call.length(0) != n || call.length(1) != n) throw std::invalid_argument("stream_copy: in and out must hold n elements");
  const size_t chunks = (n + kChunk - 1) / kChunk;
  auto task = [&](size_t c) {
    const size_t start = c * kChunk;
    std::memcpy(out + start, in + start, sizeof(float) * std::min(kChunk, n - start));
  };
  if (call.pool != nullptr && call.threads > 1 && chunks > 1) {
    call.pool->parallel_for(chunks, call.threads, task);
  } else {
    for (size_t c = 0; c < chunks; ++c) task(c);
  }
}

}  // namespace
SC_REGISTER_KERNEL("stream_copy", stream_copy_kernel);
