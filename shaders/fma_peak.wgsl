// fma_peak.wgsl: the device's f32 FMA ceiling for `collapse bench`. Output i is x after `iterations` steps of
// x <- fma(x, a, b) from x0 = (i mod 1024) / 1024 (src/kernels/fma_peak.ts holds the reference; native/fma_peak.cc
// is the CPU twin). Each thread runs 4 vec4 chains (16 outputs: 16 t + 4 c + lane), so every loop trip issues
// 4 independent vector FMAs against one compare-and-branch. 2 FLOP per output per iteration.
//
// Bindings (group 0):
//   0  uniform  Params  (below) n outputs, iterations, a, b, groups
//   1  storage  array<f32>, read_write  out (n)
//
// Dispatch: ceil(n / 16) threads in workgroups of WG; the workgroup count may be split over x and y (limit
// per dimension), the linear id is y * num_workgroups.x + x and ids >= `groups` return at once.
//
// Override constants:
//   WG    workgroup size (default 64)
//
// Numerics: within 1e-6 relative of the reference (the reference rounds x·a + b once per step in f64 → f32;
// fma may round once in f32: the two differ by at most an ulp, and the map contracts when |a| < 1).

override WG: u32 = 64u;

struct Params {
  n: u32,          // outputs
  iterations: u32, // FMA steps per output
  a: f32,
  b: f32,
  groups: u32,     // workgroups that carry work
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

fn start(i: u32) -> f32 {
  return f32(i & 1023u) * (1.0 / 1024.0);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  if (group >= p.groups) {
    return;
  }
  let first = (group * WG + lid) * 16u;
  if (first >= p.n) {
    return;
  }
  var x0 = vec4f(start(first), start(first + 1u), start(first + 2u), start(first + 3u));
  var x1 = vec4f(start(first + 4u), start(first + 5u), start(first + 6u), start(first + 7u));
  var x2 = vec4f(start(first + 8u), start(first + 9u), start(first + 10u), start(first + 11u));
  var x3 = vec4f(start(first + 12u), start(first + 13u), start(first + 14u), start(first + 15u));
  let a = vec4f(p.a);
  let b = vec4f(p.b);
  for (var it = 0u; it < p.iterations; it++) {
    x0 = fma(x0, a, b);
    x1 = fma(x1, a, b);
    x2 = fma(x2, a, b);
    x3 = fma(x3, a, b);
  }
  let xs = array<vec4f, 4>(x0, x1, x2, x3);
  for (var j = 0u; j < 16u; j++) {
    if (first + j < p.n) {
      out[first + j] = xs[j / 4u][j % 4u];
    }
  }
}
