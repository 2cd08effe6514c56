// conv2d_backward_input.wgsl: the gradient of conv2d_forward's input,
// gx[n][c][iy][ix] = sum over o, kh, kw of w[o][c][kh][kw] * gy[n][o][oy][ox] for every output position whose
// window covers (iy, ix): oy = (iy + padding - kh) / stride when that division is exact and oy < out_h (same for
// x). An implicit GEMM with no col2im buffer, split by phase so that no structurally-zero tap is multiplied: the
// input positions of phase (iy0, ix0), iy0 < min(stride, height), ix0 < min(stride, width), are iy = iy0 + my *
// stride, ix = ix0 + mx * stride, and only the taps kh = ry + a * stride, kw = rx + b * stride, with
// ry = (iy0 + padding) % stride, rx likewise, cover them, at oy = (iy0 + padding) / stride + my - a (same for x).
// Per phase: rows are input channels c, columns the phase's positions j = (n, my, mx), depth k = (o, a, b). Each
// workgroup computes one TILE_M x TILE_N block of one phase, staging TILE_K of the depth per step in workgroup
// memory; each thread keeps a TM x TN register block. Stride 1 has the one phase (0, 0) and every tap.
//
// Bindings (group 0):
//   0  uniform  Params (below)
//   1  storage  array<f32>, read        gy      [batch, out_channels, out_h, out_w]
//   2  storage  array<f32>, read        w       [out_channels, in_channels, kernel_h, kernel_w]
//   3  storage  array<f32>, read_write  gx      [batch, in_channels, height, width] (written completely: a phase
//                                               no tap covers gets zeros)
//
// Dispatch: `groups` = tiles_m * (sum over phases of ceil(batch * ny * nx / TILE_N)) workgroups, tiles_m =
// ceil(in_channels / TILE_M), ny = ceil((height - iy0) / stride), nx likewise, phases in (iy0, ix0) row-major
// order, as a 1-D count that may be split over (x, y); the linear id g = wid.y * num_workgroups.x + wid.x is
// decoded as g = t * tiles_m + tm with t the column tile counted over the phases in order; ids >= `groups`
// return.
//
// Override constants: those of gemm_tile.wgsl (prepended), as shaders/conv2d_forward.wgsl sets them (host:
// conv2dGemmTile by in_channels), with the same requirements (WG % TILE_N == 0, WG % TILE_K == 0).
//
// Numerics: f32; each output is a sequential fma chain over its phase's k = (o, a, b) in increasing order (taps
// of windows past the edge of gy add fma(w, 0, acc) = acc exactly): |error| <= ~(out_channels * kernel_h *
// kernel_w) * 2^-24 * sum |w||gy|.

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
  tiles_m: u32,    // ceil(in_channels / TILE_M)
  groups: u32,     // tiles_m * the column tiles of every phase
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> gx: array<f32>;

// Stages (gemm_tile.wgsl), k-major: as_[kk * SA + row] = w at depth k0 + kk of input channel row0 + row,
// bs[kk * SB + col] = gy at depth k0 + kk of the phase's column col0 + col.

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= p.groups) {
    return;
  }
  let tm = g % p.tiles_m;
  let s = p.stride;
  // The phase (iy0, ix0) of this workgroup's column tile t.
  var t = g / p.tiles_m;
  var iy0 = 0u;
  var ix0 = 0u;
  var ny = 0u;
  var nx = 0u;
  var found = false;
  for (var a = 0u; a < min(s, p.height); a++) {
    for (var b = 0u; b < min(s, p.width); b++) {
      let cny = (p.height - a - 1u) / s + 1u;
      let cnx = (p.width - b - 1u) / s + 1u;
      let tiles = (p.batch * cny * cnx - 1u) / TILE_N + 1u;   // batch > 0 when any workgroup runs
      if (t < tiles) {
        iy0 = a;
        ix0 = b;
        ny = cny;
        nx = cnx;
        found = true;
        break;
      }
      t -= tiles;
    }
    if (found) {
      break;
    }
  }
  // The taps covering the phase: kh = ry + a * s for a < nkh (kw likewise).
  let ry = (iy0 + p.padding) % s;
  let rx = (ix0 + p.padding) % s;
  let nkh = select(0u, (p.kernel_h - ry - 1u) / s + 1u, ry < p.kernel_h);
  let nkw = select(0u, (p.kernel_w - rx - 1u) / s + 1u, rx < p.kernel_w);
  let taps = nkh * nkw;
  let depth = p.out_channels * taps;
  let q_phase = ny * nx;
  let cols = p.batch * q_phase;
  let row0 = tm * TILE_M;
  let col0 = t * TILE_N;
  let plane = p.height * p.width;
  let q_count = p.out_h * p.out_w;

  // The position this thread stages at every step (WG % TILE_N == 0): gy row (iy0 + padding) / s + my - a.
  let scol = lid % TILE_N;
  let j = col0 + scol;
  let j_ok = j < cols;
  let sn = j / q_phase;
  let sq = j % q_phase;
  let ty0 = i32((iy0 + p.padding) / s + sq / nx);
  let tx0 = i32((ix0 + p.padding) / s + sq % nx);
  let gy_img = sn * p.out_channels * q_count;
  // The depth slot of w this thread stages at every step (WG % TILE_K == 0).
  let skk = lid % TILE_K;

  var acc: array<f32, TILE_ACC>;   // zero-initialised

  for (var k0 = 0u; k0 < depth; k0 += TILE_K) {
    // w[o][c][kh][kw]: consecutive threads read the consecutive taps of one (o, c) (every s-th one).
    let gk_w = k0 + skk;
    let o_w = gk_w / taps;
    let ab_w = gk_w % taps;
    let kh_w = ry + (ab_w / nkw) * s;
    let kw_w = rx + (ab_w % nkw) * s;
    for (var row = lid / TILE_K; row < TILE_M; row += WG / TILE_K) {
      let c = row0 + row;
      var v = 0.0;
      if (c < p.in_channels && gk_w < depth) {
        v = w[((o_w * p.in_channels + c) * p.kernel_h + kh_w) * p.kernel_w + kw_w];
      }
      as_[skk * SA + row] = v;
    }
    // gy: consecutive threads stage consecutive positions of the phase, i.e. neighbouring gy.
    for (var kk = lid / TILE_N; kk < TILE_K; kk += WG / TILE_N) {
      let k = k0 + kk;
      var v = 0.0;
      if (j_ok && k < depth) {
        let o = k / taps;
        let ab = k % taps;
        let oy = ty0 - i32(ab / nkw);
        let ox = tx0 - i32(ab % nkw);
        if (oy >= 0 && oy < i32(p.out_h) && ox >= 0 && ox < i32(p.out_w)) {
          v = gy[gy_img + o * q_count + u32(oy) * p.out_w + u32(ox)];
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
    if (col >= cols) {
      break;
    }
    let n = col / q_phase;
    let q = col % q_phase;
    let pos = (iy0 + (q / nx) * s) * p.width + ix0 + (q % nx) * s;
    for (var i = 0u; i < TM; i++) {
      let c = row0 + tile_row(lid, i);
      if (c < p.in_channels) {
        gx[(n * p.in_channels + c) * plane + pos] = acc[i * MAX_TN + jj];
      }
    }
  }
}
