// conv2d: the forward pass and both backward passes of a 2-D convolution with PyTorch semantics (NCHW,
// cross-correlation, zero padding, weight [O, C, KH, KW]), as GEMMs on the packed micro-kernel of matmul.h
// (the AVX-512 or the AVX2 family, chosen at load: its tile gemm_mr() x gemm_nr() sets the panel widths
// here). The im2col matrix (rows k = (c, kh, kw), columns j = (n, oy, ox)) is never stored: its panels
// are packed straight from the image, 8 columns at a time, with one plain load per panel row where the 8
// inputs are consecutive (stride 1), cleared outside the image by a lane mask that depends only on the
// column vector and the kernel tap (so it is computed once per column block, not per channel); stride-2
// vectors take two loads and a shuffle, any other vector a gather. With the AVX-512 family, stride-1 blocks
// take 16 columns per masked load, or aligned 64-byte chunks and a permute (ColumnVectors). The next channel's
// image lines are prefetched while a channel is packed.
//
//   forward          y (O x N*OH*OW) = W (O x C*KH*KW) . col(x) + b over the flattened (n, oy, ox), so
//                    small images batch together (conv_gemm)
//   backward input   stride 1, padding <= kernel - 1 and at least 32 input channels: the transposed
//                    convolution, itself a forward convolution of gy with the flipped, transposed weight
//                    and padding kernel - 1 - p (conv_gemm again); otherwise gcol = W^T . gy[n], added
//                    into gx by col2im (backward_input_col2im): with few input channels the transposed
//                    GEMM is C rows thin over O*KH*KW rows of packing per column, measured slower.
//   backward weight  gW (O x C*KH*KW) = sum over the flattened (n, oy, ox) of gy . col(x)^T, col(x)^T
//                    packed by transposing NR im2col rows at a time (conv2d_backward_weight);
//                    gb[o] = sum of gy[:, o]
//   linear (a 1x1 output of a kernel as large as the unpadded input, e.g. H = W = KH = KW = 1): plain
//                    sc::matmul on the [N, C*H*W] view, no im2col at all.
// The weight operand is packed once per call (prepack_a) and shared by the tasks.
//
// Numerics and determinism: every output element is a sum in an order that depends only on the shape:
// f32 FMA chains over depth blocks of at most KC (equal blocks, fixed by the depth), added in block order
// (forward, transposed backward, matmul); col2im adds each image's contributions in a fixed loop order;
// backward weight splits its depth (the batch) into a number of groups fixed by the shape, sums each in
// block order and adds the group partials in order; the bias gradient adds per-(n, o) f32 sums in f64 in
// image order. Tasks split only the outputs, so results are bit-identical for any thread count; none of
// these orders depends on the tile either, so the AVX-512 and AVX2 families give the same bits.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernel.h"
#include "matmul.h"
#include "thread_pool.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SC_CONV_AVX2 1
// With the AVX-512 GEMM family (matmul.h) the im2col rows are packed 16 lanes at a time (im2col_pairs).
#if defined(__GNUC__) && defined(__x86_64__)
#define SC_CONV_AVX512 1
#define SC_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq")))
#endif
#endif

namespace sc {
namespace {

constexpr size_t KC = 256;               // depth of a packed block (as in matmul.cc)
constexpr size_t MC = 96;                // rows of C per micro-kernel sweep: the A chunk stays in L2
static_assert(MC % 6 == 0 && MC % 8 == 0, "MC must be whole panels of every family's tile (gemm_mr)");
constexpr size_t NCB = 256;              // columns of C per task: the B block (KC x NCB, 256 KB) stays in L2
constexpr double kSerialFlops = 2e6;     // below this, waking a helper costs more than it saves
constexpr int32_t kOutside = -(1 << 30); // the image row/column of a column past the end: never inside

size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }
size_t round_up(size_t a, size_t b) { return ceil_div(a, b) * b; }

// Grow-only 64-byte-aligned scratch. Each is thread_local where used, so pool threads (long-lived) reuse
// theirs across calls: no allocation and no page faults per call once the largest shape has been seen.
class Scratch {
 public:
  ~Scratch() { release(); }
  template <typename T = float>
  T* get(size_t bytes) {
    if (bytes > cap_) {
      release();
      p_ = ::operator new(bytes, std::align_val_t(64));
      cap_ = bytes;
    }
    return static_cast<T*>(p_);
  }

 private:
  void release() {
    if (p_) ::operator delete(p_, std::align_val_t(64));
    p_ = nullptr;
    cap_ = 0;
  }
  void* p_ = nullptr;
  size_t cap_ = 0;
};

// Carves consecutive 64-byte-aligned arrays out of one scratch block.
class Carver {
 public:
  Carver(Scratch& s, size_t bytes) : base_(s.get<char>(bytes)) {}
  template <typename T>
  T* take(size_t count) {
    T* p = reinterpret_cast<T*>(base_ + used_);
    used_ += round_up(count * sizeof(T), 64);
    return p;
  }
  template <typename T>
  static size_t bytes(size_t count) { return round_up(count * sizeof(T), 64); }

