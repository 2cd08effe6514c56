// philox_fill.wgsl: fills a buffer with draws offset .. offset + n - 1 of the Philox stream (seed, stream),
// counter words c2 = c3 = 0: raw u32s, uniforms in (0, 1) or standard normals (src/rng/philox.ts,
// `fillDraws`, is the reference; src/kernels/philox_fill.ts declares the Params fields). Prepended with
// philox.wgsl by the generic launcher (src/backends/webgpu.ts).
//
// Bindings (group 0):
//   0  uniform  Params  (below) the kind of draw, the first block (64-bit), lane of the first draw, n, key
//   1  storage  array<u32>, read_write  out[i] = draw offset + i (f32 results stored as their bits)
//
// Dispatch: one thread per Philox block touched by the tile, ceil((lane0 + n) / 4) threads, in
// workgroups of WG; the workgroup count may be split over x and y (limit per dimension), the
// linear workgroup id is y * num_workgroups.x + x and groups past `groups` return at once.
// The host (engine.random) cuts requests larger than one tensor into runs with their own offsets, so
// cutting never changes the draws.
//
// Override constants:
//   WG    workgroup size (default 64)
//
// Numerics: u32 and uniform are bit-identical to the reference; normals within 2e-5 absolute
// (see philox.wgsl).

override WG: u32 = 64u;

struct Params {
  kind: u32,       // 0 = u32, 1 = uniform, 2 = normal
  block_lo: u32,   // first block index, floor(offset / 4), low word
  block_hi: u32,   // ... high word
  lane0: u32,      // offset % 4: draws before it in the first block are skipped
  n: u32,          // draws in this tile
  seed: u32,
  stream: u32,
  groups: u32,     // workgroups that carry work
}

@group(0) @binding(0) var<uniform> rp: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  if (group >= rp.groups) {
    return;
  }
  let t = group * WG + lid;
  let first = 4u * t;                     // draw index (relative to the tile's first block) of lane 0
  if (first >= rp.lane0 + rp.n) {
    return;
  }
  let block = add_u64(vec2u(rp.block_lo, rp.block_hi), t);
  let bits = philox4x32(vec4u(block.x, block.y, 0u, 0u), rp.seed, rp.stream);
  var values: vec4u;
  if (rp.kind == 0u) {
    values = bits;
  } else if (rp.kind == 1u) {
    values = vec4u(bitcast<u32>(uniform_from_u32(bits.x)), bitcast<u32>(uniform_from_u32(bits.y)),
                   bitcast<u32>(uniform_from_u32(bits.z)), bitcast<u32>(uniform_from_u32(bits.w)));
  } else {
    values = bitcast<vec4u>(vec4f(box_muller(bits.x, bits.y), box_muller(bits.z, bits.w)));
  }
  for (var l = 0u; l < 4u; l++) {
    let j = first + l;
    if (j >= rp.lane0 && j - rp.lane0 < rp.n) {
      out[j - rp.lane0] = values[l];
    }
  }
}
