// The noise-bound SIMD core, written once for any vector width: Philox4x32-10 tiles, Box-Muller (this
// family's copy of native/box_muller.inc) and the fused Euler-Maruyama driver over the models of models.h,
// and the bulk normals of engine.random.normal (normals_consecutive) on the same rounds and Box-Muller.
// Included by native/sde_avx2.cc (SC_SIMD_NS avx2, 8 floats per vector) and native/sde_avx512.cc (avx512,
// 16 floats, compiled under a target pragma), after every other header, inside namespace sc::SC_SIMD_NS:
// each family is its own set of symbols, so no inline function is shared between the two targets.
//
// Layout. A Philox register holds W/2 blocks, one 32-bit counter word in the low half of each 64-bit lane:
// a round is then 2 vpmuludq, 2 shifts and 4 xors for W/2 blocks, without blends (the high halves carry
// garbage that vpmuludq ignores). Two such halves (A: even float lanes, B: odd) are packed into one vector
// of W words (a shift and a blend) for Box-Muller, so float lane l of every vector is path l of the group.
//
// The SDE counter is (block lo, block hi, path, grid) (src/rng/philox.ts): with the block the same for every
// lane, rounds 1 and 2 reduce to per-path constants (computed once per group of paths) combined with per-block
// scalars, so each block costs 8 vector rounds. Each block's 4 normals feed 4 consecutive draws of each path
// straight from registers (4 steps of the m = 1 models, 4 noise columns of the others); no normal goes
// through memory on the hot paths. The models with m = 1 run blocks outer and groups of W paths inner (the
// state makes an L1 round trip per block) so that independent groups overlap in the out-of-order window;
// the others run one group at a time through all its steps, the state in registers.
#if !defined(SC_SIMD_NS) || !defined(SC_SIMD_W)
#error "sde_simd.h is included by sde_avx2.cc / sde_avx512.cc only"
#endif

constexpr int W = SC_SIMD_W;
typedef float VF __attribute__((vector_size(4 * W)));
typedef int32_t VI __attribute__((vector_size(4 * W)));
typedef uint32_t VU __attribute__((vector_size(4 * W)));
typedef uint64_t VQ __attribute__((vector_size(4 * W)));

#if SC_SIMD_W == 16
SC_INLINE VQ mul32(VQ a, VQ b) { return reinterpret_cast<VQ>(_mm512_mul_epu32(reinterpret_cast<__m512i>(a), reinterpret_cast<__m512i>(b))); }
SC_INLINE VF vsqrt(VF x) { return reinterpret_cast<VF>(_mm512_sqrt_ps(reinterpret_cast<__m512>(x))); }
#define SC_ODD_BLEND {0, 17, 2, 19, 4, 21, 6, 23, 8, 25, 10, 27, 12, 29, 14, 31}
#define SC_UNPACK_LO_PS {0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29}
#define SC_UNPACK_HI_PS {2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31}
#define SC_UNPACK_LO_PD {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29}
#define SC_UNPACK_HI_PD {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31}
#elif SC_SIMD_W == 8
SC_INLINE VQ mul32(VQ a, VQ b) { return reinterpret_cast<VQ>(_mm256_mul_epu32(reinterpret_cast<__m256i>(a), reinterpret_cast<__m256i>(b))); }
SC_INLINE VF vsqrt(VF x) { return reinterpret_cast<VF>(_mm256_sqrt_ps(reinterpret_cast<__m256>(x))); }
#define SC_ODD_BLEND {0, 9, 2, 11, 4, 13, 6, 15}
#define SC_UNPACK_LO_PS {0, 8, 1, 9, 4, 12, 5, 13}
#define SC_UNPACK_HI_PS {2, 10, 3, 11, 6, 14, 7, 15}
#define SC_UNPACK_LO_PD {0, 1, 8, 9, 4, 5, 12, 13}
#define SC_UNPACK_HI_PD {2, 3, 10, 11, 6, 7, 14, 15}
#else
#error "SC_SIMD_W must be 8 or 16"
#endif