 private:
  char* base_;
  size_t used_ = 0;
};

// The implicit im2col matrix of one convolution: rows k = (ci, kh, kw), columns j = (n, oy, ox); entry
// src[n][ci][oy*stride - pad_h + kh][ox*stride - pad_w + kw], 0 outside the image.
struct Im2col {
  const float* src = nullptr;  // [batch, channels, height, width]
  size_t batch = 0, channels = 0, height = 0, width = 0;
  size_t kh = 1, kw = 1, stride = 1;
  int64_t pad_h = 0, pad_w = 0;
  size_t out_h = 0, out_w = 0;
  size_t taps() const { return kh * kw; }
  size_t rows() const { return channels * kh * kw; }
  size_t cols() const { return batch * out_h * out_w; }
};

// Columns [j0, j0 + 8 * nvec) of an Im2col as vectors of 8 lanes, and for each (tap, vector) the lanes
// that read the image. A vector is `linear` when lane l reads lane 0's address + l for every tap (stride 1,
// one image, and one output row or rows whose inputs are contiguous): then one masked load fetches it.
// Other vectors are gathered. With AVX-512, vectors 2i and 2i+1 are fetched by one 16-lane masked load
// when every vector is linear and each such pair is contiguous (`pairs`), and the whole block is read in
// aligned chunks when the pairs also follow one another (`contiguous`: one image, stride 1 and the output width
// equal to the input width, as in the 3x3 pad-1 layers of VGG; measured: a third less packing time than `pairs`).
struct ColumnVectors {
  size_t nvec = 0, taps = 0;
  int64_t* base = nullptr;    // [nvec] lane 0's offset in src at tap (0, 0) of channel 0
  uint8_t* mode = nullptr;    // [nvec] kLinear, kStride2 (lane l at base + 2 l), kGather (32-bit lane offsets
                              // from base) or kScalar
  int32_t* rel = nullptr;     // [nvec * 8] lane offsets from base (gather)
  int64_t* lane = nullptr;    // [nvec * 8] each lane's own offset (scalar)
  int32_t* mask = nullptr;    // [taps * nvec * 8] (tap-major) -1 where lane reads the image, else 0
  uint16_t* kmask = nullptr;  // [taps * nvec / 2] the same masks as bits, by vector pair (lane l of 2i+1 at bit 8+l)
  size_t* voff = nullptr;     // [nvec] where each vector goes in a row of the destination (PanelDst)
  bool all_linear = false, pairs = false, contiguous = false;  // contiguous: pair i at base[0] + 16 i
  // The offsets (relative to a channel's start) that a channel's taps read, as at most kRanges ranges (none when
  // more): prefetched one channel ahead, since each channel is a new 4 KB page or more where the hardware
  // prefetchers start cold (measured: the packing waited on these loads; 3x3 layers gained 10-15%).
  static constexpr size_t kRanges = 8;
  size_t nranges = 0;
  int64_t range_lo[kRanges], range_hi[kRanges];
  enum : uint8_t { kLinear, kStride2, kGather, kScalar };

  static size_t bytes(size_t nvec, size_t taps) {
    return Carver::bytes<int64_t>(nvec) + Carver::bytes<uint8_t>(nvec) + Carver::bytes<int32_t>(nvec * 8) +
           Carver::bytes<int64_t>(nvec * 8) + Carver::bytes<int32_t>(nvec * taps * 8) +
           Carver::bytes<uint16_t>((nvec + 1) / 2 * taps) + Carver::bytes<size_t>(nvec);
  }
  void carve(Carver& c, size_t n, size_t t) {
    nvec = n;
    taps = t;
    base = c.take<int64_t>(n);
    mode = c.take<uint8_t>(n);
    rel = c.take<int32_t>(n * 8);
    lane = c.take<int64_t>(n * 8);
    mask = c.take<int32_t>(n * t * 8);
    kmask = c.take<uint16_t>((n + 1) / 2 * t);
    voff = c.take<size_t>(n);
  }
  // Destination: packed B panels of NR columns and depth kc (vector v of row r at (v / (NR/8)) * kc * NR + r * NR
  // + (v % (NR/8)) * 8), or plain rows (v at v * 8).
  void panels(size_t kc, size_t nr) {
    for (size_t v = 0; v < nvec; ++v) voff[v] = (v / (nr / 8)) * kc * nr + (v % (nr / 8)) * 8;
  }
  void rows() {
    for (size_t v = 0; v < nvec; ++v) voff[v] = v * 8;
  }
};

// Rows of an im2col block: row r at base + r * row_stride, its vector v at + cv.voff[v].
struct PanelDst {
  float* base;
  size_t row_stride;
};

void describe_columns(const Im2col& g, size_t j0, size_t ncols, ColumnVectors& cv) {
  const size_t q_count = g.out_h * g.out_w, total = g.cols();
  const int64_t chw = int64_t(g.channels * g.height * g.width), w = int64_t(g.width);
  const int32_t hh = int32_t(g.height), ww = int32_t(g.width);
  size_t n = j0 / q_count, q = j0 % q_count, oy = q / g.out_w, ox = q % g.out_w;
  alignas(32) int32_t ih[8], iw[8];
  const int64_t reach = int64_t((g.kh - 1) * g.width + g.kw - 1);  // the last tap's offset from the first
  cv.nranges = 0;
  cv.all_linear = true;
  cv.pairs = cv.nvec % 2 == 0;
  for (size_t v = 0; v < cv.nvec; ++v) {
    int64_t* off = cv.lane + v * 8;
    for (size_t l = 0; l < 8; ++l) {
      const size_t j = j0 + v * 8 + l;
      if (j < j0 + ncols && j < total) {
        ih[l] = int32_t(int64_t(oy * g.stride) - g.pad_h);
        iw[l] = int32_t(int64_t(ox * g.stride) - g.pad_w);
        off[l] = int64_t(n) * chw + int64_t(ih[l]) * w + iw[l];
        if (++ox == g.out_w) {
          ox = 0;
          if (++oy == g.out_h) { oy = 0; ++n; }
        }
      } else {
        ih[l] = iw[l] = kOutside;
        off[l] = 0;
      }
    }
    // Past-the-end lanes come last and are masked off everywhere: they never break linearity.
    bool linear = g.stride == 1, strided = g.stride == 2, fits = true;
    cv.base[v] = off[0];
    for (size_t l = 0; l < 8; ++l) {
      if (ih[l] == kOutside) { cv.rel[v * 8 + l] = 0; continue; }
      const int64_t r = off[l] - off[0];
      linear = linear && r == int64_t(l);
      strided = strided && r == int64_t(2 * l);
      fits = fits && r >= INT32_MIN && r <= INT32_MAX;
      cv.rel[v * 8 + l] = int32_t(r);
    }
    cv.mode[v] = linear ? ColumnVectors::kLinear : strided ? ColumnVectors::kStride2 : fits ? ColumnVectors::kGather : ColumnVectors::kScalar;
    cv.all_linear = cv.all_linear && linear;
    if (ih[0] != kOutside && cv.nranges <= ColumnVectors::kRanges) {  // a vector with a lane in the image
      int64_t lo = off[0], top = off[0] + 1 + reach;
      for (size_t l = 1; l < 8; ++l)
        if (ih[l] != kOutside) lo = std::min(lo, off[l]), top = std::max(top, off[l] + 1 + reach);
      if (cv.mode[v] == ColumnVectors::kScalar) {
        cv.nranges = ColumnVectors::kRanges + 1;
      } else if (cv.nranges > 0 && lo >= cv.range_lo[cv.nranges - 1] && lo <= cv.range_hi[cv.nranges - 1] + 16) {
        cv.range_hi[cv.nranges - 1] = std::max(cv.range_hi[cv.nranges - 1], top);
      } else if (cv.nranges < ColumnVectors::kRanges) {
        cv.range_lo[cv.nranges] = lo;
        cv.range_hi[cv.nranges++] = top;
      } else {
        cv.nranges = ColumnVectors::kRanges + 1;
      }
    }
    // The odd vector of a pair continues the even one (or is wholly past the end, so never read).
    if (v % 2 == 1 && ih[0] != kOutside && cv.base[v] != cv.base[v - 1] + 8) cv.pairs = false;
#ifdef SC_CONV_AVX2
    const __m256i vy = _mm256_load_si256(reinterpret_cast<const __m256i*>(ih));
    const __m256i vx = _mm256_load_si256(reinterpret_cast<const __m256i*>(iw));
    const __m256i none = _mm256_set1_epi32(-1), vh = _mm256_set1_epi32(hh), vw = _mm256_set1_epi32(ww);
    for (size_t kh = 0, t = 0; kh < g.kh; ++kh) {
      const __m256i y = _mm256_add_epi32(vy, _mm256_set1_epi32(int32_t(kh)));
      const __m256i row = _mm256_and_si256(_mm256_cmpgt_epi32(y, none), _mm256_cmpgt_epi32(vh, y));
      for (size_t kw = 0; kw < g.kw; ++kw, ++t) {
        const __m256i x = _mm256_add_epi32(vx, _mm256_set1_epi32(int32_t(kw)));
        const __m256i m = _mm256_and_si256(row, _mm256_and_si256(_mm256_cmpgt_epi32(x, none), _mm256_cmpgt_epi32(vw, x)));
        _mm256_store_si256(reinterpret_cast<__m256i*>(cv.mask + (t * cv.nvec + v) * 8), m);
      }
    }
#else
    for (size_t t = 0; t < cv.taps; ++t) {
      const int32_t kh = int32_t(t / g.kw), kw = int32_t(t % g.kw);
      int32_t* m = cv.mask + (t * cv.nvec + v) * 8;
      for (size_t l = 0; l < 8; ++l) {
        const int32_t y = ih[l] + kh, x = iw[l] + kw;
        m[l] = (y >= 0 && y < hh && x >= 0 && x < ww) ? -1 : 0;
      }
    }
#endif
  }
  cv.pairs = cv.pairs && cv.all_linear;
  // Pairs past the last column (all lanes masked off) never break contiguity.
  const size_t valid = j0 >= total ? 0 : ceil_div(std::min(ncols, total - j0), 8);
  cv.contiguous = cv.pairs;
  for (size_t i = 1; 2 * i < valid && cv.contiguous; ++i) cv.contiguous = cv.base[2 * i] == cv.base[0] + int64_t(16 * i);
  if (cv.nranges > ColumnVectors::kRanges) cv.nranges = 0;
  if (cv.pairs) {
    for (size_t t = 0; t < cv.taps; ++t)
      for (size_t i = 0; i < cv.nvec / 2; ++i) {
        const int32_t* m = cv.mask + (t * cv.nvec + 2 * i) * 8;
        unsigned bits = 0;
        for (unsigned l = 0; l < 16; ++l) bits |= unsigned(m[l] != 0) << l;
        cv.kmask[t * (cv.nvec / 2) + i] = uint16_t(bits);
      }
  }
}

// src + offset where offset may point into the padding (before or past the image): the address is only
// formed for masked loads, whose masked-off lanes are never read.
inline const float* at(const float* src, int64_t offset) {
  return reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(src) + uintptr_t(offset * int64_t(sizeof(float))));
}

