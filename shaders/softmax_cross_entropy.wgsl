// softmax_cross_entropy.wgsl: mean softmax cross-entropy of logits z [N, K] against labels (u32 [N]) or soft
// targets (f32 [N, K], bound as u32 words and bitcast), its gradient and the count of correct rows. Per row:
//   m = max z (the first maximum: ties go to the lowest index), s = sum_k exp(z_k - m), log_s = log(s),
//   loss = sum_k t_k * ((m - z_k) + log_s) (labels: (m - z_label) + log_s),  grad_k = (exp(z_k - m) / s * tsum - t_k) / N,  tsum = sum_k t_k,
// with t the one-hot row of the label or the soft row. stats = [sum of row losses / N, rows whose argmax z
// equals the label (soft: the target row's first argmax)]; N = 0 gives [0, 0]. A label >= K makes its row's
// loss and gradient NaN (the mean loss is then NaN) and the row never counts as correct.
// src/kernels/softmax_cross_entropy.ts holds the reference; native/softmax_cross_entropy.cc is the CPU twin.
//
// Bindings (group 0):
//   0  uniform  Params  (below)
//   1  storage  array<f32>, read        logits (N * K)
//   2  storage  array<u32>, read        targets: labels (N) when soft = 0, f32 bit patterns (N * K) when soft = 1
//   3  storage  array<f32>, read_write  grad (N * K)
//   4  storage  array<f32>, read_write  stats (2)
//
// Dispatch: exactly one workgroup: thread t handles rows t, t + WG, ... (the batch is a few hundred to a few
// thousand rows); the row losses and counts are added per thread, then as a fixed binary tree.
//
// Override constants:
//   WG    workgroup size, a power of two (default 256)
//
// Numerics: f32 with the device's exp and log (WGSL: exp within 3 + 2|x| ulp, log within 2^-21 absolute near
// 1); the count is exact (identical comparisons on every backend).

override WG: u32 = 256u;

struct Params {
  batch: u32,      // N rows
  classes: u32,    // K logits per row
  soft: u32,       // 1: targets are f32 rows; 0: u32 labels
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

var<workgroup> red: array<vec2<f32>, WG>;

// Target probability k of row i (label = the row's label, unused for soft rows).
fn target_of(i: u32, k: u32, label: u32) -> f32 {
  if (p.soft != 0u) {
    return bitcast<f32>(targets[i * p.classes + k]);
  }
  return select(0.0, 1.0, k == label);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let K = p.classes;
  let rows = f32(p.batch);
  // A NaN the compiler cannot fold away (WGSL has no NaN literal); p.classes >= 1.
  let nan = bitcast<f32>(0x7fc00000u | (p.classes & 0u));
  var loss = 0.0;
  var correct = 0.0;
  for (var i = lid; i < p.batch; i += WG) {
    let row = i * K;
    var best = 0u;
    var m = logits[row];
    for (var k = 1u; k < K; k++) {
      let z = logits[row + k];
      if (z > m) {
        m = z;
        best = k;
      }
    }
    var label = 0u;
    if (p.soft == 0u) {
      label = targets[i];
    }
    var s = 0.0;
    var tsum = 0.0;
    var want = 0u;
    var t_best = target_of(i, 0u, label);
    for (var k = 0u; k < K; k++) {
      s += exp(logits[row + k] - m);
      let t = target_of(i, k, label);
      tsum += t;
      if (t > t_best) {
        t_best = t;
        want = k;
      }
    }
    let log_s = log(s);
    let bad = p.soft == 0u && label >= K;
    // Labels: the one term directly (a -inf logit elsewhere must not give 0 * inf); soft: every term.
    var row_loss = 0.0;
    if (p.soft == 0u && !bad) {
      row_loss = (m - logits[row + label]) + log_s;
    }
    for (var k = 0u; k < K; k++) {
      let z = logits[row + k];
      let t = target_of(i, k, label);
      if (p.soft != 0u) {
        row_loss += t * ((m - z) + log_s);
      }
      grad[row + k] = select((exp(z - m) / s * tsum - t) / rows, nan, bad);
    }
    loss += select(row_loss, nan, bad);
    if (!bad && best == want) {
      correct += 1.0;
    }
  }
  red[lid] = vec2<f32>(loss, correct);
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (lid < h) {
      red[lid] = red[lid] + red[lid + h];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    stats[0] = select(red[0].x / rows, 0.0, p.batch == 0u);
    stats[1] = red[0].y;
  }
}