#if SC_SIMD_W == 16
SC_INLINE VF fmadd(VF a, VF b, VF c) {
  return reinterpret_cast<VF>(_mm512_fmadd_ps(reinterpret_cast<__m512>(a), reinterpret_cast<__m512>(b), reinterpret_cast<__m512>(c)));
}
#else
SC_INLINE VF fmadd(VF a, VF b, VF c) {
  return reinterpret_cast<VF>(_mm256_fmadd_ps(reinterpret_cast<__m256>(a), reinterpret_cast<__m256>(b), reinterpret_cast<__m256>(c)));
}
#endif
// This family's own copy of Box-Muller (explicit fmadd: the same bits as the scalar box_muller).
#include "box_muller.inc"

SC_INLINE VQ splat64(uint32_t v) { return VQ{} + static_cast<uint64_t>(v); }

// Words of half A (even lanes) and half B (odd lanes) as one vector of W words.
SC_INLINE VU pack(VQ a, VQ b) {
  const VI sel = SC_ODD_BLEND;
  return __builtin_shuffle(reinterpret_cast<VU>(a), reinterpret_cast<VU>(b << 32), sel);
}

// Philox state of W/2 blocks.
struct Half {
  VQ x0, x1, x2, x3;
};

// The round keys of key (k0, k1) as vectors, kept in memory: the rounds read them as memory operands, which
// costs no register (AVX2 has 16, and the state of two halves and the products already take 12).
struct RoundKeys {
  VQ k0[10], k1[10];
  RoundKeys(uint32_t key0, uint32_t key1) {
    for (int r = 0; r < 10; ++r) {
      k0[r] = splat64(key0 + static_cast<uint32_t>(r) * kPhiloxW0);
      k1[r] = splat64(key1 + static_cast<uint32_t>(r) * kPhiloxW1);
    }
  }
};

// Philox rounds [From, 10) of two halves, interleaved: 2 vpmuludq, 2 shifts and 4 xors per round and half;
// the key joins x1 / x3 (ready a round early) off the multiply -> shift -> xor chain. Two halves give four
// independent chains, enough to cover the multiply latency within one block (an iteration of the callers is
// too long for the out-of-order window to overlap the next one much).
template <int From>
SC_INLINE void rounds(Half& a, Half& b, const RoundKeys& keys) {
  const VQ m0 = splat64(kPhiloxM0), m1 = splat64(kPhiloxM1);
#pragma GCC unroll 10
  for (int r = From; r < 10; ++r) {
    const VQ pa0 = mul32(a.x0, m0), pa1 = mul32(a.x2, m1);
    const VQ pb0 = mul32(b.x0, m0), pb1 = mul32(b.x2, m1);
    a.x0 = (pa1 >> 32) ^ (a.x1 ^ keys.k0[r]);
    a.x2 = (pa0 >> 32) ^ (a.x3 ^ keys.k1[r]);
    b.x0 = (pb1 >> 32) ^ (b.x1 ^ keys.k0[r]);
    b.x2 = (pb0 >> 32) ^ (b.x3 ^ keys.k1[r]);
    a.x1 = pa1;
    a.x3 = pa0;
    b.x1 = pb1;
    b.x3 = pb0;
  }
}

// Box-Muller on the 4 words of two halves: z[q] = normal q of each lane's block.
SC_INLINE void normals_of(const Half& a, const Half& b, VF* z) {
  const VU ua[2] = {pack(a.x0, b.x0), pack(a.x2, b.x2)}, ub[2] = {pack(a.x1, b.x1), pack(a.x3, b.x3)};
  VF r2[2], r[2], zc[2], zs[2];
  box_muller_r2<VF, 2>(ua, r2);
  r[0] = vsqrt(r2[0]);
  r[1] = vsqrt(r2[1]);
  box_muller_rotate<VF, 2>(r, ub, zc, zs);
  z[0] = zc[0];
  z[1] = zs[0];
  z[2] = zc[1];
  z[3] = zs[1];
}

// Rounds 1-2 of counter (block, path, c3) for one group of W paths. Per path (once per group and block-high
// word): a1 = lo(M1 c2), x0 after round 1, and hi/lo of M0 times it (round 2's first product). Per block
// (scalars, the same for every lane): round 1's M0 product of the block's low word and round 2's M1 product.
struct PathHalf {
  VQ a1, p_hi, p_lo;
};