// Prefetches what channel ci's taps will read (ColumnVectors::range_lo/hi), one cache line at a time.
inline void prefetch_channel(const Im2col& g, const ColumnVectors& cv, size_t ci) {
#if defined(__GNUC__)
  if (ci >= g.channels) return;
  const int64_t start = int64_t(ci * g.height * g.width);
  for (size_t i = 0; i < cv.nranges; ++i) {
    for (int64_t e = cv.range_lo[i]; e < cv.range_hi[i]; e += 16) __builtin_prefetch(at(g.src, start + e));
    __builtin_prefetch(at(g.src, start + cv.range_hi[i] - 1));
  }
#endif
}

#ifdef SC_CONV_AVX512
// Every vector linear and paired: one 16-lane masked load per pair (masked-off lanes neither read nor fault, so
// the image's edges and the tensor's ends need no test) and one 64-byte store.
SC_TARGET_AVX512 void im2col_pairs(const Im2col& g, const ColumnVectors& cv, size_t k0, size_t nrows, const PanelDst& d) {
  const size_t taps = g.taps(), hw = g.height * g.width, npairs = cv.nvec / 2;
  // Locals, so that the stores (floats) are not taken to change the descriptors and reload them.
  const float* const src = g.src;
  const int64_t* const base = cv.base;
  const size_t* const voff = cv.voff;
  size_t ci = k0 / taps, t = k0 % taps;
  for (size_t r = 0; r < nrows; ++r) {
    const int64_t off = int64_t(ci * hw + (t / g.kw) * g.width + t % g.kw);
    if (t == 0) prefetch_channel(g, cv, ci + 1);
    const uint16_t* const km = cv.kmask + t * npairs;
    float* const row = d.base + r * d.row_stride;
    for (size_t i = 0; i < npairs; ++i)
      _mm512_storeu_ps(row + voff[2 * i], _mm512_maskz_loadu_ps(__mmask16(km[i]), at(src, base[2 * i] + off)));
    if (++t == taps) { t = 0; ++ci; }
  }
}
#endif

