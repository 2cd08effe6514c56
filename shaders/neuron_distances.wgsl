// neuron_distances.wgsl: normalized squared distances between neuron vectors,
//   out[i, j] = 2 * sum_k (a[i, k] - b[j, k])^2 / (sum_k a[i, k]^2 + sum_k b[j, k]^2 + epsilon),
// i < count (rows of A), j < count_b (rows of B), all row-major; out is count x count_b. The squared distance is
// summed from the differences (never as |a|^2 + |b|^2 - 2 a.b, which cancels in f32 for near-identical rows).
// A zero denominator (two zero rows with epsilon = 0) gives 0; NaN inputs give NaN.
// symmetric = 1: B is A (count_b = count; the B binding is not read); only tiles on or above the diagonal work,
// and each writes its block and the mirrored block, so out is exactly symmetric with a zero diagonal.
// Tiled like matmul.wgsl: each workgroup computes one TILE_M x TILE_N block of out, staging TILE_M rows of A and
// TILE_N rows of B, TILE_K entries at a time, in workgroup memory; each thread keeps a TM x TN block of sums.
//
// Bindings (group 0):
//   0  uniform  Params (below)
//   1  storage  array<f32>, read        A: count x dim
//   2  storage  array<f32>, read        B: count_b x dim (not read when symmetric = 1; bind A again)
//   3  storage  array<f32>, read_write  out: count x count_b, written completely
//
// Dispatch: `groups` = tiles_m * tiles_n workgroups, tiles_m = ceil(count / TILE_M), tiles_n = ceil(count_b /
// TILE_N), as a 1-D count that may be split over (x, y); the linear id g = wid.y * num_workgroups.x + wid.x is
// decoded as g = tm * tiles_n + tn; ids >= `groups`, and tiles with tm > tn when symmetric, return at once.
//
// Override constants (host defaults TILE_M = TILE_N = 64, TILE_K = 16, TM = TN = 4, WG = 256; TILE_M % TM ==
// TILE_N % TN == 0, TM, TN <= 4, WG = (TILE_M / TM) * (TILE_N / TN) >= TILE_M + TILE_N):
//   TILE_M, TILE_N  out block per workgroup       TILE_K  entries of each row per workgroup-memory stage
//   TM, TN          sums per thread (rows ty + i * TILE_M / TM, columns tx + j * TILE_N / TN of the block; as gemm_tile.wgsl)
//   WG              workgroup size; threads 0 .. TILE_M + TILE_N - 1 also sum the squared norms of the rows
//
// Numerics: f32. Every sum (of squared differences, and each norm) is one sequential fma chain over k in order,
// of non-negative terms, so its relative error is at most ~(dim + 3) * 2^-24 (no cancellation: a difference of
// near-equal entries is exact); out has relative error <= ~(2 * dim + 10) * 2^-24 at every entry, however small.
// Out-of-range rows and entries are staged as 0 and contribute nothing.

// The tile overrides, the stages as_ / bs and the thread layout come from gemm_tile.wgsl (prepended); the product here
// is a sum of squared differences, so it has its own loop, with register blocks of at most 4 x 4.
const DIST_TM: u32 = 4u;
const DIST_TN: u32 = 4u;

struct Params {
  count: u32,      // rows of A and of out
  count_b: u32,    // rows of B, columns of out
  dim: u32,        // entries per row
  symmetric: u32,  // 1: B = A, compute tiles tm <= tn and mirror
  epsilon: f32,    // added to the denominator
  tiles_m: u32,    // ceil(count / TILE_M)
  tiles_n: u32,    // ceil(count_b / TILE_N)
  groups: u32,     // tiles_m * tiles_n
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// Stages (gemm_tile.wgsl), k-major with a padded pitch: as_[kk * SA + row], bs[kk * SB + col].
var<workgroup> norm_a: array<f32, TILE_M>;
var<workgroup> norm_b: array<f32, TILE_N>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= p.groups) {
    return;
  }
  let tn = g % p.tiles_n;
  let tm = g / p.tiles_n;
  let sym = p.symmetric != 0u;
  if (sym && tm > tn) {
    return;
  }

  let dim = p.dim;
  let row0 = tm * TILE_M;
  let col0 = tn * TILE_N;
  let threads_m = TILE_M / TM;
  let threads_n = TILE_N / TN;
  let tx = lid % threads_n;
  let ty = lid / threads_n;

  var acc: array<f32, DIST_TM * DIST_TN>;   // zero-initialised
  var ar: array<f32, DIST_TM>;
  var norm = 0.0;   // threads lid < TILE_M: row lid of the A block; TILE_M <= lid < TILE_M + TILE_N: a B row

  for (var k0 = 0u; k0 < dim; k0 += TILE_K) {
    // Rows are dim apart: consecutive threads read consecutive entries of one row (walk along k).
    for (var e = lid; e < TILE_M * TILE_K; e += WG) {
      let row = e / TILE_K;
      let kk = e % TILE_K;
      let gr = row0 + row;
      let gk = k0 + kk;
      var v = 0.0;
      if (gr < p.count && gk < dim) {
        v = a[gr * dim + gk];
      }
      as_[kk * SA + row] = v;
    }
    for (var e = lid; e < TILE_N * TILE_K; e += WG) {
      let col = e / TILE_K;
      let kk = e % TILE_K;
      let gc = col0 + col;
      let gk = k0 + kk;
      var v = 0.0;
      if (gc < p.count_b && gk < dim) {
        v = select(b[gc * dim + gk], a[gc * dim + gk], sym);
      }
      bs[kk * SB + col] = v;
    }
    workgroupBarrier();

    if (lid < TILE_M) {
      for (var kk = 0u; kk < TILE_K; kk++) {
        let v = as_[kk * SA + lid];
        norm = fma(v, v, norm);
      }
    } else if (lid < TILE_M + TILE_N) {
      for (var kk = 0u; kk < TILE_K; kk++) {
        let v = bs[kk * SB + lid - TILE_M];
        norm = fma(v, v, norm);
      }
    }
    for (var kk = 0u; kk < TILE_K; kk++) {
      for (var i = 0u; i < TM; i++) {
        ar[i] = as_[kk * SA + ty + i * threads_m];
      }
      for (var j = 0u; j < TN; j++) {
        let bv = bs[kk * SB + tx + j * threads_n];
        for (var i = 0u; i < TM; i++) {
          let d = ar[i] - bv;
          acc[i * DIST_TN + j] = fma(d, d, acc[i * DIST_TN + j]);
        }
      }
    }
    workgroupBarrier();
  }

  if (lid < TILE_M) {
    norm_a[lid] = norm;
  } else if (lid < TILE_M + TILE_N) {
    norm_b[lid - TILE_M] = norm;
  }
  workgroupBarrier();

  for (var i = 0u; i < TM; i++) {
    let r = ty + i * threads_m;
    let row = row0 + r;
    if (row >= p.count) {
      break;
    }
    for (var j = 0u; j < TN; j++) {
      let c = tx + j * threads_n;
      let col = col0 + c;
      if (col < p.count_b) {
        let den = norm_a[r] + norm_b[c] + p.epsilon;
        var v = 0.0;
        if (den != 0.0) {
          v = 2.0 * acc[i * DIST_TN + j] / den;
        }
        out[row * p.count_b + col] = v;
        if (sym && tm != tn) {
          out[col * p.count_b + row] = v;
        }
      }
    }
  }
}
