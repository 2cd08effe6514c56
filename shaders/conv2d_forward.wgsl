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
// Override constants: those of gemm_tile.wgsl (prepended; the tile product and its register blocks live there), set
// by the host's conv2dGemmTile (src/kernels/conv2d.ts): TILE_M = 16, 32 or 64 by out_channels, TM = TILE_M / 16,
// TILE_N = 64, TN = 4, TILE_K = 16, so WG = 256. Besides gemm_tile's requirements: WG % TILE_N == 0 and
// WG % TILE_K == 0 (each thread then stages a fixed column of x and a fixed depth slot of w).
//
// Numerics: f32; each output is a sequential fma chain over k = (c, kh, kw) in increasing order (padding taps
// add fma(0, w, acc) = acc exactly), then one add of the bias: |error| <= ~depth * 2^-24 * sum |w||x| + 2^-24 |y|.

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

// Stages (gemm_tile.wgsl), k-major: as_[kk * SA + row] = w[row0 + row][k0 + kk], bs[kk * SB + col] = im2col[k0 + kk][col0 + col].

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

  var acc: array<f32, TILE_ACC>;   // zero-initialised

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
    tile_accumulate(&acc, lid);
    workgroupBarrier();
  }

  for (var jj = 0u; jj < TN; jj++) {
    let col = col0 + tile_col(lid, jj);
    if (col >= p.cols) {
      break;
    }
    let n = col / q_count;
    let q = col % q_count;
    for (var i = 0u; i < TM; i++) {
      let o = row0 + tile_row(lid, i);
      if (o < p.out_channels) {
        y[(n * p.out_channels + o) * q_count + q] = acc[i * MAX_TN + jj] + bias[o];
      }
    }
  }
}