#ifdef SC_CONV_AVX512
// Every pair contiguous with the next (one image, stride 1, output width = input width): a row of the block is 16 *
// npairs consecutive floats from an offset that moves by one float per kw tap, so it is read in 64-byte-aligned
// chunks (one per pair: no loads split across cache lines) and each pair is cut from two chunks by one masked
// permute. A chunk that misses the tensor is not read (zeros; those lanes are masked off anyway).
SC_TARGET_AVX512 void im2col_contiguous(const Im2col& g, const ColumnVectors& cv, size_t k0, size_t nrows,
                                        const PanelDst& d) {
  const size_t taps = g.taps(), hw = g.height * g.width, npairs = cv.nvec / 2;
  const uintptr_t lo = reinterpret_cast<uintptr_t>(g.src), hi = lo + g.batch * g.channels * hw * sizeof(float);
  const int64_t* const base = cv.base;
  const size_t* const voff = cv.voff;
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  auto chunk = [lo, hi](uintptr_t a) SC_TARGET_AVX512 {
    return a + 64 > lo && a < hi ? _mm512_load_ps(reinterpret_cast<const float*>(a)) : _mm512_setzero_ps();
  };
  size_t ci = k0 / taps, t = k0 % taps;
  for (size_t r = 0; r < nrows; ++r) {
    const int64_t off = int64_t(ci * hw + (t / g.kw) * g.width + t % g.kw);
    if (t == 0) prefetch_channel(g, cv, ci + 1);
    const uint16_t* const km = cv.kmask + t * npairs;
    float* const row = d.base + r * d.row_stride;
    const uintptr_t first = lo + uintptr_t((base[0] + off) * int64_t(sizeof(float))), a0 = first & ~uintptr_t(63);
    const __m512i idx = _mm512_add_epi32(lanes, _mm512_set1_epi32(int((first - a0) / sizeof(float))));
    __m512 cur = chunk(a0);
    for (size_t i = 0; i < npairs; ++i) {
      const __m512 next = chunk(a0 + 64 * (i + 1));
      _mm512_storeu_ps(row + voff[2 * i], _mm512_maskz_permutex2var_ps(__mmask16(km[i]), cur, idx, next));
      cur = next;
    }
    if (++t == taps) { t = 0; ++ci; }
  }
}
#endif

// Rows [k0, k0 + nrows) of the im2col matrix over the described column vectors (8 floats each, 32-byte
// aligned) into d.
void im2col_rows(const Im2col& g, const ColumnVectors& cv, size_t k0, size_t nrows, const PanelDst& d) {
#ifdef SC_CONV_AVX512
  if (cv.contiguous && gemm_isa() == GemmIsa::kAvx512) return im2col_contiguous(g, cv, k0, nrows, d);
  if (cv.pairs && gemm_isa() == GemmIsa::kAvx512) return im2col_pairs(g, cv, k0, nrows, d);
#endif
  const size_t taps = g.taps(), hw = g.height * g.width, nvec = cv.nvec;
  const int64_t size = int64_t(g.batch * g.channels * hw);
  size_t ci = k0 / taps, t = k0 % taps;
  for (size_t r = 0; r < nrows; ++r) {
    const int64_t off = int64_t(ci * hw + (t / g.kw) * g.width + t % g.kw);
    if (t == 0) prefetch_channel(g, cv, ci + 1);
    const int32_t* mt = cv.mask + t * nvec * 8;
    float* row = d.base + r * d.row_stride;
#ifdef SC_CONV_AVX2
    if (cv.all_linear) {
      // A plain load, with the padding lanes cleared by the mask, wherever all 8 lanes lie inside the tensor
      // (VMASKMOVPS is several times slower on some x86 cores); a masked load at its two ends.
      for (size_t v = 0; v < nvec; ++v) {
        const __m256i mk = _mm256_load_si256(reinterpret_cast<const __m256i*>(mt + v * 8));
        const int64_t first = cv.base[v] + off;
        float* out = row + cv.voff[v];
        if (first >= 0 && first + 8 <= size)
          _mm256_store_ps(out, _mm256_and_ps(_mm256_loadu_ps(g.src + first), _mm256_castsi256_ps(mk)));
        else
          _mm256_store_ps(out, _mm256_maskload_ps(at(g.src, first), mk));
      }
      if (++t == taps) { t = 0; ++ci; }
      continue;
    }
#endif
    for (size_t v = 0; v < nvec; ++v) {
      const int32_t* m = mt + v * 8;
      float* out = row + cv.voff[v];
#ifdef SC_CONV_AVX2
      const __m256i mk = _mm256_load_si256(reinterpret_cast<const __m256i*>(m));
      if (cv.mode[v] == ColumnVectors::kLinear) {
        const int64_t first = cv.base[v] + off;
        if (first >= 0 && first + 8 <= size)
          _mm256_store_ps(out, _mm256_and_ps(_mm256_loadu_ps(g.src + first), _mm256_castsi256_ps(mk)));
        else
          _mm256_store_ps(out, _mm256_maskload_ps(at(g.src, first), mk));
        continue;
      }
      if (cv.mode[v] == ColumnVectors::kStride2) {  // 1x1 or 3x3 stride-2 layers: two loads, even lanes kept
        const int64_t first = cv.base[v] + off;
        if (first >= 0 && first + 16 <= size) {
          const __m256 lo = _mm256_loadu_ps(g.src + first), hi = _mm256_loadu_ps(g.src + first + 8);
          const __m256 even = _mm256_shuffle_ps(lo, hi, 0x88);  // lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6
          const __m256 ordered = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8));
          _mm256_store_ps(out, _mm256_and_ps(ordered, _mm256_castsi256_ps(mk)));
          continue;
        }
      }
      if (cv.mode[v] != ColumnVectors::kScalar) {
        const __m256i idx = _mm256_load_si256(reinterpret_cast<const __m256i*>(cv.rel + v * 8));
        _mm256_store_ps(out, _mm256_mask_i32gather_ps(_mm256_setzero_ps(), at(g.src, cv.base[v] + off), idx,
                                                      _mm256_castsi256_ps(mk), 4));
        continue;
      }
#endif
      for (size_t l = 0; l < 8; ++l) out[l] = m[l] ? g.src[cv.lane[v * 8 + l] + off] : 0.0f;
    }
    if (++t == taps) { t = 0; ++ci; }
  }
}

// Equal depth blocks of at most KC: the summation order depends on the depth alone.
struct Blocks {
  size_t count, size;
  explicit Blocks(size_t depth) : count(ceil_div(depth, KC)), size(count ? ceil_div(depth, count) : 0) {}
};

unsigned threads_for(double flops, ThreadPool* pool, unsigned threads) {
  return (pool && threads > 1 && flops >= kSerialFlops) ? threads : 1;
}

void run_tasks(size_t tasks, unsigned nt, ThreadPool* pool, const std::function<void(size_t)>& fn) {
  if (nt > 1 && tasks > 1) {
    pool->parallel_for(tasks, nt, fn);
  } else {
    for (size_t t = 0; t < tasks; ++t) fn(t);
  }
}

