// conv2d_backward_weight.wgsl: the gradients of conv2d_forward's weight and bias,
//   gw[o][c][kh][kw] = sum over n, oy, ox of gy[n][o][oy][ox] * x[n][c][oy * stride - padding + kh][ox * stride - padding + kw]
//   gb[o]            = sum over n, oy, ox of gy[n][o][oy][ox]
// (zero outside the image). gw is an implicit GEMM with no im2col buffer: rows o, columns k = (c, kh, kw), depth
// the flattened output positions j = (n, oy, ox), whose im2col entries are read from x while staging. The depth
// (batch * out_h * out_w) is long and gw small, so each workgroup splits its depth SPLIT ways: SPLIT slices of
// threads each accumulate a TILE_M x TILE_N block over their share of every TILE_K stage, then the slices' sums
// are added in slice order through workgroup memory (deterministic: no atomics, no second pass).
//
// Bindings (group 0):
//   0  uniform  Params (below)
//   1  storage  array<f32>, read        x       [batch, in_channels, height, width]
//   2  storage  array<f32>, read        gy      [batch, out_channels, out_h, out_w]
//   3  storage  array<f32>, read_write  gw      [out_channels, in_channels, kernel_h, kernel_w] (written completely)
//   4  storage  array<f32>, read_write  gb      [out_channels] (written completely)
//
// Dispatch: `groups` = tile_groups + out_channels workgroups as a 1-D count that may be split over (x, y); the
// linear id g = wid.y * num_workgroups.x + wid.x is decoded as: g < tile_groups = tiles_m * tiles_n: the gw
// block g = tm * tiles_n + tn (tiles_m = ceil(out_channels / TILE_M), tiles_n = ceil(cols / TILE_N)); else
// gb[g - tile_groups], one workgroup per bias entry; ids >= `groups` return.
//
// Override constants (host: src/kernels/conv2d.ts CONV2D_WEIGHT_TILE: TILE_M = TILE_N = 32, TILE_K = 32, and
// the defaults TM = TN = 4, SPLIT = 4, so WG = 256). Requirements: TILE_M % TM == 0, TILE_N % TN == 0,
// 1 <= TM, TN <= 8, TILE_K % SPLIT == 0, WG % TILE_K == 0, TILE_M * TILE_K and TILE_N * TILE_K multiples of WG
// with at most 8 of each per thread, WG a power of two (the bias reduction), WG the derived value.
//   TILE_M, TILE_N  gw block per workgroup (out channels x (c, kh, kw))
//   TILE_K          depth per workgroup-memory stage; each slice takes TILE_K / SPLIT consecutive entries of it
//   TM, TN          register block per thread; a slice is (TILE_M / TM) * (TILE_N / TN) threads
//   SPLIT           slices per workgroup
//   WG              workgroup size, slice threads * SPLIT (derived when unset)
//   SA, SB, SHARED  workgroup-memory pitches and size (derived; leave unset): the stages and, after the depth
//                   loop, the slices' partial blocks share one array of 4 * SHARED bytes (12 KiB at the defaults)
//
// Numerics: f32. Each gw entry is SPLIT fma chains (slice s takes the entries s * TILE_K / SPLIT .. of every
// stage, in order) added in slice order: |error| <= ~depth * 2^-24 * sum |gy||x|. Each gb entry: every thread
// sums its strided share of the depth in order, then a fixed binary tree: |error| <= ~depth * 2^-24 * sum |gy|.

override TILE_M: u32 = 32u;
override TILE_N: u32 = 32u;
override TILE_K: u32 = 32u;
override TM: u32 = 4u;
override TN: u32 = 4u;
override SPLIT: u32 = 4u;
override WG: u32 = (TILE_M / TM) * (TILE_N / TN) * SPLIT;

const MAX_TM: u32 = 8u;
const MAX_TN: u32 = 8u;
const MAX_LOADS: u32 = 8u;

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
  depth: u32,        // batch * out_h * out_w: the GEMM's k
  cols: u32,         // in_channels * kernel_h * kernel_w: the GEMM's n
  tiles_m: u32,      // ceil(out_channels / TILE_M)
  tiles_n: u32,      // ceil(cols / TILE_N)
  tile_groups: u32,  // tiles_m * tiles_n: the gw workgroups; the next out_channels compute gb
  groups: u32,       // tile_groups + out_channels
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read_write> gw: array<f32>;
@group(0) @binding(4) var<storage, read_write> gb: array<f32>;

