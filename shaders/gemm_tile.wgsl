// gemm_tile.wgsl: the register-blocked tile product of the tiled GEMM shaders (matmul.wgsl, conv2d_forward.wgsl,
// conv2d_backward_input.wgsl), prepended to each of them (their KernelSpec's `shaders` list). What differs between
// those kernels is only how a slab of the operands is read from memory; this file holds what they share.
//
// A workgroup computes one TILE_M x TILE_N block of C = A · B. Per depth step of TILE_K the kernel stages A's
// TILE_M x TILE_K slab k-major, as_[kk * SA + row], and B's TILE_K x TILE_N slab, bs[kk * SB + col] (zeros outside
// the matrices), then, between two workgroupBarrier()s, calls tile_accumulate. Thread `lid` owns the TM x TN register
// block of rows tile_row(lid, i) = ty + i * (TILE_M / TM) and columns tile_col(lid, j) = tx + j * (TILE_N / TN),
// ty = lid / (TILE_N / TN), tx = lid % (TILE_N / TN): the columns of neighbouring threads are neighbours, so B reads
// and C stores are contiguous.
//
// Bindings: none (the kernel file declares them).
//
// Override constants (each kernel's host sets them; requirements: TILE_M % TM == 0, TILE_N % TN == 0,
// 1 <= TM, TN <= 8, WG the derived value):
//   TILE_M, TILE_N  C block per workgroup
//   TILE_K          depth of one workgroup-memory stage: 4 * TILE_K * (TILE_M + TILE_N + 2) bytes of workgroup memory
//   TM, TN          register block per thread
//   WG              workgroup size, (TILE_M / TM) * (TILE_N / TN) (derived when unset; a host that sets it must pass
//                   exactly that value)
//   SA, SB          workgroup-memory row pitches TILE_M + 1 and TILE_N + 1 (derived; leave unset): the padding word
//                   puts the k-walking stores of a transposed stage on distinct banks; the product reads one row kk at
//                   a time (a broadcast for A, consecutive words for B), conflict-free either way.
//
// Numerics: acc[i * MAX_TN + j] grows by one fma per staged kk, in increasing kk: over the whole depth every C entry
// is one sequential fma chain in k order (a zero-padded tail adds fma(0, x, acc) = acc exactly for finite x).

override TILE_M: u32 = 64u;
override TILE_N: u32 = 64u;
override TILE_K: u32 = 16u;
override TM: u32 = 4u;
override TN: u32 = 4u;
override WG: u32 = (TILE_M / TM) * (TILE_N / TN);

const MAX_TM: u32 = 8u;   // register arrays are sized by these (function-scope arrays cannot use overrides)
const MAX_TN: u32 = 8u;
const TILE_ACC: u32 = MAX_TM * MAX_TN;

override SA: u32 = TILE_M + 1u;
override SB: u32 = TILE_N + 1u;
var<workgroup> as_: array<f32, SA * TILE_K>;
var<workgroup> bs: array<f32, SB * TILE_K>;

fn tile_row(lid: u32, i: u32) -> u32 {
  return lid / (TILE_N / TN) + i * (TILE_M / TM);
}

fn tile_col(lid: u32, j: u32) -> u32 {
  return lid % (TILE_N / TN) + j * (TILE_N / TN);
}

// acc[i * MAX_TN + j] += as_[kk][tile_row(lid, i)] * bs[kk][tile_col(lid, j)] for kk = 0 .. TILE_K - 1 in order.
fn tile_accumulate(acc: ptr<function, array<f32, TILE_ACC>>, lid: u32) {
  let threads_m = TILE_M / TM;
  let threads_n = TILE_N / TN;
  let tx = lid % threads_n;
  let ty = lid / threads_n;
  var ar: array<f32, MAX_TM>;
  var br: array<f32, MAX_TN>;
  for (var kk = 0u; kk < TILE_K; kk++) {
    for (var i = 0u; i < TM; i++) {
      ar[i] = as_[kk * SA + ty + i * threads_m];
    }
    for (var j = 0u; j < TN; j++) {
      br[j] = bs[kk * SB + tx + j * threads_n];
    }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) {
        (*acc)[i * MAX_TN + j] = fma(ar[i], br[j], (*acc)[i * MAX_TN + j]);
      }
    }
  }
}