// The A operand of conv_gemm packed once per call, for every depth block: block b (depth p0 = b * size)
// starts at m_pad * p0 and holds ceil(m / MR) panels of kc x MR. `pack(i0, p0, kc, dst)` packs one panel.
template <typename PackPanel>
float* prepack_a(Scratch& s, size_t m, size_t depth, const Blocks& kb, unsigned nt, ThreadPool* pool, PackPanel pack) {
  const size_t MR = gemm_mr();
  const size_t m_pad = round_up(m, MR), panels = m_pad / MR;
  float* ap = s.get(m_pad * depth * sizeof(float));
  const auto one = [&](size_t i) {
    const size_t b = i / panels, ip = i % panels, p0 = b * kb.size, kc = std::min(kb.size, depth - p0);
    pack(ip * MR, p0, kc, ap + m_pad * p0 + ip * MR * kc);
  };
  const size_t items = kb.count * panels;
  run_tasks(items, m_pad * depth >= (size_t(1) << 18) ? nt : 1, pool, one);
  return ap;
}

// out[n][i][q] = sum_k A[i][k] * col[k][(n, q)] (+ bias[i]) for i < m, with A pre-packed (prepack_a) over the
// depth g.rows(); out is [batch, m, out_h * out_w]. Tasks are blocks of columns of the flattened (n, q),
// computed into a scratch tile and then copied out (with the bias), so small images batch together.
void conv_gemm(const Im2col& g, size_t m, const float* ap, const float* bias, float* out, ThreadPool* pool, unsigned threads) {
  const size_t MR = gemm_mr(), NR = gemm_nr();
  const size_t depth = g.rows(), cols = g.cols(), q_count = g.out_h * g.out_w;
  if (cols == 0 || m == 0) return;
  const Blocks kb(depth);
  const size_t m_pad = round_up(m, MR), taps = g.taps();
  const unsigned nt = threads_for(2.0 * m * depth * cols, pool, threads);
  size_t ncb = NCB;
  while (nt > 1 && ncb > NR && ceil_div(cols, ncb) < 2 * size_t(nt)) ncb /= 2;
  const size_t tasks = ceil_div(cols, ncb);

  auto run_task = [&](size_t task) {
    static thread_local Scratch scratch;
    const size_t j0 = task * ncb, nc = std::min(ncb, cols - j0), nvec = ceil_div(nc, NR) * (NR / 8);
    Carver carve(scratch, ColumnVectors::bytes(nvec, taps) + Carver::bytes<float>(kb.size * nvec * 8) +
                              Carver::bytes<float>(m_pad * nc));
    ColumnVectors cv;
    cv.carve(carve, nvec, taps);
    float* bp = carve.take<float>(kb.size * nvec * 8);
    float* ct = carve.take<float>(m_pad * nc);
    describe_columns(g, j0, nc, cv);
    for (size_t b = 0; b < kb.count; ++b) {
      const size_t p0 = b * kb.size, kc = std::min(kb.size, depth - p0);
      cv.panels(kc, NR);
      im2col_rows(g, cv, p0, kc, PanelDst{bp, NR});
      for (size_t ic = 0; ic < m; ic += MC)
        gemm_packed(std::min(MC, m - ic), nc, kc, ap + m_pad * p0 + ic * kc, bp, ct + ic * nc, nc, b > 0);
    }
    // Copy out, one run of consecutive q (one image) at a time.
    for (size_t jj = 0; jj < nc;) {
      const size_t n = (j0 + jj) / q_count, q = (j0 + jj) % q_count, len = std::min(nc - jj, q_count - q);
      for (size_t i = 0; i < m; ++i) {
        const float* __restrict src = ct + i * nc + jj;
        float* __restrict dst = out + (n * m + i) * q_count + q;
        const float add = bias ? bias[i] : 0.0f;
        if (bias) {
          for (size_t e = 0; e < len; ++e) dst[e] = src[e] + add;
        } else {
          std::memcpy(dst, src, len * sizeof(float));
        }
      }
      jj += len;
    }
  };
  run_tasks(tasks, nt, pool, run_task);
}

// The shape of one call, as the TS layer sends it.
struct Conv {
  size_t n, c, h, w, o, kh, kw, stride, pad, oh, ow;
  size_t taps() const { return kh * kw; }
  size_t depth() const { return c * kh * kw; }  // a row of the weight
  size_t q() const { return oh * ow; }
  // The convolution is a matrix product of the [N, C*H*W] view (one output position covering the image).
  bool linear() const { return oh == 1 && ow == 1 && pad == 0 && kh == h && kw == w; }
  Im2col im2col(const float* x) const {
    Im2col g;
    g.src = x;
    g.batch = n; g.channels = c; g.height = h; g.width = w;
    g.kh = kh; g.kw = kw; g.stride = stride;
    g.pad_h = int64_t(pad); g.pad_w = int64_t(pad);
    g.out_h = oh; g.out_w = ow;
    return g;
  }
};

void add_bias_rows(float* y, const float* bias, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t j = 0; j < cols; ++j) y[r * cols + j] += bias[j];
}

void conv2d_forward(const Conv& s, const float* x, const float* w, const float* bias, float* y, ThreadPool* pool, unsigned threads) {
  const size_t MR = gemm_mr();
  const size_t depth = s.depth();
  if (s.n == 0) return;
  if (s.linear()) {
    MatmulShape ms;
    ms.m = uint32_t(s.n); ms.n = uint32_t(s.o); ms.k = uint32_t(depth); ms.trans_b = true;
    matmul(ms, x, w, y, pool, threads);
    add_bias_rows(y, bias, s.n, s.o);
    return;
  }
  const Im2col g = s.im2col(x);
  const Blocks kb(depth);
  const unsigned nt = threads_for(2.0 * s.o * depth * g.cols(), pool, threads);
  static thread_local Scratch packed;
  const float* ap = prepack_a(packed, s.o, depth, kb, nt, pool, [&](size_t i0, size_t p0, size_t kc, float* dst) {
    gemm_pack_a(w, depth, false, i0, std::min(MR, s.o - i0), p0, kc, dst);
  });
  conv_gemm(g, s.o, ap, bias, y, pool, threads);
}

