// average_linkage: agglomerative clustering with average linkage (UPGMA) by the nearest-neighbour chain, in
// SciPy's linkage-matrix convention (src/analysis/linkage.ts is the caller and holds the JS twin):
//   Z[k] = (id_a, id_b, height, size): clusters id_a < id_b merged at `height` into cluster count + k of `size`
//   points, rows sorted by height (stably), original points 0 .. count-1, merged clusters count, count + 1, ...
// It is SciPy's `linkage(y, method='average')` (scipy/cluster/_hierarchy.pyx, nn_chain then label) step for step:
// the same chain start (the lowest live cluster), the same preference for the chain's previous element, the same
// first-strict-minimum scan, the same update d(i, x∪y) = (n_x d(i, x) + n_y d(i, y)) / (n_x + n_y) in f64
// (never contracted into an fma, so heights are bit-identical to SciPy's), the merged cluster stored at the larger
// index, a stable sort by height and SciPy's union-find relabelling. Ties therefore resolve as SciPy's do.
// Memory: below 3000 points SciPy's condensed vector (4 count^2 bytes: small problems stay in cache), above it the
// full count x count f64 matrix (8 count^2 bytes, on huge pages where the kernel allows), where every scan reads
// one contiguous row. Dead clusters are masked by adding +inf from a per-cluster array (no column writes); a merge
// rewrites the new cluster's distances. Time O(count^2).
#pragma GCC optimize("fp-contract=off")
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "kernel.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__AVX2__)
#include <immintrin.h>
#define SC_LINKAGE_AVX2 1
#endif

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The first index of the smallest entry of row[i] + dead[i], i < n (the scalar loop `if (v < best) best = v`):
// dead[i] is +inf for merged-away clusters (inf + finite = inf, never picked), 0 otherwise.
size_t first_min(const double* row, const double* dead, size_t n, double* value) {
  size_t i = 0, at = 0;
  double best = kInf;
#ifdef SC_LINKAGE_AVX2
  if (n >= 8) {
    // Four lanes, each keeping its first strict minimum; the lanes are then merged by (value, index).
    __m256d bv = _mm256_set1_pd(kInf);
    __m256d bi = _mm256_setzero_pd();
    __m256d idx = _mm256_setr_pd(0, 1, 2, 3);
    const __m256d four = _mm256_set1_pd(4);
    for (; i + 4 <= n; i += 4) {
      const __m256d v = _mm256_add_pd(_mm256_loadu_pd(row + i), _mm256_loadu_pd(dead + i));
      const __m256d lt = _mm256_cmp_pd(v, bv, _CMP_LT_OQ);
      bv = _mm256_blendv_pd(bv, v, lt);
      bi = _mm256_blendv_pd(bi, idx, lt);
      idx = _mm256_add_pd(idx, four);
    }
    alignas(32) double vs[4], is[4];
    _mm256_store_pd(vs, bv);
    _mm256_store_pd(is, bi);
    for (int l = 0; l < 4; ++l) {
      if (vs[l] < best || (vs[l] == best && vs[l] != kInf && static_cast<size_t>(is[l]) < at)) {
        best = vs[l];
        at = static_cast<size_t>(is[l]);
      }
    }
  }
#endif
  for (; i < n; ++i) {
    const double v = row[i] + dead[i];
    if (v < best) {
      best = v;
      at = i;
    }
  }
  *value = best;
  return at;
}

class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(2 * n - 1), size_(2 * n - 1, 1), next_(n) {
    std::iota(parent_.begin(), parent_.end(), size_t{0});
  }
  size_t find(size_t x) {
    size_t root = x;
    while (parent_[root] != root) root = parent_[root];
    while (parent_[x] != root) {
      const size_t up = parent_[x];
      parent_[x] = root;
      x = up;
    }
    return root;
  }
  size_t merge(size_t x, size_t y) {
    parent_[x] = next_;
    parent_[y] = next_;
    const size_t s = size_[x] + size_[y];
    size_[next_++] = s;
    return s;
  }

 private:
  std::vector<size_t> parent_, size_;
  size_t next_;
};

}  // namespace