// Stages, k-major: wmem[kk * SA + row] = gy of channel row0 + row at depth k0 + kk;
// wmem[SA * TILE_K + kk * SB + col] = im2col entry (column col0 + col) at depth k0 + kk.
override SA: u32 = TILE_M + 1u;
override SB: u32 = TILE_N + 1u;
override SHARED: u32 = max(max((SA + SB) * TILE_K, (SPLIT - 1u) * TILE_M * TILE_N), WG);
var<workgroup> wmem: array<f32, SHARED>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= p.groups) {
    return;
  }
  if (g >= p.tile_groups) {
    bias_row(g - p.tile_groups, lid);
    return;
  }
  let tn = g % p.tiles_n;
  let tm = g / p.tiles_n;
  let row0 = tm * TILE_M;
  let col0 = tn * TILE_N;
  let taps = p.kernel_h * p.kernel_w;
  let plane = p.height * p.width;
  let q_count = p.out_h * p.out_w;
  let sb0 = SA * TILE_K;

  // Every thread stages the same depth slot at every step, for a fixed set of rows and of columns.
  let skk = lid % TILE_K;
  let first = lid / TILE_K;
  let step = WG / TILE_K;
  var b_off: array<u32, MAX_LOADS>;   // c * plane of each staged column
  var b_kh: array<i32, MAX_LOADS>;
  var b_kw: array<i32, MAX_LOADS>;
  var b_ok: array<bool, MAX_LOADS>;
  for (var i = 0u; i < TILE_N / step; i++) {
    let col = col0 + first + i * step;
    let t = col % taps;
    b_ok[i] = col < p.cols;
    b_off[i] = (col / taps) * plane;
    b_kh[i] = i32(t / p.kernel_w) - i32(p.padding);
    b_kw[i] = i32(t % p.kernel_w) - i32(p.padding);
  }

  let slice_threads = (TILE_M / TM) * (TILE_N / TN);
  let slice = lid / slice_threads;
  let l = lid % slice_threads;
  let threads_m = TILE_M / TM;
  let threads_n = TILE_N / TN;
  let tx = l % threads_n;
  let ty = l / threads_n;
  let ks = TILE_K / SPLIT;

  var acc: array<f32, MAX_TM * MAX_TN>;
  for (var i = 0u; i < MAX_TM * MAX_TN; i++) {
    acc[i] = 0.0;
  }
  var ar: array<f32, MAX_TM>;
  var br: array<f32, MAX_TN>;

  for (var k0 = 0u; k0 < p.depth; k0 += TILE_K) {
    // This thread's depth entry: output position (n, oy, ox).
    let j = k0 + skk;
    let j_ok = j < p.depth;
    let n = j / q_count;
    let q = j % q_count;
    let iy0 = i32((q / p.out_w) * p.stride);
    let ix0 = i32((q % p.out_w) * p.stride);
    // gy: consecutive threads read consecutive output positions of one channel.
    for (var row = first; row < TILE_M; row += step) {
      let o = row0 + row;
      var v = 0.0;
      if (j_ok && o < p.out_channels) {
        v = gy[(n * p.out_channels + o) * q_count + q];
      }
      wmem[skk * SA + row] = v;
    }
    // x: consecutive threads read neighbouring input positions of one (c, kh, kw).
    let x_img = n * p.in_channels * plane;
    for (var i = 0u; i < TILE_N / step; i++) {
      var v = 0.0;
      let iy = iy0 + b_kh[i];
      let ix = ix0 + b_kw[i];
      if (j_ok && b_ok[i] && iy >= 0 && iy < i32(p.height) && ix >= 0 && ix < i32(p.width)) {
        v = x[x_img + b_off[i] + u32(iy) * p.width + u32(ix)];
      }
      wmem[sb0 + skk * SB + first + i * step] = v;
    }
    workgroupBarrier();

    for (var kk = slice * ks; kk < (slice + 1u) * ks; kk++) {
      for (var i = 0u; i < TM; i++) {
        ar[i] = wmem[kk * SA + ty + i * threads_m];
      }
      for (var jj = 0u; jj < TN; jj++) {
        br[jj] = wmem[sb0 + kk * SB + tx + jj * threads_n];
      }
      for (var i = 0u; i < TM; i++) {
        for (var jj = 0u; jj < TN; jj++) {
          acc[i * MAX_TN + jj] = fma(ar[i], br[jj], acc[i * MAX_TN + jj]);
        }
      }
    }
    workgroupBarrier();
  }

  // Slices 1 .. SPLIT-1 hand their blocks over; slice 0 adds them in order and stores.
  if (slice > 0u) {
    for (var i = 0u; i < TM; i++) {
      for (var jj = 0u; jj < TN; jj++) {
        wmem[((slice - 1u) * slice_threads + l) * TM * TN + i * TN + jj] = acc[i * MAX_TN + jj];
      }
    }
  }
  workgroupBarrier();
  if (slice == 0u) {
    for (var i = 0u; i < TM; i++) {
      let o = row0 + ty + i * threads_m;
      for (var jj = 0u; jj < TN; jj++) {
        let col = col0 + tx + jj * threads_n;
        var v = acc[i * MAX_TN + jj];
        for (var s = 1u; s < SPLIT; s++) {
          v += wmem[((s - 1u) * slice_threads + l) * TM * TN + i * TN + jj];
        }
        if (o < p.out_channels && col < p.cols) {
          gw[o * p.cols + col] = v;
        }
      }
    }
  }
}

// gb[o]: each thread sums depth entries lid, lid + WG, ... in order, then a binary tree over the threads.
fn bias_row(o: u32, lid: u32) {
  let q_count = p.out_h * p.out_w;
  var sum = 0.0;
  for (var j = lid; j < p.depth; j += WG) {
    sum += gy[((j / q_count) * p.out_channels + o) * q_count + j % q_count];
  }
  wmem[lid] = sum;
  workgroupBarrier();
  for (var span = WG / 2u; span > 0u; span /= 2u) {
    if (lid < span) {
      wmem[lid] += wmem[lid + span];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    gb[o] = wmem[0];
  }
}