// gx[n][c][y][x] = sum over o, kh, kw of w[o][c][kh][kw] * gy[n][o][(y + pad - kh) / stride][...] where the
// division is exact and lands inside gy.
void col2im_add(const Conv& s, const float* gcol, size_t ldc, size_t k0, size_t rows, size_t q0, size_t nq, float* gx) {
  const size_t taps = s.taps();
  for (size_t r = 0; r < rows; ++r) {
    const size_t k = k0 + r, ci = k / taps, t = k % taps, kh = t / s.kw, kw = t % s.kw;
    float* plane = gx + ci * s.h * s.w;
    const float* src = gcol + r * ldc;
    // Output columns ox whose input column ox * stride - pad + kw is inside the image.
    const int64_t shift = int64_t(kw) - int64_t(s.pad);
    const size_t lo = shift >= 0 ? 0 : std::min(s.ow, size_t(ceil_div(size_t(-shift), s.stride)));
    const int64_t last = int64_t(s.w) - 1 - shift;  // ox * stride <= last
    const size_t hi = last < 0 ? 0 : std::min(s.ow, size_t(last) / s.stride + 1);
    for (size_t jj = 0; jj < nq;) {
      const size_t q = q0 + jj, oy = q / s.ow, ox0 = q % s.ow, len = std::min(nq - jj, s.ow - ox0);
      const int64_t iy = int64_t(oy * s.stride) + int64_t(kh) - int64_t(s.pad);
      if (iy >= 0 && iy < int64_t(s.h)) {
        float* row = plane + size_t(iy) * s.w;
        const size_t a = std::max(ox0, lo), e = std::min(ox0 + len, hi);
        if (s.stride == 1) {  // contiguous: vectorized
          float* __restrict d = row + int64_t(a) + shift;
          const float* __restrict g = src + jj + (a - ox0);
          for (size_t i = 0; i < e - a; ++i) d[i] += g[i];
        } else {
          for (size_t ox = a; ox < e; ++ox) row[size_t(int64_t(ox * s.stride) + shift)] += src[jj + ox - ox0];
        }
      }
      jj += len;
    }
  }
}

// gcol = W^T gy[n] in column blocks, scattered into gx[n] (one task per image: images never share gx).
void backward_input_col2im(const Conv& s, const float* gy, const float* w, float* gx, ThreadPool* pool, unsigned threads) {
  const size_t MR = gemm_mr(), NR = gemm_nr();
  const size_t depth = s.depth(), q_count = s.q();
  const Blocks ob(s.o);  // the GEMM's depth is O
  const size_t k_pad = round_up(depth, MR);
  const unsigned nt = threads_for(2.0 * s.n * s.o * depth * q_count, pool, threads);
  static thread_local Scratch packed;
  const float* ap = prepack_a(packed, depth, s.o, ob, nt, pool, [&](size_t i0, size_t p0, size_t kc, float* dst) {
    gemm_pack_a(w, depth, true, i0, std::min(MR, depth - i0), p0, kc, dst);
  });
  // gy as an im2col matrix with a 1 x 1 kernel: rows o, columns (n, q).
  Im2col g;
  g.src = gy;
  g.batch = s.n; g.channels = s.o; g.height = 1; g.width = q_count; g.out_h = 1; g.out_w = q_count;
  const size_t ncb = std::min(NCB, round_up(q_count, NR));
  auto run_image = [&](size_t n) {
    static thread_local Scratch scratch;
    float* gxn = gx + n * s.c * s.h * s.w;
    std::fill(gxn, gxn + s.c * s.h * s.w, 0.0f);
    const size_t nvec_max = ceil_div(ncb, NR) * (NR / 8);
    Carver carve(scratch, ColumnVectors::bytes(nvec_max, 1) + Carver::bytes<float>(s.o * nvec_max * 8) +
                              Carver::bytes<float>(MC * ncb));
    ColumnVectors cv;
    cv.carve(carve, nvec_max, 1);
    float* bp = carve.take<float>(s.o * nvec_max * 8);
    float* ct = carve.take<float>(MC * ncb);
    for (size_t q0 = 0; q0 < q_count; q0 += ncb) {
      const size_t nc = std::min(ncb, q_count - q0);
      cv.nvec = ceil_div(nc, NR) * (NR / 8);
      describe_columns(g, n * q_count + q0, nc, cv);
      const size_t width = cv.nvec * 8;
      for (size_t b = 0; b < ob.count; ++b) {
        const size_t p0 = b * ob.size, kc = std::min(ob.size, s.o - p0);
        float* blk = bp + width * p0;
        cv.panels(kc, NR);
        im2col_rows(g, cv, p0, kc, PanelDst{blk, NR});
      }
      for (size_t ic = 0; ic < depth; ic += MC) {
        const size_t mc = std::min(MC, depth - ic);
        for (size_t b = 0; b < ob.count; ++b) {
          const size_t p0 = b * ob.size, kc = std::min(ob.size, s.o - p0);
          gemm_packed(mc, nc, kc, ap + k_pad * p0 + ic * kc, bp + width * p0, ct, nc, b > 0);
        }
        col2im_add(s, ct, nc, ic, mc, q0, nc, gxn);
      }
    }
  };
  run_tasks(s.n, nt, pool, run_image);
}

void conv2d_backward_input(const Conv& s, const float* gy, const float* w, float* gx, ThreadPool* pool, unsigned threads) {
  const size_t MR = gemm_mr();
  if (s.n == 0) return;
  if (s.linear()) {
    MatmulShape ms;
    ms.m = uint32_t(s.n); ms.n = uint32_t(s.depth()); ms.k = uint32_t(s.o);
    matmul(ms, gy, w, gx, pool, threads);
    return;
  }
  // Few input channels make the transposed convolution a thin GEMM (C rows) over a deep im2col of gy (O*KH*KW
  // rows to pack per column); col2im packs only O rows per column: measured faster below 32 channels.
  if (s.c < 32 || s.stride != 1 || s.pad > s.kh - 1 || s.pad > s.kw - 1) {
    backward_input_col2im(s, gy, w, gx, pool, threads);
    return;
  }
  // Stride 1: gx = gy convolved with w'[c][o][kh][kw] = w[o][c][KH-1-kh][KW-1-kw], padding KH-1-pad.
  Im2col g;
  g.src = gy;
  g.batch = s.n; g.channels = s.o; g.height = s.oh; g.width = s.ow;
  g.kh = s.kh; g.kw = s.kw; g.stride = 1;
  g.pad_h = int64_t(s.kh - 1 - s.pad); g.pad_w = int64_t(s.kw - 1 - s.pad);
  g.out_h = s.h; g.out_w = s.w;
  const size_t taps = s.taps(), depth = g.rows();  // O * KH * KW
  const Blocks kb(depth);
  const unsigned nt = threads_for(2.0 * s.c * depth * g.cols(), pool, threads);
  static thread_local Scratch packed;
  const float* ap = prepack_a(packed, s.c, depth, kb, nt, pool, [&](size_t i0, size_t p0, size_t kc, float* dst) {
    // w'[c][(o, t)] = w[o][c][taps - 1 - t]: per o, a transpose of the contiguous rows x taps block w[o][i0..].
    const size_t rows = std::min(MR, s.c - i0);
    for (size_t p = 0; p < kc;) {
      const size_t o = (p0 + p) / taps, t0 = (p0 + p) % taps, run = std::min(kc - p, taps - t0);
      const float* blk = w + (o * s.c + i0) * taps + (taps - 1 - t0);
      float* d = dst + p * MR;
      if (rows == MR) {
        for (size_t e = 0; e < run; ++e)
          for (size_t r = 0; r < MR; ++r) d[e * MR + r] = blk[r * taps - e];
      } else {
        for (size_t e = 0; e < run; ++e)
          for (size_t r = 0; r < MR; ++r) d[e * MR + r] = r < rows ? blk[r * taps - e] : 0.0f;
      }
      p += run;
    }
  });
  conv_gemm(g, s.c, ap, nullptr, gx, pool, threads);
}

