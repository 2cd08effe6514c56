// conv2d_forward.wgsl: y[n][o][oy][ox] = bias[o] + sum over c, kh, kw of w[o][c][kh][kw] * x[n][c][iy][ix],
// iy = oy * stride - padding + kh, ix = ox * stride - padding + kw, zero outside the image (PyTorch's Conv2d,
// NCHW, cross-correlation). An implicit GEMM with no im2col buffer: rows are output channels o, columns the
// flattened output positions j = (n, oy, ox), depth k = (c, kh, kw); the im2col entries are read from x while
// staging. Each workgroup computes one TILE_M x TILE_N block of (o, j), staging TILE_K of the depth per step
// in workgroup memory; each thread keeps a TM x TN register block.
//
// Bindings (group 0):
//   0  uniform  Params (below)
//   1  storage  array<f32>, read        x       [batch, in_channels, height, width]
//   2  storage  array<f32>, read        w       [out_channels, in_channels, kernel_h, kernel_w]
//   3  storage  array<f32>, read        bias    [out_channels]
//   4  storage  array<f32>, read_write  y       [batch, out_channels, out_h, out_w] (written completely)
//
// Dispatch: `groups` = tiles_m * tiles_n workgroups, tiles_m = ceil(out_channels / TILE_M), tiles_n =
// ceil(cols / TILE_N), cols = batch * out_h * out_w, as a 1-D count that may be split over (x, y); the
// linear id g = wid.y * num_workgroups.x + wid.x is decoded as g = tm * tiles_n + tn, ids >= `groups` return.
//
// Override constants (host: src/kernels/conv2d.ts conv2dGemmTile: TILE_M = 16, 32 or 64 by out_channels,
// TM = TILE_M / 16, TILE_N = 64, TN = 4, TILE_K = 16, so WG = 256). Requirements: TILE_M % TM == 0,
// TILE_N % TN == 0, 1 <= TM, TN <= 8, WG % TILE_N == 0 and WG % TILE_K == 0 (each thread then stages a fixed
// column of x and a fixed depth slot of w), WG the derived value.
//   TILE_M, TILE_N  output block per workgroup (channels x positions)
//   TILE_K          depth per workgroup-memory stage; 4 * TILE_K * (TILE_M + TILE_N + 2) bytes of workgroup memory
//   TM, TN          register block per thread: rows ty + i * (TILE_M / TM), columns tx + j * (TILE_N / TN), so
//                   x reads and y writes of neighbouring threads are neighbouring positions (coalesced)
//   WG              workgroup size, (TILE_M / TM) * (TILE_N / TN) (derived when unset)
//   SA, SB          workgroup-memory row pitches TILE_M + 1 and TILE_N + 1 (derived; leave unset)
//
// Numerics: f32; each output is a sequential fma chain over k = (c, kh, kw) in increasing order (padding taps
// add fma(0, w, acc) = acc exactly), then one add of the bias: |error| <= ~depth * 2^-24 * sum |w||x| + 2^-24 |y|.

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
  depth: u32,      // in_channels * kernel_h * kernel_w: the GEMM's k
  cols: u32,       // batch * out_h * out_w: the GEMM's n
  tiles_m: u32,    // ceil(out_channels / TILE_M)
  tiles_n: u32,    // ceil(cols / TILE_N)
  groups: u32,     // tiles_m * tiles_n
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// Stages, k-major: as_[kk * SA + row] = w[row0 + row][k0 + kk], bs[kk * SB + col] = im2col[k0 + kk][col0 + col].
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

  // The column of x this thread stages at every step (WG % TILE_N == 0): its image and window corner.
  let scol = lid % TILE_N;
  let j = col0 + scol;
  let j_ok = j < p.cols;
  let sn = j / q_count;
  let sq = j % q_count;
  let iy0 = i32((sq / p.out_w) * p.stride) - i32(p.padding);
  let ix0 = i32((sq % p.out_w) * p.stride) - i32(p.padding);
  let x_img = sn * p.in_channels * plane;
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
    // w[row0 .., k0 ..]: consecutive threads read consecutive k of one row.
    let gk_w = k0 + skk;
    for (var row = lid / TILE_K; row < TILE_M; row += WG / TILE_K) {
      let o = row0 + row;
      var v = 0.0;
      if (o < p.out_channels && gk_w < p.depth) {
        v = w[o * p.depth + gk_w];
      }
      as_[skk * SA + row] = v;
    }
    // im2col[k0 .., col0 ..]: consecutive threads read consecutive output positions, i.e. neighbouring x.
    for (var kk = lid / TILE_N; kk < TILE_K; kk += WG / TILE_N) {
      let k = k0 + kk;
      var v = 0.0;
      if (j_ok && k < p.depth) {
        let c = k / taps;
        let t = k % taps;
        let iy = iy0 + i32(t / p.kernel_w);
        let ix = ix0 + i32(t % p.kernel_w);
        if (iy >= 0 && iy < i32(p.height) && ix >= 0 && ix < i32(p.width)) {
          v = x[x_img + c * plane + u32(iy) * p.width + u32(ix)];
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
    let n = col / q_count;
    let q = col % q_count;
    for (var i = 0u; i < TM; i++) {
      let o = row0 + ty + i * threads_m;
      if (o < p.out_channels) {
        y[(n * p.out_channels + o) * q_count + q] = acc[i * MAX_TN + jj] + bias[o];
      }
    }
  }
}
