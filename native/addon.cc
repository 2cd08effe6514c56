// Node-API bindings of the native backend: marshalling only. The math lives in the registered kernels
// (native/kernel.h); this file has one generic entry that finds a kernel by name and runs it: inline on the
// calling thread (plus the per-environment pool) for short work, or behind a Promise for long work (on a
// thread of its own plus the pool, see LongCall). The caller's arrays stay referenced until the Promise
// settles, and nothing touches V8 off the main thread.
//
// Exports:
//   run(name, variant, fields: Float64Array, arrays: TypedArray[], threads, control: Int32Array|null,
//       async: boolean) -> Promise<void> (async) | undefined (inline)
//   alloc(bytes) -> ArrayBuffer, 64-byte aligned and zeroed, freed when collected
//   kernels() -> string[];  models() -> string[];  hardwareConcurrency() -> number
//   gemmIsa() -> 'avx512' | 'avx2' | 'portable': the GEMM family chosen at load (matmul.h, SC_NATIVE_ISA)
#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "em_collapse.h"
#include "kernel.h"
#include "matmul.h"
#include "thread_pool.h"

namespace {

// One long-lived thread per environment that starts long calls, in order (the native backend queues them
// anyway). A thread per call cost every call fresh thread-local packing buffers, allocated and page-faulted
// again: about a tenth of a 512³ matmul.
class Launcher {
 public:
  Launcher() : thread_([this] { Loop(); }) {}
  ~Launcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void Post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

// Per-environment state (the addon is context-aware: each worker thread gets its own pool and launcher).
struct AddonData {
  std::mutex mutex;
  std::shared_ptr<sc::ThreadPool> pool;
  std::shared_ptr<Launcher> launcher;
  std::shared_ptr<sc::ThreadPool> get_pool() {
    std::lock_guard<std::mutex> lock(mutex);
    if (!pool) pool = std::make_shared<sc::ThreadPool>();
    return pool;
  }
  std::shared_ptr<Launcher> get_launcher() {
    std::lock_guard<std::mutex> lock(mutex);
    if (!launcher) launcher = std::make_shared<Launcher>();
    return launcher;
  }
};

std::shared_ptr<sc::ThreadPool> pool_of(Napi::Env env) { return env.GetInstanceData<AddonData>()->get_pool(); }
std::shared_ptr<Launcher> launcher_of(Napi::Env env) { return env.GetInstanceData<AddonData>()->get_launcher(); }

// Set once a long call has finished its work; shared, so neither side frees it under the other.
struct Completion {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  void finish() {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
    done_cv.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mutex);
    done_cv.wait(lock, [this] { return done; });
  }
};

[[noreturn]] void type_error(Napi::Env env, const std::string& message) { throw Napi::TypeError::New(env, message); }

uint32_t u32_arg(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) type_error(v.Env(), std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0 && std::floor(d) == d))
    type_error(v.Env(), std::string(name) + " must be an integer in [0, 2^32); got " + std::to_string(d));
  return static_cast<uint32_t>(d);
}

// A borrowed typed array (also when it views a SharedArrayBuffer).
sc::Array array_arg(const Napi::Value& v, const std::string& what) {
  if (!v.IsTypedArray()) type_error(v.Env(), what + " must be a typed array");
  napi_typedarray_type type;
  sc::Array a;
  napi_value buffer;
  size_t offset = 0;
  NAPI_THROW_IF_FAILED(v.Env(), napi_get_typedarray_info(v.Env(), v, &type, &a.length, &a.data, &buffer, &offset), sc::Array{});
  switch (type) {
    case napi_float32_array: a.type = sc::ArrayType::F32; break;
    case napi_uint32_array: a.type = sc::ArrayType::U32; break;
    case napi_int32_array: a.type = sc::ArrayType::I32; break;
    case napi_float64_array: a.type = sc::ArrayType::F64; break;
    default: type_error(v.Env(), what + " must be a Float32Array, Uint32Array, Int32Array or Float64Array");
  }
  return a;
}