// gb[o] = sum over n, q of gy[n][o][q]: f32 sums of each (n, o) row in 8 lanes, added in f64 in image order.
void bias_gradient(const Conv& s, const float* gy, float* gb, ThreadPool* pool, unsigned threads) {
  const size_t q_count = s.q();
  auto one = [&](size_t o) {
    double total = 0;
    for (size_t n = 0; n < s.n; ++n) {
      const float* row = gy + (n * s.o + o) * q_count;
      size_t i = 0;
      float sum = 0.0f;
#ifdef SC_CONV_AVX2
      if (q_count >= 8) {
        __m256 acc = _mm256_setzero_ps();
        for (; i + 8 <= q_count; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(row + i));
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, acc);
        sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
      }
#endif
      for (; i < q_count; ++i) sum += row[i];
      total += double(sum);
    }
    gb[o] = float(total);
  };
  const unsigned nt = threads_for(double(s.n) * s.o * q_count * 16, pool, threads);
  const size_t per = std::max<size_t>(1, ceil_div(s.o, 4 * size_t(nt)));
  run_tasks(ceil_div(s.o, per), nt, pool, [&](size_t t) {
    for (size_t o = t * per; o < std::min(s.o, (t + 1) * per); ++o) one(o);
  });
}

// gw (O x depth) = sum over columns j = (n, q) of gy[:, j] col[:, j]^T.
void conv2d_backward_weight(const Conv& s, const float* x, const float* gy, float* gw, float* gb, ThreadPool* pool, unsigned threads) {
  const size_t MR = gemm_mr(), NR = gemm_nr();
  const size_t depth = s.depth(), o = s.o;
  if (s.n == 0) {
    std::fill(gw, gw + o * depth, 0.0f);
    std::fill(gb, gb + o, 0.0f);
    return;
  }
  bias_gradient(s, gy, gb, pool, threads);
  if (s.linear()) {
    MatmulShape ms;
    ms.m = uint32_t(o); ms.n = uint32_t(depth); ms.k = uint32_t(s.n); ms.trans_a = true;
    matmul(ms, gy, x, gw, pool, threads);
    return;
  }
  const Im2col g = s.im2col(x);
  const size_t cols = g.cols(), q_count = s.q(), taps = s.taps();  // the GEMM's depth is cols
  const Blocks db(cols);
  // A gradient with few 96 x 64 tiles splits its depth into groups, summed apart and then in order, so
  // that small layers still use every thread. Fixed by the shape: results never depend on the threads.
  const size_t natural = ceil_div(o, MC) * ceil_div(depth, 64);
  const size_t groups = natural >= 8 ? 1 : std::min(db.count, ceil_div(8, natural));
  const size_t per_group = ceil_div(db.count, groups);
  const unsigned nt = threads_for(2.0 * o * depth * cols, pool, threads);
  // Tiles: all rows, and column ranges of whole panels, halved until there are two tasks per thread; rows
  // are split (repacking B once per row tile) only when the columns cannot be split further.
  const size_t col_panels = ceil_div(depth, NR);
  size_t tile_panels = col_panels, tile_rows = round_up(o, MR);
  auto tasks_of = [&] { return groups * ceil_div(col_panels, tile_panels) * ceil_div(o, tile_rows); };
  while (nt > 1 && tasks_of() < 2 * size_t(nt)) {
    if (tile_panels > 1) tile_panels = ceil_div(tile_panels, 2);
    else if (tile_rows > MR) tile_rows = round_up(ceil_div(tile_rows, 2), MR);
    else break;
  }
  const size_t col_tiles = ceil_div(col_panels, tile_panels), row_tiles = ceil_div(o, tile_rows);
  static thread_local Scratch partials;
  float* part = groups > 1 ? partials.get(groups * o * depth * sizeof(float)) : nullptr;

  auto run_task = [&](size_t task) {
    static thread_local Scratch scratch;
    const size_t gi = task / (col_tiles * row_tiles), rc = task % (col_tiles * row_tiles);
    const size_t m0 = (rc / col_tiles) * tile_rows, m1 = std::min(o, m0 + tile_rows);
    const size_t c0 = (rc % col_tiles) * tile_panels * NR, c1 = std::min(depth, c0 + tile_panels * NR);
    const size_t b_lo = gi * per_group, b_hi = std::min(db.count, b_lo + per_group);
    float* cdst = groups > 1 ? part + gi * o * depth : gw;
    const size_t nvec = ceil_div(db.size, 8), rows_pad = round_up(m1 - m0, MR);
    Carver carve(scratch, ColumnVectors::bytes(nvec, taps) + Carver::bytes<float>(rows_pad * db.size) +
                              Carver::bytes<float>(round_up(c1 - c0, NR) * db.size) + Carver::bytes<float>(NR * nvec * 8));
    ColumnVectors cv;
    cv.carve(carve, nvec, taps);
    float* ap = carve.take<float>(rows_pad * db.size);
    float* bp = carve.take<float>(round_up(c1 - c0, NR) * db.size);
    float* tb = carve.take<float>(NR * nvec * 8);
    if (b_lo >= b_hi) {  // an empty group (the depth split unevenly): its partial is zero
      for (size_t i = m0; i < m1; ++i) std::fill(cdst + i * depth + c0, cdst + i * depth + c1, 0.0f);
      return;
    }
    for (size_t b = b_lo; b < b_hi; ++b) {
      const size_t d0 = b * db.size, kc = std::min(db.size, cols - d0);
      // A: rows m0.. of gy over the flattened (n, q) range [d0, d0 + kc), packed one image run at a time.
      for (size_t i0 = m0; i0 < m1; i0 += MR) {
        float* panel = ap + (i0 - m0) * kc;
        for (size_t d = 0; d < kc;) {
          const size_t n = (d0 + d) / q_count, q = (d0 + d) % q_count, len = std::min(kc - d, q_count - q);
          gemm_pack_a(gy + n * o * q_count, q_count, false, i0, std::min(MR, m1 - i0), q, len, panel + d * MR);
          d += len;
        }
      }
      // B = col^T: NR im2col rows (columns of gw) over the depth range, then transposed into a panel.
      cv.nvec = ceil_div(kc, 8);
      describe_columns(g, d0, kc, cv);
      cv.rows();
      const size_t ldt = cv.nvec * 8;
      for (size_t k = c0; k < c1; k += NR) {
        const size_t nr = std::min(NR, c1 - k);
        im2col_rows(g, cv, k, nr, PanelDst{tb, ldt});
        // A partial panel is transposed as a full one over zero rows (the vectorized path).
        if (nr < NR) std::fill(tb + nr * ldt, tb + NR * ldt, 0.0f);
        gemm_pack_b(tb, ldt, true, 0, kc, 0, NR, bp + (k - c0) * kc);
      }
      for (size_t ic = m0; ic < m1; ic += MC)
        gemm_packed(std::min(MC, m1 - ic), c1 - c0, kc, ap + (ic - m0) * kc, bp, cdst + ic * depth + c0, depth, b > b_lo);
    }
  };
  run_tasks(groups * col_tiles * row_tiles, nt, pool, run_task);
  if (groups > 1) {
    const size_t total = o * depth;
    for (size_t i = 0; i < total; ++i) {
      float sum = part[i];
      for (size_t gi = 1; gi < groups; ++gi) sum += part[gi * total + i];
      gw[i] = sum;
    }
  }
}