// The per-block scalars of rounds 1-2 (the same for every path of a tile), as vectors.
struct BlockWords {
  VQ s0, s1, s2;
};

SC_INLINE BlockWords block_words(uint64_t block, uint32_t c3, uint32_t k0, uint32_t k1) {
  const uint64_t s = static_cast<uint64_t>(kPhiloxM0) * static_cast<uint32_t>(block);
  const uint32_t x3_1 = static_cast<uint32_t>(s);
  const uint32_t x2_1 = static_cast<uint32_t>(s >> 32) ^ c3 ^ k1;
  const uint64_t q = static_cast<uint64_t>(kPhiloxM1) * x2_1;
  return BlockWords{splat64(static_cast<uint32_t>(q >> 32) ^ (k0 + kPhiloxW0)), splat64(static_cast<uint32_t>(q)),
                    splat64(x3_1 ^ (k1 + kPhiloxW1))};
}

// One group of W paths (lanes first_lane .. first_lane + W - 1 of the tile): its per-path words of rounds
// 1-2, recomputed when the block's high word changes (after 2^32 blocks).
struct PathGroup {
  PathHalf h[2];
  VQ c2[2];
  uint32_t block_hi = 0;
  bool ready = false;

  PathGroup() = default;
  PathGroup(const TileKey& key, uint32_t first_lane) {
    alignas(64) uint64_t ca[W / 2], cb[W / 2];
    for (int i = 0; i < W / 2; ++i) {  // the path index wraps at 2^32, as the reference's u32 counter word
      ca[i] = static_cast<uint32_t>(key.path0 + first_lane + 2 * i);
      cb[i] = static_cast<uint32_t>(key.path0 + first_lane + 2 * i + 1);
    }
    std::memcpy(&c2[0], ca, sizeof(ca));
    std::memcpy(&c2[1], cb, sizeof(cb));
  }

  SC_INLINE void prepare(uint32_t hi, uint32_t k0) {
    const VQ m0 = splat64(kPhiloxM0), m1 = splat64(kPhiloxM1);
    for (int s = 0; s < 2; ++s) {
      const VQ p = mul32(c2[s], m1);
      const VQ x0 = (p >> 32) ^ splat64(hi ^ k0);
      const VQ q = mul32(x0, m0);
      h[s].a1 = p;
      h[s].p_hi = q >> 32;
      h[s].p_lo = q;
    }
    block_hi = hi;
    ready = true;
  }

  // The 4 normals of `block` (its words bw) for the group's lanes.
  SC_INLINE void normals(uint64_t block, const BlockWords& bw, const TileKey& key, const RoundKeys& keys, VF* z) {
    const uint32_t hi = static_cast<uint32_t>(block >> 32);
    if (__builtin_expect(!ready || hi != block_hi, 0)) prepare(hi, key.k0);
    Half a{h[0].a1 ^ bw.s0, bw.s1, h[0].p_hi ^ bw.s2, h[0].p_lo};
    Half b{h[1].a1 ^ bw.s0, bw.s1, h[1].p_hi ^ bw.s2, h[1].p_lo};
    rounds<2>(a, b, keys);
    normals_of(a, b, z);
  }
  SC_INLINE void normals(uint64_t block, const TileKey& key, const RoundKeys& keys, VF* z) {
    normals(block, block_words(block, key.c3, key.k0, key.k1), key, keys, z);
  }
};

// Draws by index for the unaligned heads and tails of a run and for noise dimensions not a multiple of 4.
struct DrawCursor {
  VF z[4];
  uint64_t block = ~uint64_t(0);
  SC_INLINE VF draw(PathGroup& g, const TileKey& key, const RoundKeys& keys, uint64_t j) {
    if ((j >> 2) != block) {
      block = j >> 2;
      g.normals(block, key, keys, z);
    }
    return z[j & 3];
  }
};

template <class M>
SC_INLINE void one_step(typename M::template Lanes<VF>& st, VF* x, PathGroup& g, DrawCursor& cur, const TileKey& key,
                        const RoundKeys& keys, uint64_t j, int m) {
  st.begin(x);
  for (int i = 0; i < m; ++i) st.noise(x, i, cur.draw(g, key, keys, j + static_cast<uint64_t>(i)));
  st.end(x);
}

