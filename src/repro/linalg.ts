/**
 * Small dense linear algebra in f64 on the host, for building the teacher–student data of Fig. 5 (PAPER.md §3):
 * Haar-random orthogonal matrices (QR of a Gaussian matrix with the signs of R's diagonal made positive) and the
 * SVD of a 64 × 64 matrix (one-sided Jacobi). Matrices are row-major Float64Arrays.
 */

/** A rows × cols row-major matrix. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function matrix(rows: number, cols: number, data?: ArrayLike<number>): Matrix {
  const d = new Float64Array(rows * cols);
  if (data) d.set(data);
  return { rows, cols, data: d };
}

/** C = op(A)·op(B). */
export function multiply(a: Matrix, b: Matrix, transposeA = false, transposeB = false): Matrix {
  const m = transposeA ? a.cols : a.rows, k = transposeA ? a.rows : a.cols;
  const kb = transposeB ? b.cols : b.rows, n = transposeB ? b.rows : b.cols;
  if (k !== kb) throw new Error(`multiply: inner dimensions ${k} and ${kb} differ`);
  const c = matrix(m, n);
  const A = (i: number, l: number) => (transposeA ? a.data[l * a.cols + i] : a.data[i * a.cols + l]);
  const B = (l: number, j: number) => (transposeB ? b.data[j * b.cols + l] : b.data[l * b.cols + j]);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < k; l++) {
      const v = A(i, l);
      if (v === 0) continue;
      for (let j = 0; j < n; j++) c.data[i * n + j] += v * B(l, j);
    }
  }
  return c;
}

/**
 * The Q of a thin QR decomposition of a rows × cols matrix (rows ≥ cols), by modified Gram–Schmidt applied twice
 * (orthogonal to rounding), with each column's sign chosen so that R's diagonal is positive: applied to a
 * Gaussian matrix this gives a Haar-distributed orthonormal frame (Mezzadri 2007).
 */
export function orthonormalColumns(a: Matrix): Matrix {
  const { rows, cols } = a;
  if (rows < cols) throw new Error('orthonormalColumns: needs rows ≥ cols');
  const q = matrix(rows, cols, a.data);
  const col = new Float64Array(rows);
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < rows; i++) col[i] = q.data[i * cols + j];
    let rjj = 0;
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        let dot = 0;
        for (let i = 0; i < rows; i++) dot += q.data[i * cols + p] * col[i];
        for (let i = 0; i < rows; i++) col[i] -= dot * q.data[i * cols + p];
      }
    }
    let norm = 0;
    for (let i = 0; i < rows; i++) norm += col[i] * col[i];
    rjj = Math.sqrt(norm);
    // R's diagonal is the projection of the original column on q_j: positive by construction of Gram–Schmidt.
    for (let i = 0; i < rows; i++) q.data[i * cols + j] = col[i] / rjj;
  }
  return q;
}

export interface Svd {
  /** Left singular vectors as columns (n × n). */
  readonly u: Matrix;
  /** Singular values, descending. */
  readonly s: Float64Array;
  /** Right singular vectors as columns (n × n): A = U diag(s) Vᵀ. */
  readonly v: Matrix;
}

/**
 * SVD of a square matrix by one-sided Jacobi rotations (Hestenes): columns of A·V are orthogonalised pairwise
 * until every pair's cosine is below 1e-15; the singular values are their norms. Accurate to rounding for the
 * well-scaled 64 × 64 matrices here.
 */
export function svd(a: Matrix): Svd {
  const n = a.cols;
  if (a.rows !== n) throw new Error('svd: square matrices only');
  const w = matrix(n, n, a.data);
  const v = matrix(n, n);
  for (let i = 0; i < n; i++) v.data[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0, beta = 0, gamma = 0;
        for (let i = 0; i < n; i++) {
          const x = w.data[i * n + p], y = w.data[i * n + q];
          alpha += x * x; beta += y * y; gamma += x * y;
        }
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        for (let i = 0; i < n; i++) {
          const x = w.data[i * n + p], y = w.data[i * n + q];
          w.data[i * n + p] = c * x - s * y;
          w.data[i * n + q] = s * x + c * y;
          const vx = v.data[i * n + p], vy = v.data[i * n + q];
          v.data[i * n + p] = c * vx - s * vy;
          v.data[i * n + q] = s * vx + c * vy;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += w.data[i * n + j] ** 2;
    return Math.sqrt(s);
  });
  const order = norms.map((_, j) => j).sort((x, y) => norms[y] - norms[x]);
  const u = matrix(n, n), vs = matrix(n, n), s = new Float64Array(n);
  order.forEach((j, k) => {
    s[k] = norms[j];
    for (let i = 0; i < n; i++) {
      u.data[i * n + k] = norms[j] > 0 ? w.data[i * n + j] / norms[j] : i === k ? 1 : 0;
      vs.data[i * n + k] = v.data[i * n + j];
    }
  });
  return { u, s, v: vs };
}