// ---- registry entries (src/kernels/conv2d.ts declares the fields, in the order of the WGSL Params) ----

// Fields 0..10: batch, in_channels, height, width, out_channels, kernel_h, kernel_w, stride, padding, out_h,
// out_w; those after them are the webgpu tiling, unused here.
constexpr size_t kGeometryFields = 11;

Conv conv_of(const KernelCall& call, size_t arrays) {
  if (call.fields.size() < kGeometryFields) call.expect(kGeometryFields, arrays);
  call.expect(call.fields.size(), arrays);
  Conv s;
  size_t* f[] = {&s.n, &s.c, &s.h, &s.w, &s.o, &s.kh, &s.kw, &s.stride, &s.pad, &s.oh, &s.ow};
  for (size_t i = 0; i < kGeometryFields; ++i) *f[i] = size_t(call.integer(i));
  if (s.c == 0 || s.h == 0 || s.w == 0 || s.o == 0 || s.kh == 0 || s.kw == 0 || s.stride == 0 ||
      s.kh > s.h + 2 * s.pad || s.kw > s.w + 2 * s.pad || s.oh != (s.h + 2 * s.pad - s.kh) / s.stride + 1 ||
      s.ow != (s.w + 2 * s.pad - s.kw) / s.stride + 1)
    throw std::invalid_argument(call.name + ": inconsistent geometry");
  return s;
}

// The TS layer validated the sizes; a short array here would be a bug there, so refuse rather than overrun.
void need(const KernelCall& call, size_t i, uint64_t elements, const char* what) {
  if (call.length(i) < elements) throw std::invalid_argument(call.name + ": " + what + " is smaller than its shape needs");
}

// arrays: x, weight, bias, y (out)
void conv2d_forward_kernel(const KernelCall& call) {
  const Conv s = conv_of(call, 4);
  need(call, 0, uint64_t(s.n) * s.c * s.h * s.w, "x");
  need(call, 1, uint64_t(s.o) * s.depth(), "weight");
  need(call, 2, s.o, "bias");
  need(call, 3, uint64_t(s.n) * s.o * s.q(), "y");
  conv2d_forward(s, call.array<float>(0, ArrayType::F32, "x"), call.array<float>(1, ArrayType::F32, "weight"),
                     call.array<float>(2, ArrayType::F32, "bias"), call.array<float>(3, ArrayType::F32, "y"), call.pool,
                     call.threads);
}

// arrays: gy, weight, gx (out)
void conv2d_backward_input_kernel(const KernelCall& call) {
  const Conv s = conv_of(call, 3);
  need(call, 0, uint64_t(s.n) * s.o * s.q(), "gradY");
  need(call, 1, uint64_t(s.o) * s.depth(), "weight");
  need(call, 2, uint64_t(s.n) * s.c * s.h * s.w, "gradX");
  conv2d_backward_input(s, call.array<float>(0, ArrayType::F32, "gradY"), call.array<float>(1, ArrayType::F32, "weight"),
                            call.array<float>(2, ArrayType::F32, "gradX"), call.pool, call.threads);
}

// arrays: x, gy, gw (out), gb (out)
void conv2d_backward_weight_kernel(const KernelCall& call) {
  const Conv s = conv_of(call, 4);
  need(call, 0, uint64_t(s.n) * s.c * s.h * s.w, "x");
  need(call, 1, uint64_t(s.n) * s.o * s.q(), "gradY");
  need(call, 2, uint64_t(s.o) * s.depth(), "gradWeight");
  need(call, 3, s.o, "gradBias");
  conv2d_backward_weight(s, call.array<float>(0, ArrayType::F32, "x"), call.array<float>(1, ArrayType::F32, "gradY"),
                             call.array<float>(2, ArrayType::F32, "gradWeight"),
                             call.array<float>(3, ArrayType::F32, "gradBias"), call.pool, call.threads);
}

SC_REGISTER_KERNEL("conv2d_forward", conv2d_forward_kernel);
SC_REGISTER_KERNEL("conv2d_backward_input", conv2d_backward_input_kernel);
SC_REGISTER_KERNEL("conv2d_backward_weight", conv2d_backward_weight_kernel);

}  // namespace
}  // namespace sc
