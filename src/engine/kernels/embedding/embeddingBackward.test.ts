import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../runtime';
import { expectClose } from '../../testing/expectClose';
import { normal, rng } from '../../testing/random';
import { testGpu, upload } from '../../testing/testGpu';
import { embeddingBackwardRef, embeddingRef } from './embedding.ref';
import { embeddingBackward, groupTokenIds } from './embeddingBackward';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

// Same additions in the same order as the reference: the result is bit-exact.
const EXACT = { atol: 0, rtol: 0 };

async function runBackward(ids: number[], dOut: Float32Array, V: number, C: number, opts: { start?: Float32Array; accumulate?: boolean; rowStart?: number } = {}) {
  const g = groupTokenIds(ids);
  const U = g.unique.length;
  const N = ids.length;
  const dTable = await upload(gpu, 'dE', opts.start ?? new Float32Array(V * C), [V, C]);
  embeddingBackward(gpu, {
    unique: await upload(gpu, 'uniq', g.unique, [Math.max(U, 1)], 'u32'),
    offsets: await upload(gpu, 'offsets', g.offsets, [U + 1], 'u32'),
    positions: await upload(gpu, 'pos', g.positions, [Math.max(N, 1)], 'u32'),
    U,
    dOut: await upload(gpu, 'dOut', dOut, [N, C]),
    dTable,
    V,
    C,
    rowStart: opts.rowStart,
    accumulate: opts.accumulate,
  });
  return gpu.read(dTable);
}

describe('groupTokenIds', () => {
  it('groups positions by id, ascending, as CSR', () => {
    const g = groupTokenIds([5, 2, 5, 0, 2, 5]);
    expect([...g.unique]).toEqual([0, 2, 5]);
    expect([...g.offsets]).toEqual([0, 1, 3, 6]);
    expect([...g.positions]).toEqual([3, 1, 4, 0, 2, 5]);
  });
  it('an empty batch has no groups', () => {
    const g = groupTokenIds([]);
    expect([g.unique.length, [...g.offsets], g.positions.length]).toEqual([0, [0], 0]);
  });
});

describe('embedding backward (scatter-add without atomics)', () => {
  for (const C of [1, 7, 40, 130]) {
    it(`repeated ids, C ${C}: equals the reference, accumulating onto existing values`, async () => {
      const V = 23;
      const r = rng(C);
      const ids = [0, 22, 3, 3, 3, 22, ...Array.from({ length: 20 }, () => Math.floor(r() * V))];
      const dOut = normal(ids.length * C, 7 + C, 1);
      const start = normal(V * C, 9 + C, 1);
      const got = await runBackward(ids, dOut, V, C, { start, accumulate: true });
      expectClose(got, embeddingBackwardRef(ids, dOut, V, C, start), EXACT, `C ${C}`);
    });
  }

  it('overwrite mode writes the touched rows and leaves the others alone', async () => {
    const V = 9;
    const C = 4;
    const ids = [1, 4, 1];
    const dOut = normal(ids.length * C, 3, 1);
    const start = normal(V * C, 4, 1);
    const got = await runBackward(ids, dOut, V, C, { start, accumulate: false });
    const want = Float32Array.from(start);
    for (const v of [1, 4]) want.fill(0, v * C, (v + 1) * C);
    expectClose(got, embeddingBackwardRef(ids, dOut, V, C, want), EXACT, 'overwrite');
  });

  it('row parts: each part takes only its own ids; together they equal the whole table', async () => {
    const V = 30;
    const C = 5;
    const r = rng(77);
    const ids = Array.from({ length: 40 }, () => Math.floor(r() * V));
    const dOut = normal(ids.length * C, 78, 1);
    const want = embeddingBackwardRef(ids, dOut, V, C);
    const parts = [[0, 12], [12, 30]] as const;
    const got = new Float32Array(V * C);
    for (const [a, b] of parts) got.set(await runBackward(ids, dOut, b - a, C, { rowStart: a, accumulate: true }), a * C);
    expectClose(got, want, EXACT, 'parts');
  });

  it('is the adjoint of the gather: <gather(E), dOut> = <E, backward(dOut)>', async () => {
    const V = 17;
    const C = 6;
    const ids = [3, 16, 3, 0, 9, 9, 9];
    const E = normal(V * C, 5, 1);
    const dOut = normal(ids.length * C, 6, 1);
    const y = embeddingRef(ids, E, V, C);
    const dE = await runBackward(ids, dOut, V, C, { accumulate: true });
    const lhs = y.reduce((s, v, i) => s + v * dOut[i]!, 0);
    const rhs = E.reduce((s, v, i) => s + v * dE[i]!, 0);
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
  });
});
