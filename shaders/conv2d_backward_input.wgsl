// conv2d_backward_input.wgsl: the gradient of conv2d_forward's input,
// gx[n][c][iy][ix] = sum over o, kh, kw of w[o][c][kh][kw] * gy[n][o][oy][ox] for every output position whose
// window covers (iy, ix): oy = (iy + padding - kh) / stride when that division is exact and oy < out_h (same for
// x). An implicit GEMM with no col2im buffer: rows are input channels c, columns the flattened input positions
// j = (n, iy, ix), depth k = (o, kh, kw); the entries are read from gy while staging (0 where no window covers).
// Each workgroup computes one TILE_M x TILE_N block of (c, j), staging TILE_K of the depth per step in workgroup
// memory; each thread keeps a TM x TN register block.
//
// Bindings (group 0):
//   0  uniform  Params (below)
//   1  storage  array<f32>, read        gy      [batch, out_channels, out_h, out_w]
//   2  storage  array<f32>, read        w       [out_channels, in_channels, kernel_h, kernel_w]
//   3  storage  array<f32>, read_write  gx      [batch, in_channels, height, width] (written completely)
//
// Dispatch: `groups` = tiles_m * tiles_n workgroups, tiles_m = ceil(in_channels / TILE_M), tiles_n =
// ceil(cols / TILE_N), cols = batch * height * width, as a 1-D count that may be split over (x, y); the
// linear id g = wid.y * num_workgroups.x + wid.x is decoded as g = tm * tiles_n + tn, ids >= `groups` return.
//
// Override constants: as shaders/conv2d_forward.wgsl (host: conv2dGemmTile by in_channels), with the same
// requirements (WG % TILE_N == 0, WG % TILE_K == 0, ...).
//
// Numerics: f32; each output is a sequential fma chain over k = (o, kh, kw) in increasing order (taps that no
// window covers add fma(w, 0, acc) = acc exactly): |error| <= ~depth * 2^-24 * sum |w||gy|. With stride s > 1,
// (s^2 - 1)/s^2 of the depth of each column is such zero taps (work, not error).
override TILE_M: u32 = 64u;
override TILE_N: u32 = 64u;
override TILE_K: u32 = 16u;
override TM: u32 = 4u;
override TN: u32 = 4u;
override WG: u32 = (TILE_M / TM) * (TILE_N / TN);

const MAX_TM: u32 = 8u;
const MAX_TN: u32 = 8u;

struct Params {
  batch: u32,
  in_channels: u32,
  height: u32,
  width: u32,
  out_channels: u32,
  kernel_h: u32,
  kernel_w: u32,
  stride: u32,
  padding: u32,
  out_h: u32,
  out_w: u32,
  depth: u32,      // out_channels * kernel_h * kernel_w: the GEMM's k
  cols: u32,       // batch * height * width: the GEMM's n
  tiles_m: u32,    // ceil(in_channels / TILE_M)
  tiles_n: u32,    // ceil(cols / TILE_N)
  groups: u32,     // tiles_m * tiles_n
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> gx: array<f32>;

// Stages, k-major: as_[kk * SA + row] = w[(k0 + kk) / taps][row0 + row][(k0 + kk) % taps],
// bs[kk * SB + col] = gy tap k0 + kk of column col0 + col.
override SA: u32 = TILE_M + 1u;
override SB: u32 = TILE_N + 1u;
var<workgroup> as_: array<f32, SA * TILE_K>;
var<workgroup> bs: array<f32, SB * TILE_K>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= p.groups) {
    return;
  }
  let tn = g % p.tiles_n;
  let tm = g / p.tiles_n;
  let row0 = tm * TILE_M;
  let col0 = tn * TILE_N;
  let taps = p.kernel_h * p.kernel_w;
  let plane = p.height * p.width;
  let q_count = p.out_h * p.out_w;

  // The input position this thread stages at every step (WG % TILE_N == 0), shifted by the padding:
  // the output row covering it through tap kh is (ty0 - kh) / stride.
  let scol = lid % TILE_N;
  let j = col0 + scol;
  let j_ok = j < p.cols;
  let sn = j / plane;
  let sq = j % plane;
  let ty0 = i32(sq / p.width + p.padding);
  let tx0 = i32(sq % p.width + p.padding);
  let gy_img = sn * p.out_channels * q_count;
  let s = i32(p.stride);
  // The depth slot of w this thread stages at every step (WG % TILE_K == 0).
  let skk = lid % TILE_K;

  let threads_m = TILE_M / TM;
  let threads_n = TILE_N / TN;
  let tx = lid % threads_n;
  let ty = lid / threads_n;

  var acc: array<f32, MAX_TM * MAX_TN>;
  for (var i = 0u; i < MAX_TM * MAX_TN; i++) {
    acc[i] = 0.0;
  }
  var ar: array<f32, MAX_TM>;
  var br: array<f32, MAX_TN>;

  for (var k0 = 0u; k0 < p.depth; k0 += TILE_K) {
    // w as [o][c][tap]: consecutive threads read consecutive taps of one (o, c).
    let gk_w = k0 + skk;
    let o_w = gk_w / taps;
    let t_w = gk_w % taps;
    for (var row = lid / TILE_K; row < TILE_M; row += WG / TILE_K) {
      let c = row0 + row;
      var v = 0.0;
      if (c < p.in_channels && gk_w < p.depth) {
        v = w[(o_w * p.in_channels + c) * taps + t_w];
      }
      as_[skk * SA + row] = v;
    }
    // gy taps: consecutive threads stage consecutive input positions, i.e. neighbouring gy (stride 1).
    for (var kk = lid / TILE_N; kk < TILE_K; kk += WG / TILE_N) {
      let k = k0 + kk;
      var v = 0.0;
      if (j_ok && k < p.depth) {
        let o = k / taps;
        let t = k % taps;
        let ty = ty0 - i32(t / p.kernel_w);
        let tx = tx0 - i32(t % p.kernel_w);
        if (ty >= 0 && tx >= 0 && ty % s == 0 && tx % s == 0) {
          let oy = u32(ty / s);
          let ox = u32(tx / s);
          if (oy < p.out_h && ox < p.out_w) {
            v = gy[gy_img + o * q_count + oy * p.out_w + ox];
          }
        }
      }
      bs[kk * SB + scol] = v;
    }
    workgroupBarrier();

    for (var kk = 0u; kk < TILE_K; kk++) {
      for (var i = 0u; i < TM; i++) {
        ar[i] = as_[kk * SA + ty + i * threads_m];
      }
      for (var jj = 0u; jj < TN; jj++) {
        br[jj] = bs[kk * SB + tx + jj * threads_n];
      }
      for (var i = 0u; i < TM; i++) {
        for (var jj = 0u; jj < TN; jj++) {
          acc[i * MAX_TN + jj] = fma(ar[i], br[jj], acc[i * MAX_TN + jj]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var jj = 0u; jj < TN; jj++) {
    let col = col0 + tx + jj * threads_n;
    if (col >= p.cols) {
      break;
    }
    let n = col / plane;
    let q = col % plane;
    for (var i = 0u; i < TM; i++) {
      let c = row0 + ty + i * threads_m;
      if (c < p.in_channels) {
        gx[(n * p.in_channels + c) * plane + q] = acc[i * MAX_TN + jj];
      }
    }
  }
}
