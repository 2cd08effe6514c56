// A small thread pool for data-parallel loops. `parallel_for(n, threads, fn)` runs fn(0..n-1) on up to
// `threads` threads (the calling thread included); items are claimed with an atomic counter, so which
// thread runs which item varies, and callers that need deterministic results write per-item partials
// and combine them in item order afterwards. Several callers may use one pool at the same time.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace sc {

class ThreadPool {
 public:
  // `helpers` background threads (default: hardware_concurrency - 1; the caller is the extra one).
  explicit ThreadPool(unsigned helpers = default_threads() - 1);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Runs fn(i) for i in [0, n) on at most `threads` threads; returns when all are done. Rethrows the
  // first exception thrown by fn (the other items still run or are skipped once it is seen).
  void parallel_for(size_t n, unsigned threads, const std::function<void(size_t)>& fn);

  static unsigned default_threads();

 private:
  struct Group;
  void worker_loop();
  void grow(unsigned helpers);
  static void work_on(Group& g);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Group>> queue_;
  std::vector<std::thread> threads_;
  bool stop_ = false;
  // Groups posted so far: idle helpers spin on it briefly before sleeping (see worker_loop).
  std::atomic<uint64_t> posted_{0};
};

}  // namespace sc