// One long kernel call on the environment's launcher thread (plus the pool), settled on the JS thread through
// a thread-safe function. Why not a napi AsyncWorker on libuv's pool: when a worker thread is terminated, Node waits for
// its libuv work to finish before it runs any cleanup hook, so running work could not be told to stop and
// the teardown hung until it ended. Here the environment's cleanup hook stops the call (KernelCall::stop)
// and joins its thread while the borrowed arrays are still alive; the promise is then never settled (no JS
// is left to see it), and nothing throws across the teardown.
class LongCall {
 public:
  static Napi::Value Start(Napi::Env env, sc::KernelFn fn, sc::KernelCall call, std::shared_ptr<sc::ThreadPool> pool,
                           const std::vector<Napi::Value>& keep) {
    auto* c = new LongCall(env, fn, std::move(call), std::move(pool));
    napi_value promise, name;
    NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &c->deferred_, &promise), Napi::Value());
    NAPI_THROW_IF_FAILED(env, napi_create_string_utf8(env, "stochastic_collapse.run", NAPI_AUTO_LENGTH, &name), Napi::Value());
    NAPI_THROW_IF_FAILED(env, napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, c, Settle, &c->tsfn_),
                         Napi::Value());
    for (const Napi::Value& v : keep) {
      napi_ref ref;
      NAPI_THROW_IF_FAILED(env, napi_create_reference(env, v, 1, &ref), Napi::Value());
      c->refs_.push_back(ref);
    }
    NAPI_THROW_IF_FAILED(env, napi_add_env_cleanup_hook(env, Teardown, c), Napi::Value());
    launcher_of(env)->Post([c, completion = c->completion_] {
      c->Work();
      completion->finish();  // after this, `c` may be gone
    });
    return Napi::Value(env, promise);
  }

 private:
  LongCall(napi_env env, sc::KernelFn fn, sc::KernelCall call, std::shared_ptr<sc::ThreadPool> pool)
      : env_(env), fn_(fn), call_(std::move(call)), pool_(std::move(pool)) {
    call_.pool = pool_.get();
    call_.stop = &stop_;
  }

  void Work() {
    try {
      fn_(call_);
    } catch (const std::exception& e) {
      failed_ = true;
      error_ = e.what();
    }
    napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
    napi_release_threadsafe_function(tsfn_, napi_tsfn_release);
  }

  // On the JS thread once the work is done; env is null when the thread-safe function is torn down instead.
  static void Settle(napi_env env, napi_value, void* context, void*) {
    auto* c = static_cast<LongCall*>(context);
    if (env == nullptr) {
      if (c->torn_down_) delete c;  // the environment is gone: its references went with it
      return;
    }
    c->completion_->wait();
    napi_remove_env_cleanup_hook(env, Teardown, c);
    for (napi_ref ref : c->refs_) napi_delete_reference(env, ref);
    if (c->failed_) {
      napi_value message, error;
      napi_create_string_utf8(env, c->error_.c_str(), c->error_.size(), &message);
      napi_create_error(env, nullptr, message, &error);
      napi_reject_deferred(env, c->deferred_, error);
    } else {
      napi_value undefined;
      napi_get_undefined(env, &undefined);
      napi_resolve_deferred(env, c->deferred_, undefined);
    }
    delete c;
  }

  // The environment's cleanup hook (a worker thread is going away): stop the work and wait for it.
  static void Teardown(void* context) {
    auto* c = static_cast<LongCall*>(context);
    c->stop_.store(true);
    c->completion_->wait();
    c->torn_down_ = true;
  }

  napi_env env_;
  sc::KernelFn fn_;
  sc::KernelCall call_;
  std::shared_ptr<sc::ThreadPool> pool_;
  napi_deferred deferred_ = nullptr;
  napi_threadsafe_function tsfn_ = nullptr;
  std::vector<napi_ref> refs_;
  std::shared_ptr<Completion> completion_ = std::make_shared<Completion>();
  std::atomic<bool> stop_{false};
  bool failed_ = false;
  bool torn_down_ = false;
  std::string error_;
};

Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) type_error(env, "name must be a string");
  if (!info[1].IsString()) type_error(env, "variant must be a string");
  sc::KernelCall call;
  call.name = info[0].As<Napi::String>().Utf8Value();
  call.variant = info[1].As<Napi::String>().Utf8Value();
  const sc::KernelFn fn = sc::find_kernel(call.name);
  if (fn == nullptr) throw Napi::Error::New(env, "no native kernel named '" + call.name + "'");
  const sc::Array fields = array_arg(info[2], "fields");
  if (fields.type != sc::ArrayType::F64) type_error(env, "fields must be a Float64Array");
  const double* f = static_cast<const double*>(fields.data);
  call.fields.assign(f, f + fields.length);
  if (!info[3].IsArray()) type_error(env, "arrays must be an array of typed arrays");
  auto list = info[3].As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); ++i) call.arrays.push_back(array_arg(list.Get(i), "arrays[" + std::to_string(i) + "]"));
  call.threads = u32_arg(info[4], "threads");
  if (call.threads < 1 || call.threads > 256) type_error(env, "threads must be in [1, 256]");
  if (!info[5].IsNull() && !info[5].IsUndefined()) {
    const sc::Array control = array_arg(info[5], "control");
    if (control.type != sc::ArrayType::I32 || control.length < 2) type_error(env, "control must be an Int32Array of length >= 2");
    call.control = static_cast<int32_t*>(control.data);
  }
  if (!info[6].ToBoolean().Value()) {
    // Inline (sub-millisecond work): the calling thread joins the pool's threads, no libuv hop, no Promise.
    auto pool = pool_of(env);
    call.pool = pool.get();
    try {
      fn(call);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
    return env.Undefined();
  }
  std::vector<Napi::Value> keep{info[2], info[3]};
  if (info[5].IsObject()) keep.push_back(info[5]);
  return LongCall::Start(env, fn, std::move(call), pool_of(env), keep);
}

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  const double requested = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(requested >= 0 && requested <= 9007199254740991.0 && std::floor(requested) == requested))
    type_error(info.Env(), "bytes must be a non-negative safe integer");
  const size_t bytes = static_cast<size_t>(requested);
  const size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) return Napi::ArrayBuffer::New(info.Env(), 0);
  void* data = std::aligned_alloc(64, rounded);
  if (data == nullptr) throw Napi::Error::New(info.Env(), "out of memory allocating " + std::to_string(bytes) + " bytes");
  std::memset(data, 0, rounded);
  return Napi::ArrayBuffer::New(info.Env(), data, bytes, [](Napi::Env, void* p) { std::free(p); });
}

