// teacher_student_sgd.wgsl: `steps` SGD steps of the diagonal linear teacher–student model with label noise
// (PAPER.md §2.5, Fig. 5) for rows = groups × seeds independent runs of `modes` modes each, in place, then the
// features (s, s²) of every mode, s = s_v·s_u. One step on pre-update values, mode i of row q = g·seeds + j:
//   r = fma(sigma[g], xi, fma(s_v, s_u, -s_star[i]));  g = h·r;  s_v = fma(-g, s_u, s_v);  s_u = fma(-g, s_v, s_u)
// xi is normal draw i of Philox (seed, stream) with counter words c2 = j, c3 = first_step + t: lane i % 4 of
// block i / 4 (src/kernels/teacher_student_sgd.ts is the reference and declares the Params fields; philox.wgsl
// is prepended by the generic launcher).
//
// Bindings (group 0):
//   0  uniform  Params  (below)
//   1  storage  array<f32>, read        s_star (modes)
//   2  storage  array<f32>, read        sigma (groups): the label-noise std of each group of rows
//   3  storage  array<f32>, read_write  su (rows × modes): read and updated in place
//   4  storage  array<f32>, read_write  sv (rows × modes): read and updated in place
//   5  storage  array<f32>, read_write  features (rows × 2·modes): s then s², written
//
// Dispatch: one thread per (row, block of 4 modes), rows × blocks threads in workgroups of WG; the workgroup
// count may be split over x and y (limit per dimension), the linear id is y * num_workgroups.x + x and
// ids >= `groups` return at once. A thread keeps its 4 modes in registers for all `steps` steps.
//
// Override constants:
//   WG    workgroup size (default 64)
//
// Numerics: f32. The normals differ from the reference's (f64 Box–Muller rounded to f32) by up to 2e-5
// absolute (philox.wgsl); each step then adds about one ulp per line (lavapipe's fma() may be unfused).
// Over K steps the state differs from the reference by ≲ K·(h·sigma·2e-5 + 4 ulp)·|s| (the dynamics contract).

override WG: u32 = 64u;

struct Params {
  seeds: u32,       // rows per label-noise group
  modes: u32,
  rows: u32,        // groups × seeds
  blocks: u32,      // ceil(modes / 4)
  steps: u32,
  first_step: u32,  // Philox counter word c3 of the first step
  h: f32,           // lr / N
  seed: u32,
  stream: u32,
  groups: u32,      // workgroups that carry work
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> s_star: array<f32>;
@group(0) @binding(2) var<storage, read> sigma: array<f32>;
@group(0) @binding(3) var<storage, read_write> su: array<f32>;
@group(0) @binding(4) var<storage, read_write> sv: array<f32>;
@group(0) @binding(5) var<storage, read_write> features: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  if (group >= p.groups) {
    return;
  }
  let t = group * WG + lid;
  if (t >= p.rows * p.blocks) {
    return;
  }
  let q = t / p.blocks;
  let b = t % p.blocks;
  let noise = sigma[q / p.seeds];
  let j = q % p.seeds;
  let base = q * p.modes;
  let i0 = 4u * b;
  var u = vec4f(0.0);
  var v = vec4f(0.0);
  var s_target = vec4f(0.0);
  for (var l = 0u; l < 4u; l++) {
    if (i0 + l < p.modes) {
      u[l] = su[base + i0 + l];
      v[l] = sv[base + i0 + l];
      s_target[l] = s_star[i0 + l];
    }
  }
  for (var s = 0u; s < p.steps; s++) {
    let xi = philox_normals(vec4u(b, 0u, j, p.first_step + s), p.seed, p.stream);
    let r = fma(vec4f(noise), xi, fma(v, u, -s_target));
    let g = p.h * r;
    let nv = fma(-g, u, v);
    u = fma(-g, v, u);
    v = nv;
  }
  let row = q * 2u * p.modes;
  for (var l = 0u; l < 4u; l++) {
    let i = i0 + l;
    if (i < p.modes) {
      su[base + i] = u[l];
      sv[base + i] = v[l];
      let value = v[l] * u[l];
      features[row + i] = value;
      features[row + p.modes + i] = value * value;
    }
  }
}
