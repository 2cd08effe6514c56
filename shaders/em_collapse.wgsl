// em_collapse.wgsl: Euler–Maruyama integration of many SDE paths of one model over a grid of
// parameter points, measuring collapse on the device (src/backends/js.ts, `simulate`, is the reference).
// One step: x <- x + f(x) dt + sum_k G_k(x) xi_k sqrt(dt), xi the path's normals in draw order
// j = step * M + k (Philox key (seed, 0), counter (j / 4 as 64 bits, global path, global grid point)).
//
// Generated, not standalone: src/webgpu/em-kernel.ts prepends philox.wgsl, a prelude declaring
// `const D`, `const M`, `alias State = array<f32, D>`, `struct Params`, binding 2 (`data`), and the
// model's WGSL (`drift`, `diffusion`, `distance`). Print it with `emKernelSource(model)`. The prelude also
// declares `tanh_precise` for models (Vulkan lets the builtin tanh lose all relative precision near 0,
// which would stall collapsing paths near 1e-7; see PRECISE_MATH in em-kernel.ts).
//
// Bindings (group 0):
//   0  uniform, dynamic offset  Segment (below): which steps this dispatch runs, what it measures
//   1  storage read   array<Params>   one row per grid point of the chunk
//   2  storage read   array<f32>      model data (declared by the prelude)
//   3  storage read   array<f32>      initial condition: mean[0..D) then std[0..D)
//   4  storage rw     array<f32>      path states, component-major: state[i * n_states + k * paths + path]
//   5  storage rw     array<Partial>  per-workgroup partial statistics, [record * groups + group]
//   6  storage rw     array<f32>      sampled trajectories, [k][trace path][sample][component]
//
// Dispatch: one thread per (path, grid point). Grid point k owns workgroups k * groups_per_grid ..
// (k + 1) * groups_per_grid - 1, so each workgroup reduces over a single grid point; threads past
// `paths` idle but take part in the reduction. The workgroup count may be split over (x, y); the
// linear id is wid.y * num_workgroups.x + wid.x, ids >= `groups` return at once.
// A dispatch runs steps s0 .. s1 - 1 in a register-resident loop (the state touches memory once per
// dispatch); the host ends a dispatch at every record step, where the kernel measures.
//
// Override constants:
//   WG  workgroup size, a power of two (default 64)
//
// Numerics: f32 throughout (the reference rounds to f32 once per step, after summing in f64).
// Measurement follows the reference exactly: diverged if any component or the distance is not
// finite (tested on the bit pattern: WGSL does not promise isnan), else collapsed when
// distance < epsilon (epsilon rounded up to f32, which preserves the f64 comparison), and f32 sums
// of distance, distance², ln(max(distance, 2^-126)) per workgroup; the host adds them in f64.

override WG: u32 = 64u;

const FLAG_INIT: u32 = 1u;          // initialise the state from the init stream before stepping
const FLAG_MEASURE: u32 = 2u;       // measure at s1 into record `record`
const FLAG_TRACE_END: u32 = 4u;     // the last dispatch: also trace step s1 (= steps)
const FLAG_INIT_SHARED: u32 = 8u;   // initial draws shared across the grid (counter word c3 = 0)

struct Segment {
  s0: u32,
  s1: u32,
  record: u32,
  flags: u32,
  j_lo: u32,              // draw index of step s0 (s0 * M), 64 bits
  j_hi: u32,
  seed: u32,
  paths: u32,             // paths per grid point in this chunk
  path_base: u32,         // global path index of the chunk's path 0
  grid_base: u32,         // global grid index of the chunk's grid point 0
  trace_path_base: u32,   // job-local path index of the chunk's path 0 (trace rows are job-local)
  groups_per_grid: u32,
  groups: u32,
  n_states: u32,
  trace_paths: u32,       // 0: no trace
  trace_every: u32,
  trace_samples: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  dt: f32,
  sqrt_dt: f32,
  epsilon: f32,
  _pad3: f32,
}

struct Partial {
  collapsed: u32,
  diverged: u32,
  sum_dist: f32,
  sum_dist2: f32,
  sum_log: f32,
}

@group(0) @binding(0) var<uniform> seg: Segment;
@group(0) @binding(1) var<storage, read> params: array<Params>;
@group(0) @binding(3) var<storage, read> init_ms: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<f32>;
@group(0) @binding(5) var<storage, read_write> partials: array<Partial>;
@group(0) @binding(6) var<storage, read_write> trace: array<f32>;

