#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <thread>

namespace sc {

namespace {
// Waking a thread asleep on a condition variable costs ~40 µs here, as much as a whole 128³ matmul: threads
// that just finished work spin this long for the next before they sleep.
constexpr auto kSpin = std::chrono::microseconds(50);

template <class Ready>
void spin_until(Ready ready) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  while (!ready() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
}
}  // namespace

struct ThreadPool::Group {
  const std::function<void(size_t)>* fn;
  size_t n;
  unsigned max_helpers;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::atomic<unsigned> helpers{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex mutex;
  std::condition_variable finished;
};

unsigned ThreadPool::default_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

ThreadPool::ThreadPool(unsigned helpers) { grow(helpers); }

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::grow(unsigned helpers) {
  helpers = std::min(helpers, 256u);
  std::lock_guard<std::mutex> lock(mutex_);
  while (threads_.size() < helpers) threads_.emplace_back([this] { worker_loop(); });
}

void ThreadPool::work_on(Group& g) {
  for (;;) {
    const size_t i = g.next.fetch_add(1, std::memory_order_relaxed);
    if (i >= g.n) return;
    if (!g.failed.load(std::memory_order_relaxed)) {
      try {
        (*g.fn)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(g.mutex);
        if (!g.error) g.error = std::current_exception();
        g.failed.store(true);
      }
    }
    if (g.done.fetch_add(1, std::memory_order_acq_rel) + 1 == g.n) {
      std::lock_guard<std::mutex> lock(g.mutex);
      g.finished.notify_all();
    }
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = posted_.load();
  for (;;) {
    std::shared_ptr<Group> g;
    spin_until([&] { return posted_.load(std::memory_order_acquire) != seen; });
    seen = posted_.load(std::memory_order_acquire);
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      // Drop groups whose items are all claimed or that have all the helpers they asked for.
      while (!queue_.empty()) {
        auto& front = queue_.front();
        if (front->next.load() >= front->n || front->helpers.load() >= front->max_helpers) {
          queue_.pop_front();
          continue;
        }
        front->helpers.fetch_add(1);
        g = front;
        break;
      }
    }
    if (g) work_on(*g);
  }
}

void ThreadPool::parallel_for(size_t n, unsigned threads, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  threads = std::max(1u, threads);
  auto g = std::make_shared<Group>();
  g->fn = &fn;
  g->n = n;
  g->max_helpers = static_cast<unsigned>(std::min<size_t>(threads - 1, n - 1));
  if (g->max_helpers > 0) {
    grow(g->max_helpers);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(g);
    }
    posted_.fetch_add(1, std::memory_order_release);
    if (g->max_helpers == 1) wake_.notify_one(); else wake_.notify_all();
  }
  work_on(*g);
  spin_until([&] { return g->done.load(std::memory_order_acquire) == g->n; });
  {
    std::unique_lock<std::mutex> lock(g->mutex);
    g->finished.wait(lock, [&] { return g->done.load() == g->n; });
  }
  if (g->max_helpers > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find(queue_.begin(), queue_.end(), g);
    if (it != queue_.end()) queue_.erase(it);
  }
  if (g->error) std::rethrow_exception(g->error);
}

}  // namespace sc
