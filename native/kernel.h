// The native kernel registry: every kernel is a pure C++ function `void fn(const KernelCall&)` registered
// by name from its own .cc file (SC_REGISTER_KERNEL), and the addon's one generic entry (addon.cc, `run`)
// finds it by name. Adding a kernel adds a .cc file; neither addon.cc nor CMakeLists.txt changes.
//
// A call carries the kernel's scalar fields (f64, in the order src/kernels/<name>.ts declares them, the
// same order as the WGSL `Params` struct), its arrays (inputs, then outputs), the thread pool, and an
// optional control block (control[0] != 0 asks a long kernel to stop; control[1] counts its progress).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace sc {

class ThreadPool;

enum class ArrayType { F32, U32, I32, F64 };

struct Array {
  void* data = nullptr;
  size_t length = 0;  // elements
  ArrayType type = ArrayType::F32;
};

struct KernelCall {
  std::string name;
  std::string variant;          // a compiled-in specialisation (em_collapse: the model), usually empty
  std::vector<double> fields;   // scalar parameters
  std::vector<Array> arrays;    // inputs then outputs, borrowed
  ThreadPool* pool = nullptr;   // nullptr: run on the calling thread only
  unsigned threads = 1;
  int32_t* control = nullptr;   // optional [cancel, progress]
  const std::atomic<bool>* stop = nullptr;  // set when the calling environment (a worker thread) is going away

  // Whether a long kernel should stop now: its caller cancelled, or its environment is being torn down.
  bool cancelled() const {
    return (control != nullptr && __atomic_load_n(&control[0], __ATOMIC_RELAXED) != 0) ||
           (stop != nullptr && stop->load(std::memory_order_relaxed));
  }

  // Throws std::invalid_argument unless the call has exactly `fields` fields and `arrays` arrays.
  void expect(size_t fields, size_t arrays) const;
  // Field i as an exact unsigned integer below 2^bits (throws otherwise).
  uint64_t integer(size_t i, int bits = 32) const;
  // Array i, checked to have the given element type; `what` names it in the error.
  template <typename T>
  T* array(size_t i, ArrayType type, const char* what) const {
    if (i >= arrays.size() || arrays[i].type != type) throw std::invalid_argument(name + ": " + what + " has the wrong element type");
    return static_cast<T*>(arrays[i].data);
  }
  size_t length(size_t i) const { return arrays.at(i).length; }
};

using KernelFn = void (*)(const KernelCall&);

// Registers `fn` under `name` (called at load time by SC_REGISTER_KERNEL); returns true.
bool register_kernel(const char* name, KernelFn fn);
// The kernel named `name`, or nullptr.
KernelFn find_kernel(const std::string& name);
std::vector<std::string> kernel_names();

}  // namespace sc

#define SC_REGISTER_KERNEL(name, fn) \
  static const bool sc_registered_##fn [[maybe_unused]] = ::sc::register_kernel(name, fn)