var<workgroup> red_f: array<vec3f, WG>;
var<workgroup> red_u: array<vec2u, WG>;

fn is_finite_f32(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

fn initial_state(gp: u32, gk: u32) -> State {
  let c3 = select(gk, 0u, (seg.flags & FLAG_INIT_SHARED) != 0u);
  var x: State;
  var nrm = vec4f(0.0);
  for (var i = 0u; i < D; i++) {
    if ((i & 3u) == 0u) {
      nrm = philox_normals(vec4u(i >> 2u, 0u, gp, c3), seg.seed, 1u);
    }
    x[i] = init_ms[i] + init_ms[D + i] * nrm[i & 3u];
  }
  return x;
}

fn write_trace(x: State, k: u32, trace_path: u32, s: u32) {
  let at = ((k * seg.trace_paths + trace_path) * seg.trace_samples + s / seg.trace_every) * D;
  for (var i = 0u; i < D; i++) {
    trace[at + i] = x[i];
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  if (group >= seg.groups) {
    return;
  }
  let k = group / seg.groups_per_grid;
  let path = (group % seg.groups_per_grid) * WG + lid;
  let in_range = path < seg.paths;
  let measure = (seg.flags & FLAG_MEASURE) != 0u;

  var contrib_u = vec2u(0u);
  var contrib_f = vec3f(0.0);
  if (in_range) {
    let p = params[k];
    let gp = seg.path_base + path;
    let gk = seg.grid_base + k;
    let slot = k * seg.paths + path;
    var x: State;
    if ((seg.flags & FLAG_INIT) != 0u) {
      x = initial_state(gp, gk);
    } else {
      for (var i = 0u; i < D; i++) {
        x[i] = state[i * seg.n_states + slot];
      }
    }
    let trace_path = seg.trace_path_base + path;
    let tracing = trace_path < seg.trace_paths;

    var j = vec2u(seg.j_lo, seg.j_hi);
    var nrm = vec4f(0.0);
    var have_block = false;
    for (var s = seg.s0; s < seg.s1; s++) {
      if (tracing && s % seg.trace_every == 0u) {
        write_trace(x, k, trace_path, s);
      }
      let f = drift(x, p);
      var next: State;
      for (var i = 0u; i < D; i++) {
        next[i] = x[i] + f[i] * seg.dt;
      }
      for (var c = 0u; c < M; c++) {
        let lane = j.x & 3u;
        if (lane == 0u || !have_block) {
          let b = philox_block_of(j.x, j.y);
          nrm = philox_normals(vec4u(b.x, b.y, gp, gk), seg.seed, 0u);
          have_block = true;
        }
        let xi = nrm[lane] * seg.sqrt_dt;
        let g = diffusion(x, p, c);
        for (var i = 0u; i < D; i++) {
          next[i] += g[i] * xi;
        }
        j = add_u64(j, 1u);
      }
      x = next;
    }
    if (tracing && (seg.flags & FLAG_TRACE_END) != 0u && seg.s1 % seg.trace_every == 0u) {
      write_trace(x, k, trace_path, seg.s1);
    }
    for (var i = 0u; i < D; i++) {
      state[i * seg.n_states + slot] = x[i];
    }

    if (measure) {
      var finite = true;
      for (var i = 0u; i < D; i++) {
        finite = finite && is_finite_f32(x[i]);
      }
      var dist = 0.0;
      if (finite) {
        dist = distance(x, p);
        finite = is_finite_f32(dist);
      }
      if (!finite) {
        contrib_u = vec2u(0u, 1u);
      } else {
        contrib_u = vec2u(select(0u, 1u, dist < seg.epsilon), 0u);
        contrib_f = vec3f(dist, dist * dist, log(max(dist, 1.1754943508222875e-38)));
      }
    }
  }

  if (measure) {
    red_f[lid] = contrib_f;
    red_u[lid] = contrib_u;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
      if (lid < stride) {
        red_f[lid] += red_f[lid + stride];
        red_u[lid] += red_u[lid + stride];
      }
      workgroupBarrier();
    }
    if (lid == 0u) {
      let r = red_f[0];
      let u = red_u[0];
      partials[seg.record * seg.groups + group] = Partial(u.x, u.y, r.x, r.y, r.z);
    }
  }
}
