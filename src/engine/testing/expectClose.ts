/**
 * The one numeric comparison of the test suite. Tolerances are required: |a − e| ≤ atol + rtol·|e|
 * must hold at every index. A failure reports the worst index, both values and the error, and any
 * non-finite value where the expectation is finite fails outright.
 */
export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface CloseReport {
  maxAbsError: number;
  worstIndex: number;
  count: number;
}

export function compareClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): CloseReport & { ok: boolean; message: string } {
  if (actual.length !== expected.length) {
    return { ok: false, message: `length ${actual.length} ≠ expected ${expected.length}`, maxAbsError: Infinity, worstIndex: -1, count: actual.length };
  }
  let worst = -1;
  let worstExcess = -Infinity;
  let maxAbs = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (e === a) continue; // covers equal infinities
    const err = Math.abs(a - e);
    if (!Number.isFinite(err)) return { ok: false, message: `non-finite at [${i}]: actual ${a}, expected ${e}`, maxAbsError: Infinity, worstIndex: i, count: actual.length };
    maxAbs = Math.max(maxAbs, err);
    const excess = err - (tol.atol + tol.rtol * Math.abs(e));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  const ok = worstExcess <= 0;
  const message = ok
    ? `ok (max abs error ${maxAbs.toExponential(2)})`
    : `mismatch at [${worst}]: actual ${actual[worst]}, expected ${expected[worst]}, |err| ${Math.abs(actual[worst]! - expected[worst]!).toExponential(3)} > atol ${tol.atol} + rtol ${tol.rtol}·|e|; max abs error ${maxAbs.toExponential(3)} over ${actual.length} values`;
  return { ok, message, maxAbsError: maxAbs, worstIndex: worst, count: actual.length };
}

/** Throws (failing the test) unless `actual` is close to `expected`. Returns the report for logging. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, label = 'values'): CloseReport {
  const r = compareClose(actual, expected, tol);
  if (!r.ok) throw new Error(`${label}: ${r.message}`);
  return r;
}

/** Relative L2 error ‖a − e‖ / max(‖e‖, tiny): the per-tensor gradient criterion. */
export function relativeL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i]! - expected[i]!;
    num += d * d;
    den += expected[i]! * expected[i]!;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}
