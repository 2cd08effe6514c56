/**
 * teacher_student_sgd: `steps` SGD steps of the diagonal linear teacher–student model with label noise
 * (PAPER.md §2.5 and Fig. 5, `run/run_teacher_student_diagonal.py`) for many independent runs at once. A run
 * (row q) holds M modes; mode i has the student's singular-value factors s_u, s_v and the empirical teacher's
 * singular value ŝ*_i. One step, on pre-update values (in f32, each line's operations in this order):
 *   r   = fma(σ_g, ξ, fma(s_v, s_u, −ŝ*_i))        residual with fresh label noise σ_g ξ
 *   g   = h · r                                     h = lr / N
 *   s_v = fma(−g, s_u, s_v),   s_u = fma(−g, s_v, s_u)
 * Rows come in G groups of `seeds` rows: row q = g·seeds + j uses σ_g = sigma[g] and the noise of seed j, so
 * every group sees the same noise (common random numbers across label-noise levels, as the paper's
 * `torch.manual_seed(run)`). ξ of (seed j, global step t, mode i) is normal draw i of the Philox stream
 * (seed, stream) with counter words c2 = j, c3 = t: a result depends on the seed and the step, never on how
 * the steps are cut into runs or spread over threads.
 *
 * Inputs: sStar f32 [M], sigma f32 [G]. Outputs: su, sv f32 [G·seeds·M], READ AND UPDATED IN PLACE (the state),
 * and features f32 [G·seeds, 2M] = (s_1 … s_M, s_1² … s_M²) with s = s_v·s_u after the last step, written
 * completely: what the readouts (means over seeds, the losses) take by matmul.
 * - webgpu: shaders/teacher_student_sgd.wgsl, one thread per (row, block of 4 modes).
 * - native: native/teacher_student_sgd.cc, rows over the pool, 16 Philox blocks at a time in AVX2.
 * - js: the core below.
 */
import { invalidArgument } from '../errors.js';
import { normalsOfBlock } from '../rng/philox.js';
import { finiteNumber, integerIn, MAX_U32, plainObject } from '../validate.js';
import { fma64, fmaf } from './sgd_update.js';
import { MAX_ELEMENTS } from './tensor.js';
import { sizeOf, type KernelSpec, type TensorInfo } from './types.js';

export interface TeacherStudentSgdParams {
  /** Rows per label-noise group (independent runs); row q draws the noise of seed q mod seeds. */
  readonly seeds: number;
  /** Steps of this run (0: only the features of the current state). */
  readonly steps: number;
  /** Global index of the first step (Philox counter word c3 of its noise); first + steps ≤ 2^32. */
  readonly firstStep: number;
  /** The SGD step h = lr / N (finite, ≥ 0). */
  readonly h: number;
  /** Philox key word 0. */
  readonly seed: number;
  /** Philox key word 1. */
  readonly stream: number;
}

/** Philox stream of the teacher–student label noise (streams 0–2 are the SDE kernels'; see src/sde/job.ts). */
export const TEACHER_STUDENT_STREAM = 3;

/** Workgroup size of shaders/teacher_student_sgd.wgsl. */
const WG = 64;

interface Shape { modes: number; groups: number; rows: number; blocks: number }

function shapeOf(p: TeacherStudentSgdParams, inputs: readonly TensorInfo[]): Shape {
  const modes = sizeOf(inputs[0].shape);
  const groups = sizeOf(inputs[1].shape);
  return { modes, groups, rows: groups * p.seeds, blocks: Math.ceil(modes / 4) };
}

const threadsOf = (p: TeacherStudentSgdParams, inputs: readonly TensorInfo[]) => {
  const s = shapeOf(p, inputs);
  return s.rows * s.blocks;
};

function resolve(p: TeacherStudentSgdParams): TeacherStudentSgdParams {
  plainObject('teacher_student_sgd params', p);
  integerIn('teacher_student_sgd seeds', p.seeds, 1, MAX_U32);
  const steps = integerIn('teacher_student_sgd steps', p.steps, 0, MAX_U32);
  integerIn('teacher_student_sgd firstStep', p.firstStep, 0, 2 ** 32 - steps);
  const h = finiteNumber('teacher_student_sgd h', p.h);
  if (h < 0 || !Number.isFinite(Math.fround(h))) throw invalidArgument('teacher_student_sgd h', p.h, 'a finite number ≥ 0 (finite in f32)');
  integerIn('teacher_student_sgd seed', p.seed, 0, MAX_U32);
  integerIn('teacher_student_sgd stream', p.stream, 0, MAX_U32);
  return p;
}

type Out = { [i: number]: number };

/**
 * The reference: `steps` steps over every row, then the features. With `f32` (the kernels' arithmetic) every
 * operation rounds to f32 (fmaf for the fused ones) and ξ is rounded to f32; without, everything is f64 (for
 * hand checks and statistics of the model itself).
 * @example
 * const su = [1], sv = [1], features = [0, 0];
 * teacherStudentSgdCore({ seeds: 1, steps: 1, firstStep: 0, h: 0.1, seed: 1, stream: 3 }, [0.5], [0], su, sv, features, false);
 * // σ = 0: r = 1·1 − 0.5 = 0.5, g = 0.05, s_u = s_v = 0.95, features = [0.9025, 0.9025²]
 */
