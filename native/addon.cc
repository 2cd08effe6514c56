// Node-API bindings of the native backend: argument checking and marshalling only; the math lives in
// random.cc and sde.cc. Long work runs on the per-environment thread pool behind a Promise (an
// AsyncWorker runs the calling share of it on a libuv thread); the caller's typed arrays are kept
// referenced until the Promise settles, and nothing touches V8 off the main thread.
//
// Exports:
//   random(kind 0|1|2, out: Uint32Array|Float32Array, seed, stream, offset, threads) -> Promise<void>
//   randomSync(kind, out, seed, stream, offset) -> undefined
//   simulate(model, params: Float32Array, data: Float32Array, config, stats: Float64Array,
//            trace: Float32Array|null, control: Int32Array) -> Promise<void>
//   hardwareConcurrency() -> number;  models() -> string[]
#include <napi.h>

#include <cmath>
#include <memory>
#include <mutex>
#include <string>

#include "random.h"
#include "sde.h"
#include "thread_pool.h"

namespace {

// Per-environment state (the addon is context-aware: each worker thread gets its own pool).
struct AddonData {
  std::mutex mutex;
  std::shared_ptr<sc::ThreadPool> pool;
  std::shared_ptr<sc::ThreadPool> get() {
    std::lock_guard<std::mutex> lock(mutex);
    if (!pool) pool = std::make_shared<sc::ThreadPool>();
    return pool;
  }
};

std::shared_ptr<sc::ThreadPool> pool_of(Napi::Env env) { return env.GetInstanceData<AddonData>()->get(); }

[[noreturn]] void type_error(Napi::Env env, const std::string& message) { throw Napi::TypeError::New(env, message); }

double number_arg(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) type_error(v.Env(), std::string(name) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

uint32_t u32_arg(const Napi::Value& v, const char* name) {
  const double d = number_arg(v, name);
  if (!(d >= 0 && d <= 4294967295.0 && std::floor(d) == d))
    type_error(v.Env(), std::string(name) + " must be an integer in [0, 2^32); got " + std::to_string(d));
  return static_cast<uint32_t>(d);
}

unsigned threads_arg(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return sc::ThreadPool::default_threads();
  const uint32_t t = u32_arg(v, "threads");
  if (t < 1 || t > 256) type_error(v.Env(), "threads must be in [1, 256]");
  return t;
}

// The data pointer and element count of a typed array (also when it views a SharedArrayBuffer).
void* typed_array_data(const Napi::Value& v, size_t& length) {
  napi_typedarray_type type;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  NAPI_THROW_IF_FAILED(v.Env(), napi_get_typedarray_info(v.Env(), v, &type, &length, &data, &buffer, &offset), nullptr);
  return data;
}

struct RandomArgs {
  sc::DrawKind kind;
  void* data;
  size_t n;
  uint32_t seed, stream;
  uint64_t offset;
};

RandomArgs random_args(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t kind = u32_arg(info[0], "kind");
  if (kind > 2) type_error(env, "kind must be 0 (uint32), 1 (uniform) or 2 (normal)");
  if (!info[1].IsTypedArray()) type_error(env, "out must be a Uint32Array or Float32Array");
  auto arr = info[1].As<Napi::TypedArray>();
  const auto type = arr.TypedArrayType();
  if (kind == 0 && type != napi_uint32_array) type_error(env, "uint32 draws need a Uint32Array");
  if (kind != 0 && type != napi_float32_array) type_error(env, "uniform and normal draws need a Float32Array");
  const double offset = number_arg(info[4], "offset");
  if (!(offset >= 0 && offset <= 9007199254740991.0 && std::floor(offset) == offset))
    type_error(env, "offset must be a safe integer >= 0");
  RandomArgs a;
  a.kind = static_cast<sc::DrawKind>(kind);
  a.data = typed_array_data(info[1], a.n);
  a.seed = u32_arg(info[2], "seed");
  a.stream = u32_arg(info[3], "stream");
  a.offset = static_cast<uint64_t>(offset);
  return a;
}

// Resolves a deferred from the worker; keeps the JS objects it borrows alive until then.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Keep(const Napi::Value& v) {
    if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }

 protected:
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
};

class RandomWorker : public PromiseWorker {
 public:
  RandomWorker(Napi::Env env, RandomArgs a, unsigned threads, std::shared_ptr<sc::ThreadPool> pool)
      : PromiseWorker(env, "stochastic_collapse.random"), a_(a), threads_(threads), pool_(std::move(pool)) {}
  void Execute() override {
    try {
      sc::fill_draws_parallel(a_.kind, a_.data, a_.n, a_.seed, a_.stream, a_.offset, pool_.get(), threads_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

 private:
  RandomArgs a_;
  unsigned threads_;
  std::shared_ptr<sc::ThreadPool> pool_;
};

Napi::Value Random(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const RandomArgs a = random_args(info);
  const unsigned threads = threads_arg(info[5]);
  if (a.n < (size_t(1) << 16)) {  // sub-millisecond: stay on the calling thread
    sc::fill_draws(a.kind, a.data, a.n, a.seed, a.stream, a.offset);
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  auto* w = new RandomWorker(env, a, threads, pool_of(env));
  w->Keep(info[1]);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value RandomSync(const Napi::CallbackInfo& info) {
  const RandomArgs a = random_args(info);
  sc::fill_draws(a.kind, a.data, a.n, a.seed, a.stream, a.offset);
  return info.Env().Undefined();
}

template <typename T>
T* typed_data(const Napi::Value& v, napi_typedarray_type type, const char* name, size_t& len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    const char* want = type == napi_float32_array ? "Float32Array" : type == napi_float64_array ? "Float64Array" : "Int32Array";
    type_error(v.Env(), std::string(name) + " must be a " + want);
  }
  return static_cast<T*>(typed_array_data(v, len));
}

std::vector<double> number_array(const Napi::Object& config, const char* key) {
  Napi::Value v = config.Get(key);
  if (!v.IsArray()) type_error(config.Env(), std::string("config.") + key + " must be an array of numbers");
  auto a = v.As<Napi::Array>();
  std::vector<double> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) out[i] = number_arg(a.Get(i), key);
  return out;
}

class SimulateWorker : public PromiseWorker {
 public:
  SimulateWorker(Napi::Env env, sc::SimConfig c, double* stats, size_t stats_len, float* trace, size_t trace_len,
                 int32_t* control, std::shared_ptr<sc::ThreadPool> pool)
      : PromiseWorker(env, "stochastic_collapse.simulate"), c_(std::move(c)), stats_(stats), stats_len_(stats_len),
        trace_(trace), trace_len_(trace_len), control_(control), pool_(std::move(pool)) {}
  void Execute() override {
    try {
      sc::simulate(c_, stats_, stats_len_, trace_, trace_len_, control_, pool_.get());
    } catch (const sc::Aborted& e) {
      SetError(e.what());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

 private:
  sc::SimConfig c_;
  double* stats_;
  size_t stats_len_;
  float* trace_;
  size_t trace_len_;
  int32_t* control_;
  std::shared_ptr<sc::ThreadPool> pool_;
};

Napi::Value Simulate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) type_error(env, "model must be a string");
  if (!info[3].IsObject()) type_error(env, "config must be an object");
  sc::SimConfig c;
  c.model = info[0].As<Napi::String>().Utf8Value();
  c.params = typed_data<float>(info[1], napi_float32_array, "params", c.params_len);
  c.data = typed_data<float>(info[2], napi_float32_array, "data", c.data_len);
  auto cfg = info[3].As<Napi::Object>();
  c.grid_offset = u32_arg(cfg.Get("gridOffset"), "config.gridOffset");
  c.grid_count = u32_arg(cfg.Get("gridCount"), "config.gridCount");
  c.paths = u32_arg(cfg.Get("paths"), "config.paths");
  c.path_offset = u32_arg(cfg.Get("pathOffset"), "config.pathOffset");
  c.steps = u32_arg(cfg.Get("steps"), "config.steps");
  c.dt = number_arg(cfg.Get("dt"), "config.dt");
  for (double r : number_array(cfg, "record")) {
    if (!(r >= 0 && r <= 4294967295.0 && std::floor(r) == r)) type_error(env, "config.record must hold integer steps");
    c.record.push_back(static_cast<uint32_t>(r));
  }
  c.epsilon = number_arg(cfg.Get("epsilon"), "config.epsilon");
  c.seed = u32_arg(cfg.Get("seed"), "config.seed");
  c.init_mean = number_array(cfg, "initMean");
  c.init_std = number_array(cfg, "initStd");
  c.init_shared = cfg.Get("initShared").ToBoolean().Value();
  Napi::Value tp = cfg.Get("traceP");
  c.trace_paths = tp.IsUndefined() || tp.IsNull() ? 0 : u32_arg(tp, "config.traceP");
  Napi::Value te = cfg.Get("traceEvery");
  c.trace_every = te.IsUndefined() || te.IsNull() ? 1 : u32_arg(te, "config.traceEvery");
  c.threads = threads_arg(cfg.Get("threads"));
  size_t stats_len = 0, trace_len = 0, control_len = 0;
  double* stats = typed_data<double>(info[4], napi_float64_array, "stats", stats_len);
  float* trace = nullptr;
  if (!info[5].IsNull() && !info[5].IsUndefined()) trace = typed_data<float>(info[5], napi_float32_array, "trace", trace_len);
  int32_t* control = nullptr;
  if (!info[6].IsNull() && !info[6].IsUndefined()) {
    control = typed_data<int32_t>(info[6], napi_int32_array, "control", control_len);
    if (control_len < 2) type_error(env, "control must be an Int32Array of length >= 2");
  }
  if (c.trace_paths > 0 && trace == nullptr) type_error(env, "config.traceP > 0 needs a trace Float32Array");
  // Check the sizes now, so bad input throws synchronously with a clear message.
  try {
    const sc::ModelShape shape = sc::model_shape(c.model, c.data_len);
    if (c.params_len != static_cast<size_t>(c.grid_count) * shape.param_count)
      throw std::invalid_argument("params must hold gridCount x " + std::to_string(shape.param_count) + " = " +
                                  std::to_string(static_cast<size_t>(c.grid_count) * shape.param_count) + " floats; got " +
                                  std::to_string(c.params_len));
    const size_t need = c.record.size() * c.grid_count * sc::kStatFields;
    if (stats_len != need)
      throw std::invalid_argument("stats must hold record x gridCount x 5 = " + std::to_string(need) + " doubles; got " +
                                  std::to_string(stats_len));
  } catch (const std::invalid_argument& e) {
    throw Napi::Error::New(env, e.what());
  }
  auto* w = new SimulateWorker(env, c, stats, stats_len, trace, trace_len, control, pool_of(env));
  for (size_t i = 1; i <= 6; ++i) w->Keep(info[i]);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value HardwareConcurrency(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), sc::ThreadPool::default_threads());
}

Napi::Value Models(const Napi::CallbackInfo& info) {
  auto names = sc::model_names();
  auto out = Napi::Array::New(info.Env(), names.size());
  for (uint32_t i = 0; i < names.size(); ++i) out.Set(i, Napi::String::New(info.Env(), names[i]));
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("random", Napi::Function::New(env, Random, "random"));
  exports.Set("randomSync", Napi::Function::New(env, RandomSync, "randomSync"));
  exports.Set("simulate", Napi::Function::New(env, Simulate, "simulate"));
  exports.Set("hardwareConcurrency", Napi::Function::New(env, HardwareConcurrency, "hardwareConcurrency"));
  exports.Set("models", Napi::Function::New(env, Models, "models"));
  return exports;
}

}  // namespace

NODE_API_MODULE(stochastic_collapse, Init)