namespace sc {

namespace {

// The full count x count matrix (+inf diagonal): every scan reads one contiguous row; a merge writes the new
// cluster's row and, strided, its column.
struct Square {
  double* D;
  size_t n;
  double at(size_t i, size_t j) const { return D[i * n + j]; }
  size_t scan(size_t x, const double* dead, double* best) const { return first_min(D + x * n, dead, n, best); }
  void merge(size_t x, size_t y, double fx, double fy, const std::vector<size_t>& size) {
    double* dy = D + y * n;
    const double* dx = D + x * n;
    const double fxy = fx + fy;
    // Rows in increasing order, so that the strided column writes follow a stride the hardware prefetches.
    for (size_t i = 0; i < n; ++i) {
      if (size[i] == 0 || i == y) continue;
      const double v = (fx * dx[i] + fy * dy[i]) / fxy;
      dy[i] = v;
      D[i * n + y] = v;
    }
  }
};

// SciPy's condensed vector (pairs i < j in row order): half the memory, so small problems stay in cache, at the
// price of strided reads for the part i < x of a scan.
struct Condensed {
  double* D;
  size_t n;
  size_t index(size_t i, size_t j) const { return n * i - i * (i + 1) / 2 + j - i - 1; }  // i < j
  double at(size_t i, size_t j) const { return i < j ? D[index(i, j)] : D[index(j, i)]; }
  size_t scan(size_t x, const double* dead, double* best) const {
    double b = kInf;
    size_t where = 0;
    for (size_t i = 0, k = x - 1; i < x; k += n - i - 2, ++i) {  // column x above the diagonal: k = index(i, x)
      const double v = D[k] + dead[i];
      if (v < b) {
        b = v;
        where = i;
      }
    }
    if (x + 1 < n) {
      double b2;
      const size_t at2 = first_min(D + index(x, x + 1), dead + x + 1, n - x - 1, &b2);
      if (b2 < b) {
        b = b2;
        where = x + 1 + at2;
      }
    }
    *best = b;
    return where;
  }
  void merge(size_t x, size_t y, double fx, double fy, const std::vector<size_t>& size) {
    const double fxy = fx + fy;
    for (size_t i = 0; i < n; ++i) {
      if (size[i] == 0 || i == y) continue;
      double& dyi = D[i < y ? index(i, y) : index(y, i)];
      const double dxi = D[i < x ? index(i, x) : index(x, i)];
      dyi = (fx * dxi + fy * dyi) / fxy;
    }
  }
};

// The nearest-neighbour chain on either store; Z gets SciPy's unsorted rows (x, y, height, size).
template <class Store>
void nn_chain(Store& store, size_t n, double* rows) {
  std::vector<double> dead(n, 0.0);
  std::vector<size_t> size(n, 1), chain;
  chain.reserve(n);
  size_t lowest_live = 0;
  for (size_t k = 0; k + 1 < n; ++k) {
    if (chain.empty()) {
      while (size[lowest_live] == 0) ++lowest_live;
      chain.push_back(lowest_live);
    }
    size_t x, y;
    double current;
    for (;;) {
      x = chain.back();
      double best;
      const size_t at = store.scan(x, dead.data(), &best);
      if (chain.size() > 1) {
        // SciPy starts from the chain's previous element and replaces it only by a strictly smaller distance.
        const size_t prev = chain[chain.size() - 2];
        current = store.at(x, prev);
        y = best < current ? at : prev;
        if (best < current) current = best;
      } else {
        current = best;
        y = at;
      }
      if (chain.size() > 1 && y == chain[chain.size() - 2]) break;
      chain.push_back(y);
    }
    chain.pop_back();
    chain.pop_back();
    if (x > y) std::swap(x, y);
    const size_t nx = size[x], ny = size[y];
    double* row = rows + k * 4;
    row[0] = static_cast<double>(x);
    row[1] = static_cast<double>(y);
    row[2] = current;
    row[3] = static_cast<double>(nx + ny);
    size[x] = 0;
    size[y] = nx + ny;
    dead[x] = kInf;
    store.merge(x, y, static_cast<double>(nx), static_cast<double>(ny), size);
  }
}

}  // namespace

// D: the distances, count x count with +inf on the diagonal (square) or condensed (overwritten). Z: (count - 1) x 4.
void average_linkage(double* D, size_t n, bool square, double* Z) {
  if (n < 2) return;
  std::vector<double> rows((n - 1) * 4);
  if (square) {
    Square store{D, n};
    nn_chain(store, n, rows.data());
  } else {
    Condensed store{D, n};
    nn_chain(store, n, rows.data());
  }
  // SciPy: a stable sort by height, then labels from a union-find in the sorted order.
  std::vector<size_t> order(n - 1);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows[a * 4 + 2] < rows[b * 4 + 2]; });
  UnionFind uf(n);
  for (size_t k = 0; k + 1 < n; ++k) {
    const double* r = rows.data() + order[k] * 4;
    const size_t rx = uf.find(static_cast<size_t>(r[0])), ry = uf.find(static_cast<size_t>(r[1]));
    double* z = Z + k * 4;
    z[0] = static_cast<double>(std::min(rx, ry));
    z[1] = static_cast<double>(std::max(rx, ry));
    z[2] = r[2];
    z[3] = static_cast<double>(uf.merge(rx, ry));
  }
}

}  // namespace sc