Napi::Value Strings(Napi::Env env, const std::vector<std::string>& names) {
  auto out = Napi::Array::New(env, names.size());
  for (uint32_t i = 0; i < names.size(); ++i) out.Set(i, Napi::String::New(env, names[i]));
  return out;
}

Napi::Value Kernels(const Napi::CallbackInfo& info) { return Strings(info.Env(), sc::kernel_names()); }
Napi::Value Models(const Napi::CallbackInfo& info) { return Strings(info.Env(), sc::model_names()); }
Napi::Value HardwareConcurrency(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), sc::ThreadPool::default_threads());
}

Napi::Value GemmIsa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), sc::gemm_isa_name()); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("run", Napi::Function::New(env, Run, "run"));
  exports.Set("alloc", Napi::Function::New(env, Alloc, "alloc"));
  exports.Set("kernels", Napi::Function::New(env, Kernels, "kernels"));
  exports.Set("models", Napi::Function::New(env, Models, "models"));
  exports.Set("hardwareConcurrency", Napi::Function::New(env, HardwareConcurrency, "hardwareConcurrency"));
  exports.Set("gemmIsa", Napi::Function::New(env, GemmIsa, "gemmIsa"));
  return exports;
}

}  // namespace

NODE_API_MODULE(stochastic_collapse, Init)
