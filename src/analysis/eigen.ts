/**
 * Eigenvalues of a real symmetric matrix in f64: Householder reduction to tridiagonal form, then the implicit QL
 * iteration with Wilkinson shifts (the classical tred2/tql1 pair, eigenvalues only). O(n³), n up to a few thousand.
 * Used for the singular values of a layer's neuron matrix (as square roots of its Gram matrix's eigenvalues).
 */

/**
 * The eigenvalues of the n × n symmetric matrix `a` (row-major; only the lower triangle is read; `a` is
 * overwritten), in ascending order.
 * @example
 * symmetricEigenvalues(Float64Array.of(2, 1, 1, 2), 2); // [1, 3]
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalize(a, n, d, e);
  ql(d, e, n);
  return d.sort();
}

/** Householder: a → tridiagonal with diagonal d and subdiagonal e[1..n−1] (e[0] = 0). */
function tridiagonalize(a: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    const row = i * n;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k <= l; k++) scale += Math.abs(a[row + k]);
      if (scale === 0) {
        e[i] = a[row + l];
      } else {
        for (let k = 0; k <= l; k++) {
          a[row + k] /= scale;
          h += a[row + k] * a[row + k];
        }
        const f = a[row + l];
        const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        a[row + l] = f - g;
        let ff = 0;
        for (let j = 0; j <= l; j++) {
          // p = A·u / h, with u the Householder vector stored in row i.
          let g2 = 0;
          const rj = j * n;
          for (let k = 0; k <= j; k++) g2 += a[rj + k] * a[row + k];
          for (let k = j + 1; k <= l; k++) g2 += a[k * n + j] * a[row + k];
          e[j] = g2 / h;
          ff += e[j] * a[row + j];
        }
        const hh = ff / (h + h);
        for (let j = 0; j <= l; j++) {
          const f2 = a[row + j];
          const g3 = (e[j] -= hh * f2);
          const rj = j * n;
          for (let k = 0; k <= j; k++) a[rj + k] -= f2 * e[k] + g3 * a[row + k];
        }
      }
    } else {
      e[i] = a[row + l];
    }
    d[i] = h;
  }
  for (let i = 0; i < n; i++) d[i] = a[i * n + i];
}

/** Implicit QL on the tridiagonal (d, e): d becomes the eigenvalues. */
function ql(d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  if (n > 0) e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (++iterations > 60) throw new Error('symmetricEigenvalues: the QL iteration did not converge');
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
      let s = 1, c = 1, p = 0;
      let i = m - 1;
      for (; i >= l; i--) {
        let f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= p;
          e[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        f = 0;
      }
      if (r === 0 && i >= l) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
}