namespace {

// The working distances: from 8 MB on, 2 MB-aligned and advised onto transparent huge pages (a 4096-point matrix
// is 128 MB: in 4 KB pages its first touch alone cost more than the clustering); never zero-filled (every entry is
// written).
struct Matrix {
  double* data = nullptr;
  explicit Matrix(size_t count) {
    const size_t huge = size_t{2} << 20;
    const size_t bytes = count * sizeof(double);
    // Small matrices from the heap (a fresh huge page costs more to fault in than they take to cluster).
    if (bytes < 4 * huge) {
      data = static_cast<double*>(std::malloc(std::max<size_t>(bytes, sizeof(double))));
    } else {
      data = static_cast<double*>(std::aligned_alloc(huge, (bytes + huge - 1) / huge * huge));
#ifdef MADV_HUGEPAGE
      if (data != nullptr) madvise(data, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE);
#endif
    }
    if (data == nullptr) throw std::bad_alloc();
  }
  ~Matrix() { std::free(data); }
  Matrix(const Matrix&) = delete;
  Matrix& operator=(const Matrix&) = delete;
};

// Below this many points the condensed layout (SciPy's, half the memory) was faster here; from it, the square one.
constexpr size_t kSquareFrom = 3000;

// fields: count, square (1: arrays[0] is count x count, the upper triangle is read; 0: condensed, SciPy's pdist
// order), layout (0: by size, 1: condensed, 2: square; the same result either way);  arrays: distances (f32 or
// f64), Z (f64, (count - 1) x 4, out)
void average_linkage_kernel(const sc::KernelCall& call) {
  call.expect(3, 2);
  const size_t n = call.integer(0);
  const bool square_in = call.integer(1) != 0;
  const uint64_t layout = call.integer(2);
  const size_t pairs = n < 2 ? 0 : n * (n - 1) / 2;
  if (call.length(0) != (square_in ? n * n : pairs)) throw std::invalid_argument("average_linkage: the distances do not hold count x count (or condensed) entries");
  double* Z = call.array<double>(1, sc::ArrayType::F64, "Z");
  if (call.length(1) != (n < 2 ? 0 : (n - 1) * 4)) throw std::invalid_argument("average_linkage: Z must hold (count - 1) x 4 entries");
  if (n < 2) return;
  const bool square = layout == 2 || (layout == 0 && n >= kSquareFrom);
  Matrix matrix(square ? n * n : pairs);
  double* D = matrix.data;
  // The upper triangle row by row; for the square layout, then the lower one as its transpose in 32 x 32 tiles (a
  // plain column walk would miss the cache on every write).
  auto fill = [&](auto* src) {
    size_t c = 0, out = 0;
    bool finite = true;
    for (size_t i = 0; i < n; ++i) {
      double* row = D + (square ? i * n + i + 1 : out);  // pairs (i, j > i)
      for (size_t j = i + 1; j < n; ++j) {
        const double v = static_cast<double>(square_in ? src[i * n + j] : src[c++]);
        finite &= std::isfinite(v);
        row[j - i - 1] = v;
      }
      out += n - i - 1;
      if (square) D[i * n + i] = std::numeric_limits<double>::infinity();
    }
    if (!finite) throw std::invalid_argument("average_linkage: the distances must be finite");
    if (!square) return;
    constexpr size_t T = 32;
    for (size_t i0 = 0; i0 < n; i0 += T)
      for (size_t j0 = 0; j0 <= i0; j0 += T)
        for (size_t i = i0; i < std::min(n, i0 + T); ++i)
          for (size_t j = j0; j < std::min(i, j0 + T); ++j) D[i * n + j] = D[j * n + i];
  };
  const sc::ArrayType type = call.arrays[0].type;
  if (type == sc::ArrayType::F64) fill(static_cast<const double*>(call.arrays[0].data));
  else if (type == sc::ArrayType::F32) fill(static_cast<const float*>(call.arrays[0].data));
  else throw std::invalid_argument("average_linkage: the distances must be f32 or f64");
  sc::average_linkage(D, n, square, Z);
}

}  // namespace
SC_REGISTER_KERNEL("average_linkage", average_linkage_kernel);
