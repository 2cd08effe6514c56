import { aborted } from '../errors.js';
import { fillDraws, normalsOfBlock, type Distribution } from '../rng/philox.js';
import { STAT_FIELDS, STREAM, type Backend, type SimJob, type SimStats } from './types.js';

/** ln of the smallest normal f32: the floor of the log-distance moment on every backend. */
export const LOG_FLOOR = Math.log(2 ** -126);

/**
 * The plain-TypeScript backend: obviously correct, slow. It defines what every other backend computes:
 * one Euler–Maruyama step is x ← fround(x + f(x) dt + Σ_k G_k(x) ξ_k √dt), with ξ the path's
 * normals in draw order j = step * m + k (block floor(j/4) of counter (block, path, grid), key (seed, 0)).
 */
export class JsBackend implements Backend {
  readonly info = { name: 'js' as const, device: 'plain TypeScript (reference)', threads: 1 };
  readonly maxStatesPerJob = 1 << 24;

  async random(kind: Distribution, out: Uint32Array | Float32Array, seed: number, stream: number, offset: number): Promise<void> {
    fillDraws(kind, out, seed, stream, offset);
  }

  async simulate(job: SimJob): Promise<SimStats> {
    const { model, steps, dt, record, epsilon, seed, init, trace } = job;
    const { d, m, data } = model;
    const np = model.paramNames.length;
    const stats = new Float64Array(record.length * job.gridCount * STAT_FIELDS);
    const samples = trace ? Math.floor(steps / trace.every) + 1 : 0;
    const traceOut = trace ? new Float32Array(job.gridCount * trace.paths * samples * d) : undefined;
    const sqrtDt = Math.fround(Math.sqrt(dt));
    const x = new Float64Array(d);
    const next = new Float64Array(d);
    const col = new Float64Array(d);
    const scratch = new Uint32Array(4);
    const normals = new Float64Array(4);
    const initNormals = new Float32Array(d);
    let done = 0;
    for (let k = 0; k < job.gridCount; k++) {
      const p = job.params.subarray(k * np, (k + 1) * np);
      const gk = job.gridOffset + k;
      for (let path = 0; path < job.paths; path++) {
        if (job.signal?.aborted) throw aborted('simulation', job.signal.reason);
        const gp = job.pathOffset + path;
        fillDraws('normal', initNormals, seed, STREAM.init, 0, gp, init.shared ? 0 : gk);
        for (let i = 0; i < d; i++) x[i] = Math.fround(init.mean[i] + init.std[i] * initNormals[i]);
        let j = 0; // next noise draw of this path
        let r = 0;
        for (let s = 0; ; s++) {
          while (r < record.length && record[r] === s) {
            measure(model, x, p, epsilon, stats, ((r * job.gridCount) + k) * STAT_FIELDS);
            r++;
          }
          if (traceOut && trace && path < trace.paths && s % trace.every === 0) {
            const at = ((k * trace.paths + path) * samples + s / trace.every) * d;
            for (let i = 0; i < d; i++) traceOut[at + i] = x[i];
          }
          if (s === steps) break;
          model.js.drift(x, p, data, next);
          for (let i = 0; i < d; i++) next[i] = x[i] + next[i] * dt;
          for (let c = 0; c < m; c++, j++) {
            const lane = j & 3;
            if (lane === 0) {
              const b = j / 4;
              normalsOfBlock(b % 0x1_0000_0000, Math.floor(b / 0x1_0000_0000), gp, gk, seed, STREAM.noise, scratch, normals);
            }
            const xi = Math.fround(normals[lane]) * sqrtDt;
            model.js.diffusion(x, p, data, c, col);
            for (let i = 0; i < d; i++) next[i] += col[i] * xi;
          }
          for (let i = 0; i < d; i++) x[i] = Math.fround(next[i]);
        }
        done += steps;
        if ((path & 63) === 63) job.onProgress?.(done);
      }
    }
    job.onProgress?.(done);
    return traceOut ? { stats, trace: traceOut } : { stats };
  }

  close(): void {}
}

function measure(model: SimJob['model'], x: Float64Array, p: Float32Array, epsilon: number, stats: Float64Array, at: number): void {
  let finite = true;
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) finite = false;
  const dist = finite ? Math.fround(model.js.distance(x, p, model.data)) : NaN;
  if (!Number.isFinite(dist)) {
    stats[at + 1] += 1;
    return;
  }
  if (dist < epsilon) stats[at] += 1;
  stats[at + 2] += dist;
  stats[at + 3] += dist * dist;
  stats[at + 4] += Math.log(Math.max(dist, 2 ** -126));
}