export function teacherStudentSgdCore(p: TeacherStudentSgdParams, sStar: ArrayLike<number>, sigma: ArrayLike<number>,
  su: Out, sv: Out, features: Out, f32: boolean): void {
  const M = sStar.length, G = sigma.length, rows = G * p.seeds, blocks = Math.ceil(M / 4);
  const fma = f32 ? fmaf : fma64;
  const round = f32 ? Math.fround : (x: number) => x;
  const h = round(p.h);
  const scratch = new Uint32Array(4);
  const xi = new Float64Array(4 * blocks);
  for (let q = 0; q < rows; q++) {
    const s = sigma[Math.floor(q / p.seeds)];
    const j = q % p.seeds;
    const o = q * M;
    for (let t = 0; t < p.steps; t++) {
      const step = p.firstStep + t;
      for (let b = 0; b < blocks; b++) normalsOfBlock(b, 0, j, step, p.seed, p.stream, scratch, xi, 4 * b);
      for (let i = 0; i < M; i++) {
        const u = su[o + i], v = sv[o + i];
        const z = round(xi[i]);
        const r = fma(s, z, fma(v, u, -sStar[i]));
        const g = round(h * r);
        sv[o + i] = fma(-g, u, v);
        su[o + i] = fma(-g, v, u);
      }
    }
    for (let i = 0; i < M; i++) {
      const value = round(sv[o + i] * su[o + i]);
      features[q * 2 * M + i] = value;
      features[q * 2 * M + M + i] = round(value * value);
    }
  }
}

export const teacherStudentSgd: KernelSpec<TeacherStudentSgdParams> = {
  name: 'teacher_student_sgd',
  summary: 'SGD steps of the diagonal linear teacher–student model with label noise, many runs at once (Fig. 5)',
  fields: [
    { name: 'seeds', type: 'u32', value: (p) => p.seeds },
    { name: 'modes', type: 'u32', value: (p, inputs) => shapeOf(p, inputs).modes },
    { name: 'rows', type: 'u32', value: (p, inputs) => shapeOf(p, inputs).rows },
    { name: 'blocks', type: 'u32', value: (p, inputs) => shapeOf(p, inputs).blocks },
    { name: 'steps', type: 'u32', value: (p) => p.steps },
    { name: 'first_step', type: 'u32', value: (p) => p.firstStep },
    { name: 'h', type: 'f32', value: (p) => Math.fround(p.h) },
    { name: 'seed', type: 'u32', value: (p) => p.seed },
    { name: 'stream', type: 'u32', value: (p) => p.stream },
    { name: 'groups', type: 'u32', value: (p, inputs) => Math.ceil(threadsOf(p, inputs) / WG) },
  ],
  validate(p, inputs: readonly TensorInfo[]): TensorInfo[] {
    resolve(p);
    if (inputs.length !== 2) throw invalidArgument('teacher_student_sgd inputs', `${inputs.length} tensors`, 'two f32 tensors: sStar [modes] and sigma [groups]');
    inputs.forEach((t, i) => {
      if (t.dtype !== 'f32') throw invalidArgument(`teacher_student_sgd ${['sStar', 'sigma'][i]}`, `a ${t.dtype} tensor`, 'an f32 tensor');
    });
    const { modes, rows } = shapeOf(p, inputs);
    if (modes === 0) throw invalidArgument('teacher_student_sgd sStar', '0 elements', 'at least one mode');
    if (sizeOf(inputs[1].shape) === 0) throw invalidArgument('teacher_student_sgd sigma', '0 elements', 'at least one label-noise level');
    if (2 * rows * modes > MAX_ELEMENTS) throw invalidArgument('teacher_student_sgd state', `${rows} rows × ${modes} modes`, `at most ${MAX_ELEMENTS / 2} elements`);
    const state = { dtype: 'f32' as const, shape: [rows, modes] };
    return [state, state, { dtype: 'f32', shape: [rows, 2 * modes] }];
  },
  reference(p, [sStar, sigma], [su, sv, features]) {
    teacherStudentSgdCore(p, sStar, sigma, su, sv, features, true);
  },
  webgpu: {
    shaders: ['philox.wgsl', 'teacher_student_sgd.wgsl'],
    overrides: () => ({ WG }),
    workgroups: (p, inputs) => Math.ceil(threadsOf(p, inputs) / WG),
  },
  // ~0.5 ms is ~2^19 mode-steps on one core (a Philox block and ~10 flops per 4 mode-steps).
  nativeAsync: (p, inputs) => shapeOf(p, inputs).rows * shapeOf(p, inputs).modes * Math.max(p.steps, 1) >= 2 ** 18,
  work: (p, inputs) => shapeOf(p, inputs).rows * shapeOf(p, inputs).modes * p.steps,
  workUnit: 'mode-steps',
};
