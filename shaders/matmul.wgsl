// matmul.wgsl: batched f32 GEMM, C[b] = op(A[b]) · op(B[b]) (+ C[b] when `accumulate`), b = 0 .. batch - 1,
// all matrices row-major, op = identity or transpose. op(A) is m x k, op(B) is k x n, C is m x n.
// Tiled: each workgroup computes one TILE_M x TILE_N block of one C[b], staging TILE_M x TILE_K of op(A)
// and TILE_K x TILE_N of op(B) in workgroup memory per step; each thread keeps a TM x TN register block.
//
// Bindings (group 0):
//   0  uniform  Params (below)
//   1  storage  array<f32>, read        A: matrix b starts at b * stride_a (stride_a = 0: one A for all b);
//                                       m x k, or k x m when trans_a = 1
//   2  storage  array<f32>, read        B: matrix b starts at b * stride_b; k x n, or n x k when trans_b = 1
//   3  storage  array<f32>, read_write  C: dense, matrix b at b * m * n (read only when accumulate = 1)
// Sizes: A needs (batch - 1) * stride_a + m * k elements, B (batch - 1) * stride_b + k * n, C batch * m * n.
// k = 0 is allowed (C = 0, or C unchanged when accumulating); A and B bindings must still be non-empty.
//
// Dispatch: `groups` = batch * tiles_m * tiles_n workgroups, tiles_m = ceil(m / TILE_M),
// tiles_n = ceil(n / TILE_N), as a 1-D count that may be split over (x, y) (limit per dimension); the
// linear id g = wid.y * num_workgroups.x + wid.x is decoded as g = (b * tiles_m + tm) * tiles_n + tn, and
// ids >= `groups` return at once. The host splits batches larger than the binding sizes allow.
//
// Override constants: those of gemm_tile.wgsl (prepended; the tile product and its register blocks live there), at
// the host's MATMUL_TILE: TILE_M = TILE_N = 64, TILE_K = 16, TM = TN = 4, WG = 256 (8.1 KiB of workgroup memory).
//
// Numerics: f32 throughout; every C entry is a sequential fma chain over k = 0 .. k - 1 (in order), then
// one add of the old C when accumulating, so |error| <= ~(k + 1) * 2^-24 * sum_k |a||b| (+ |C| * 2^-24).
// Out-of-range tile elements are loaded as 0 (adding fma(0, x, acc) = acc exactly for finite x).

struct Params {
  batch: u32,      // number of products
  m: u32,          // C is m x n, op(A) m x k, op(B) k x n
  n: u32,
  k: u32,
  trans_a: u32,    // 1: A stored k x m and used transposed
  trans_b: u32,    // 1: B stored n x k and used transposed
  accumulate: u32, // 1: C += ..., 0: C = ...
  stride_a: u32,   // elements between consecutive A matrices (0: one A for every batch entry)
  stride_b: u32,   // likewise for B; C is dense, stride m*n
  tiles_m: u32,    // ceil(m / TILE_M)
  tiles_n: u32,    // ceil(n / TILE_N)
  groups: u32,     // batch * tiles_m * tiles_n: workgroups that carry work
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// Stages (gemm_tile.wgsl), k-major: as_[kk * SA + row] = op(A)[row0 + row, k0 + kk], bs[kk * SB + col] = op(B)[k0 + kk, col0 + col].

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= p.groups) {
    return;
  }
  let tn = g % p.tiles_n;
  let rest = g / p.tiles_n;
  let tm = rest % p.tiles_m;
  let bi = rest / p.tiles_m;

  let m = p.m;
  let n = p.n;
  let k = p.k;
  let row0 = tm * TILE_M;
  let col0 = tn * TILE_N;
  let a_off = bi * p.stride_a;
  let b_off = bi * p.stride_b;
  let c_off = bi * m * n;

  var acc: array<f32, TILE_ACC>;   // zero-initialised

  for (var k0 = 0u; k0 < k; k0 += TILE_K) {
    // Stage op(A)[row0 .., k0 ..]: consecutive threads read consecutive addresses of the stored A.
    for (var e = lid; e < TILE_M * TILE_K; e += WG) {
      var row: u32;
      var kk: u32;
      if (p.trans_a == 0u) {   // A is m x k: walk along k
        row = e / TILE_K;
        kk = e % TILE_K;
      } else {                 // A is k x m: walk along m
        kk = e / TILE_M;
        row = e % TILE_M;
      }
      let gr = row0 + row;
      let gk = k0 + kk;
      var v = 0.0;
      if (gr < m && gk < k) {
        v = a[a_off + select(gr * k + gk, gk * m + gr, p.trans_a != 0u)];
      }
      as_[kk * SA + row] = v;
    }
    // Stage op(B)[k0 .., col0 ..].
    for (var e = lid; e < TILE_K * TILE_N; e += WG) {
      var col: u32;
      var kk: u32;
      if (p.trans_b == 0u) {   // B is k x n: walk along n
        kk = e / TILE_N;
        col = e % TILE_N;
      } else {                 // B is n x k: walk along k
        col = e / TILE_K;
        kk = e % TILE_K;
      }
      let gc = col0 + col;
      let gk = k0 + kk;
      var v = 0.0;
      if (gc < n && gk < k) {
        v = b[b_off + select(gk * n + gc, gc * k + gk, p.trans_b != 0u)];
      }
      bs[kk * SB + col] = v;
    }
    workgroupBarrier();
    tile_accumulate(&acc, lid);
    workgroupBarrier();
  }

  for (var i = 0u; i < TM; i++) {
    let row = row0 + tile_row(lid, i);
    if (row >= m) {
      break;
    }
    for (var j = 0u; j < TN; j++) {
      let col = col0 + tile_col(lid, j);
      if (col < n) {
        let idx = c_off + row * n + col;
        var v = acc[i * MAX_TN + j];
        if (p.accumulate != 0u) {
          v = c[idx] + v;
        }
        c[idx] = v;
      }
    }
  }
}
