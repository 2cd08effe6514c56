#include "kernel.h"

#include <cmath>
#include <map>

namespace sc {

namespace {
// Function-local, so registrations from other translation units never run before it exists.
std::map<std::string, KernelFn>& registry() {
  static std::map<std::string, KernelFn> kernels;
  return kernels;
}
}  // namespace

bool register_kernel(const char* name, KernelFn fn) {
  registry()[name] = fn;
  return true;
}

KernelFn find_kernel(const std::string& name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : it->second;
}

std::vector<std::string> kernel_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

void KernelCall::expect(size_t f, size_t a) const {
  if (fields.size() != f || arrays.size() != a)
    throw std::invalid_argument(name + ": expected " + std::to_string(f) + " fields and " + std::to_string(a) + " arrays; got " +
                                std::to_string(fields.size()) + " and " + std::to_string(arrays.size()));
}

uint64_t KernelCall::integer(size_t i, int bits) const {
  const double v = fields.at(i);
  const double limit = std::ldexp(1.0, bits);
  if (!(v >= 0 && v < limit && std::floor(v) == v))
    throw std::invalid_argument(name + ": field " + std::to_string(i) + " must be an integer in [0, 2^" + std::to_string(bits) + "); got " + std::to_string(v));
  return static_cast<uint64_t>(v);
}

}  // namespace sc