constexpr int kMaxGroups = 128 / W;  // em_collapse's tile of 128 paths

template <class M>
SC_INLINE void load_state(float* const* x, int lane, VF* xs) {
  for (int i = 0; i < M::D; ++i) std::memcpy(&xs[i], x[i] + lane, sizeof(VF));
}
template <class M>
SC_INLINE void store_state(float* const* x, int lane, const VF* xs) {
  for (int i = 0; i < M::D; ++i) std::memcpy(x[i] + lane, &xs[i], sizeof(VF));
}

template <class M>
void advance(float* const* x, const StepArgs& a, const TileKey& key, uint32_t t0, uint32_t t1) {
  const int m = a.m;
  const RoundKeys keys(key.k0, key.k1);
  typename M::template Lanes<VF> st(a);
  if (M::kFixedM == 1 && a.n <= kMaxGroups * W) {
    // One block = 4 steps of every path. Blocks outer, groups of W paths inner: consecutive iterations are
    // independent (different paths), so the out-of-order core overlaps one group's 4-step chain through
    // its state with the next group's Philox and Box-Muller. The state makes a trip through L1 per block.
    const int groups = a.n / W;
    PathGroup g[kMaxGroups];
    for (int k = 0; k < groups; ++k) g[k] = PathGroup(key, static_cast<uint32_t>(k * W));
    uint32_t t = t0;
    const uint32_t head_end = std::min(t1, (t0 + 3) & ~3u);
    const uint32_t body_end = head_end + (t1 - head_end) / 4 * 4;
    for (int k = 0; k < groups; ++k) {  // steps before the first block boundary
      if (t >= head_end) break;
      VF xs[M::D];
      load_state<M>(x, k * W, xs);
      DrawCursor cur;
      for (uint32_t u = t; u < head_end; ++u) one_step<M>(st, xs, g[k], cur, key, keys, u, 1);
      store_state<M>(x, k * W, xs);
    }
    for (t = head_end; t < body_end; t += 4) {
      const uint64_t block = t >> 2;
      const BlockWords bw = block_words(block, key.c3, key.k0, key.k1);
      // Software-pipelined: group k + 1's normals come before group k's steps in program order, so that the
      // window holds the steps' chain beside independent Philox work instead of behind it.
      VF z[4];
      g[0].normals(block, bw, key, keys, z);
      for (int k = 0; k < groups; ++k) {
        VF zn[4];
        if (k + 1 < groups) g[k + 1].normals(block, bw, key, keys, zn);
        VF xs[M::D];
        load_state<M>(x, k * W, xs);
        for (int q = 0; q < 4; ++q) {
          st.begin(xs);
          st.noise(xs, 0, z[q]);
          st.end(xs);
        }
        store_state<M>(x, k * W, xs);
        for (int q = 0; q < 4; ++q) z[q] = zn[q];
      }
    }
    if (body_end < t1) {
      for (int k = 0; k < groups; ++k) {
        VF xs[M::D];
        load_state<M>(x, k * W, xs);
        DrawCursor cur;
        for (uint32_t u = body_end; u < t1; ++u) one_step<M>(st, xs, g[k], cur, key, keys, u, 1);
        store_state<M>(x, k * W, xs);
      }
    }
    return;
  }
  for (int lane = 0; lane < a.n; lane += W) {
    VF xs[M::D];
    load_state<M>(x, lane, xs);
    PathGroup g(key, static_cast<uint32_t>(lane));
    DrawCursor cur;
    uint32_t t = t0;
    if (m % 4 == 0) {
      // m / 4 blocks per step; the work within a step (one tanh or GELU per noise) is independent
      for (; t < t1; ++t) {
        st.begin(xs);
        const uint64_t b0 = static_cast<uint64_t>(t) * static_cast<uint64_t>(m) / 4;
        for (int i = 0; i < m; i += 4) {
          VF z[4];
          g.normals(b0 + static_cast<uint64_t>(i / 4), key, keys, z);
          st.noise(xs, i, z[0]);
          st.noise(xs, i + 1, z[1]);
          st.noise(xs, i + 2, z[2]);
          st.noise(xs, i + 3, z[3]);
        }
        st.end(xs);
      }
    } else {
      for (; t < t1; ++t) one_step<M>(st, xs, g, cur, key, keys, static_cast<uint64_t>(t) * static_cast<uint64_t>(m), m);
    }
    store_state<M>(x, lane, xs);
  }
}

