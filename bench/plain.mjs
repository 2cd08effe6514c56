// Plain-JS baselines (no library code): what someone would write by hand in Node.

/** n standard normals: Math.random + Box–Muller (both outputs used) into a new Float32Array. */
export function mathRandomNormals(n) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - Math.random(); // (0, 1]
    const u2 = Math.random();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

const TWO_PI = 2 * Math.PI;
const U32 = 2.3283064365386963e-10; // 2^-32

/** xorshift32 seeded per path (never 0). */
function seedOf(seed, path) {
  let s = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(path + 1, 0xc2b2ae35)) >>> 0;
  return s === 0 ? 0x6d2b79f5 : s;
}

export function linspace(a, b, n) {
  return Array.from({ length: n }, (_, i) => (n === 1 ? a : a + ((b - a) * i) / (n - 1)));
}

/**
 * Fig. 1 quartic, Euler–Maruyama: θ ← θ + (μθ − θ³)dt + ζθ√dt z, θ0 ~ N(0, 2²) shared across the grid,
 * xorshift32 + inline Box–Muller (both outputs used), Float32Array state, path by path.
 * Returns the number of paths with θ² < ε at the final step.
 */
export function plainQuartic({ noise, paths, steps, dt, mu = 1.5, epsilon = 1e-30, seed = 1 }) {
  const g = noise.length;
  const state = new Float32Array(g * paths);
  const sdt = Math.sqrt(dt);
  for (let p = 0; p < paths; p++) {
    let s = seedOf(seed, -1 - p);
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const u1 = ((s >>> 0) + 1) * U32;
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * (s >>> 0) * U32);
    for (let k = 0; k < g; k++) state[k * paths + p] = 2 * z;
  }
  let collapsed = 0;
  for (let k = 0; k < g; k++) {
    const zs = noise[k] * sdt;
    for (let p = 0; p < paths; p++) {
      let s = seedOf(seed, k * paths + p);
      let x = state[k * paths + p];
      let spare = 0;
      for (let t = 0; t < steps; t++) {
        let z;
        if (t & 1) {
          z = spare;
        } else {
          s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
          const u1 = ((s >>> 0) + 1) * U32;
          s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
          const r = Math.sqrt(-2 * Math.log(u1));
          const a = TWO_PI * (s >>> 0) * U32;
          z = r * Math.cos(a);
          spare = r * Math.sin(a);
        }
        x = Math.fround(x + (mu * x - x * x * x) * dt + zs * x * z);
      }
      state[k * paths + p] = x;
      if (x * x < epsilon) collapsed++;
    }
  }
  return collapsed;
}

/**
 * Fig. 2 single neuron f(x) = w2 tanh(w1 x) on m points, dw = −∇L dt + √(2α/m) Σ_i ∇f(x_i) dB_i:
 * m tanh and m normals per path-step, same RNG as `plainQuartic`. Returns the paths with ‖w‖ < ε at the end.
 */
export function plainNeuron({ noise, paths, steps, dt, m = 32, epsilon = 1e-2, seed = 1 }) {
  const x = new Float32Array(m);
  const y = new Float32Array(m);
  let s0 = seedOf(seed, -123456);
  const normal0 = () => {
    s0 ^= s0 << 13; s0 ^= s0 >>> 17; s0 ^= s0 << 5;
    const u1 = ((s0 >>> 0) + 1) * U32;
    s0 ^= s0 << 13; s0 ^= s0 >>> 17; s0 ^= s0 << 5;
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * (s0 >>> 0) * U32);
  };
  for (let i = 0; i < m; i++) { x[i] = normal0(); y[i] = x[i] + 0.1 * normal0(); }
  const w0 = new Float32Array(2 * paths);
  for (let i = 0; i < 2 * paths; i++) w0[i] = 1e-3 * normal0();
  const state = new Float32Array(2 * noise.length * paths);
  const sdt = Math.sqrt(dt);
  let collapsed = 0;
  for (let k = 0; k < noise.length; k++) {
    const c = Math.sqrt((2 * noise[k]) / m) * sdt;
    for (let p = 0; p < paths; p++) {
      let s = seedOf(seed, k * paths + p);
      let w1 = w0[2 * p];
      let w2 = w0[2 * p + 1];
      for (let t = 0; t < steps; t++) {
        let d1 = 0;
        let d2 = 0;
        let n1 = 0;
        let n2 = 0;
        for (let i = 0; i < m; i += 2) {
          s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
          const u1 = ((s >>> 0) + 1) * U32;
          s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
          const r = Math.sqrt(-2 * Math.log(u1));
          const a = TWO_PI * (s >>> 0) * U32;
          for (let j = 0; j < 2 && i + j < m; j++) {
            const z = j === 0 ? r * Math.cos(a) : r * Math.sin(a);
            const xi = x[i + j];
            const th = Math.tanh(w1 * xi);
            const g1 = w2 * (1 - th * th) * xi;
            const res = w2 * th - y[i + j];
            d1 -= res * g1;
            d2 -= res * th;
            n1 += g1 * z;
            n2 += th * z;
          }
        }
        w1 = Math.fround(w1 + (d1 / m) * dt + c * n1);
        w2 = Math.fround(w2 + (d2 / m) * dt + c * n2);
      }
      state[2 * (k * paths + p)] = w1;
      state[2 * (k * paths + p) + 1] = w2;
      if (Math.hypot(w1, w2) < epsilon) collapsed++;
    }
  }
  return collapsed;
}
