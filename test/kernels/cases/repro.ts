/**
 * Conformance entries of the kernels the paper's reproductions add (src/repro/): teacher_student_sgd. The
 * tolerance is a bound on how far an f32 run with the backend's normals can drift from the reference in K steps.
 */
import { lcgArray } from '../../../src/bench/problems.js';
import type { TeacherStudentSgdParams } from '../../../src/kernels/teacher_student_sgd.js';
import type { ConformanceCase, ConformanceEntry } from '../cases.js';

const U = 2 ** -24;
/** Largest difference of a backend's normal from the reference's (philox.wgsl: 2e-5 on lavapipe; native ~2e-6). */
const XI = 3e-5;
/** Largest |ξ| of Box–Muller on Philox uniforms: √(−2 ln 2^-24). */
const XI_MAX = 5.8;

type Case = ConformanceCase<TeacherStudentSgdParams>;

/** State near the balanced start s_u = s_v = 1 of Fig. 5, perturbed so that the two factors differ. */
function tsCase(label: string, modes: number, sigma: number[], p: Omit<TeacherStudentSgdParams, 'seed' | 'stream'>, seed: number): Case {
  const rows = sigma.length * p.seeds;
  const sStar = lcgArray(modes, seed).map((v) => 0.65 + 0.6 * v);
  const su = lcgArray(rows * modes, seed + 1).map((v) => 1 + 0.3 * v);
  const sv = lcgArray(rows * modes, seed + 2).map((v) => 1 + 0.3 * v);
  return { label, params: { ...p, seed: 77 + seed, stream: 3 }, inputs: [sStar, Float32Array.from(sigma)], initial: [su, sv, undefined] };
}

/**
 * Per element (row q, mode i) with A0 = max(|s_u|, |s_v|) at the start, S = |ŝ*_i|, σ = |sigma[g]|: one step maps
 * the state with a gain ≤ γ = 1 + h(2A² + S + σ·ξmax) and adds a local error ≤ h·A·(σ·δξ + 6u(A² + S + σ·ξmax)) + 3u·A
 * (the normal's difference δξ, the rounding of each line); after K steps the difference is ≤ K·local·γ^K, the
 * features s = s_v s_u and s² add their products' rounding. Doubled for the second-order terms.
 */
const teacherStudentSgd: ConformanceEntry<TeacherStudentSgdParams> = {
  cases: () => [
    tsCase('1 mode, 1 row, 0 steps (features only)', 1, [5], { seeds: 1, steps: 0, firstStep: 0, h: 0.01 }, 1),
    tsCase('64 modes (Fig. 5), 3 seeds × 2 σ, 10 steps', 64, [0, 20], { seeds: 3, steps: 10, firstStep: 0, h: 3 / 1024 }, 2),
    tsCase('7 modes (a partial block), 5 seeds, 4 σ, 25 steps from 49 990', 7, [0, 5, 10, 20], { seeds: 5, steps: 25, firstStep: 49_990, h: 3 / 1024 }, 3),
    tsCase('65 rows × 13 modes (straddles the 64-thread workgroup)', 13, [1, 2, 3, 4, 5], { seeds: 13, steps: 3, firstStep: 7, h: 0.02 }, 4),
    tsCase('σ = 0: no noise, 40 steps', 9, [0], { seeds: 2, steps: 40, firstStep: 0, h: 0.05 }, 5),
    tsCase('h = 0 (state unchanged, features only)', 5, [3], { seeds: 2, steps: 6, firstStep: 2 ** 32 - 6, h: 0 }, 6),
  ],
  tolerance(c, o) {
    const [sStar, sigma] = c.inputs;
    const [su, sv] = c.initial as Float32Array[];
    const { seeds, steps: K, h } = c.params;
    const M = sStar.length;
    const bound = (q: number, i: number) => {
      const A0 = Math.max(Math.abs(su[q * M + i]), Math.abs(sv[q * M + i]));
      const S = Math.abs(sStar[i]), s = Math.abs(sigma[Math.floor(q / seeds)]);
      const gain = 1 + h * (2 * A0 * A0 * 1.5 + S + s * XI_MAX);
      const A = A0 * gain ** K;
      const local = h * A * (s * XI + 6 * U * (A * A + S + s * XI_MAX)) + 3 * U * A;
      return { A, state: 2 * K * local * gain ** K };
    };
    if (o < 2) return (idx) => bound(Math.floor(idx / M), idx % M).state + 1e-30;
    return (idx) => {
      const q = Math.floor(idx / (2 * M)), k = idx % (2 * M), i = k % M;
      const { A, state } = bound(q, i);
      const ds = 2 * A * state + U * A * A;
      return (k < M ? ds : 2 * A * A * ds + U * A ** 4) * 2 + 1e-30;
    };
  },
};

export const reproConformance = { teacher_student_sgd: teacherStudentSgd };