void normals_paths(uint64_t block, const TileKey& key, int n, float* const* z) {
  const RoundKeys keys(key.k0, key.k1);
  for (int lane = 0; lane < n; lane += W) {
    PathGroup g(key, static_cast<uint32_t>(lane));
    VF v[4];
    g.normals(block, key, keys, v);
    for (int q = 0; q < 4; ++q) std::memcpy(z[q] + lane, &v[q], sizeof(VF));
  }
}

// W consecutive blocks per iteration. Float lane p = 4c + s holds block s (W/4) + c, so that the in-lane
// 4 x 4 transposes (unpack ps, then pd) leave block s (W/4) .. s (W/4) + W/4 - 1 contiguous in vector s.
void normals_consecutive(float* out, uint64_t first, size_t nb, uint32_t k0, uint32_t k1) {
  alignas(64) uint64_t off_a[W / 2], off_b[W / 2];
  for (int i = 0; i < W / 2; ++i) {
    const int pa = 2 * i, pb = 2 * i + 1;
    off_a[i] = static_cast<uint64_t>((pa % 4) * (W / 4) + pa / 4);
    off_b[i] = static_cast<uint64_t>((pb % 4) * (W / 4) + pb / 4);
  }
  VQ oa, ob;
  std::memcpy(&oa, off_a, sizeof(oa));
  std::memcpy(&ob, off_b, sizeof(ob));
  const RoundKeys keys(k0, k1);
  const VI lo_ps = SC_UNPACK_LO_PS, hi_ps = SC_UNPACK_HI_PS, lo_pd = SC_UNPACK_LO_PD, hi_pd = SC_UNPACK_HI_PD;
  for (size_t i = 0; i < nb; i += W) {
    const VQ ba = splat64(0) + (first + i) + oa, bb = splat64(0) + (first + i) + ob;  // 64-bit block indices
    Half a{ba & 0xffffffffu, ba >> 32, VQ{}, VQ{}};
    Half b{bb & 0xffffffffu, bb >> 32, VQ{}, VQ{}};
    rounds<0>(a, b, keys);
    VF z[4];
    normals_of(a, b, z);
    const VF t0 = __builtin_shuffle(z[0], z[1], lo_ps), t1 = __builtin_shuffle(z[0], z[1], hi_ps);
    const VF t2 = __builtin_shuffle(z[2], z[3], lo_ps), t3 = __builtin_shuffle(z[2], z[3], hi_ps);
    const VF o[4] = {__builtin_shuffle(t0, t2, lo_pd), __builtin_shuffle(t0, t2, hi_pd), __builtin_shuffle(t1, t3, lo_pd),
                     __builtin_shuffle(t1, t3, hi_pd)};
    float* dst = out + 4 * i;
    for (int s = 0; s < 4; ++s) std::memcpy(dst + s * W, &o[s], sizeof(VF));
  }
}

template void advance<Quartic>(float* const*, const StepArgs&, const TileKey&, uint32_t, uint32_t);
template void advance<Neuron>(float* const*, const StepArgs&, const TileKey&, uint32_t, uint32_t);
template void advance<TeacherStudent>(float* const*, const StepArgs&, const TileKey&, uint32_t, uint32_t);
template void advance<TwoNeuron>(float* const*, const StepArgs&, const TileKey&, uint32_t, uint32_t);
template void advance<TwoNeuronMomentum>(float* const*, const StepArgs&, const TileKey&, uint32_t, uint32_t);

#undef SC_ODD_BLEND
#undef SC_UNPACK_LO_PS
#undef SC_UNPACK_HI_PS
#undef SC_UNPACK_LO_PD
#undef SC_UNPACK_HI_PD
