import { beforeAll, describe, expect, it } from 'vitest';
import { encodeStorage, roundToStorage } from '../../dtype';
import type { WeightStorage } from '../../dtype';
import type { Gpu } from '../../runtime';
import { expectClose } from '../../testing/expectClose';
import { rng, uniform } from '../../testing/random';
import { testGpu, upload } from '../../testing/testGpu';
import { countSupervised, createCrossEntropyScratch, crossEntropyChunkRows, crossEntropyForwardBackward, crossEntropyLossSum, IGNORE_INDEX } from './crossentropy';
import { crossEntropyLossRef, crossEntropyRef } from './crossentropy.ref';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

interface Case {
  label: string;
  N: number;
  V: number;
  C: number;
  chunkRows: number;
  /** rows whose label is −100 */
  ignored?: number[];
  /** rows whose label is outside [0, V) and not −100 (NaN loss, zero gradient) */
  invalid?: number[];
  storage?: WeightStorage;
  /** scale E so that the largest |logit| is 100 */
  extreme?: boolean;
  /** pass no staging rows (only valid when every chunk is aligned for binding) */
  noStaging?: boolean;
  /** store the head as row parts [rowStart, rows] */
  splitRows?: [number, number][];
  forwardOnly?: boolean;
}

function makeTargets(c: Case, seed: number): Int32Array {
  const r = rng(seed);
  const t = new Int32Array(c.N);
  for (let i = 0; i < c.N; i++) t[i] = Math.floor(r() * c.V);
  for (const i of c.ignored ?? []) t[i] = IGNORE_INDEX;
  for (const i of c.invalid ?? []) t[i] = c.V + 3;
  return t;
}

async function runCase(c: Case, seed = 1) {
  const storage = c.storage ?? 'f32';
  const h = uniform(c.N * c.C, seed);
  let E = uniform(c.V * c.C, seed + 1);
  if (c.extreme) {
    const { logits } = crossEntropyRef(h, E, new Int32Array(c.N).fill(IGNORE_INDEX), c.N, c.C, c.V, 1);
    const maxAbs = logits.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    E = E.map((x) => (x * 100) / maxAbs);
  }
  const targets = makeTargets(c, seed + 2);
  const supervised = targets.filter((t) => t >= 0 && t < c.V).length;
  const scale = 1 / Math.max(supervised, 1);
  const hT = await upload(gpu, 'h', h, [c.N, c.C]);
  // A row-split head: each part is its own tensor, as the loader makes for a table over one binding.
  const ET = c.splitRows
    ? await Promise.all(c.splitRows.map(async ([start, rows]) => ({ tensor: await upload(gpu, `E[${start}]`, encodeStorage(E.slice(start * c.C, (start + rows) * c.C), storage), [rows, c.C], storage), rowStart: start, rows })))
    : await upload(gpu, 'E', encodeStorage(E, storage), [c.V, c.C], storage);
  const tT = await upload(gpu, 'targets', targets, [c.N], 'i32');
  const lossT = await gpu.createTensor('lossPerRow', [c.N]);
  // Filled with garbage so that a row the kernels forget to write shows up.
  const dhT = c.forwardOnly ? undefined : await upload(gpu, 'dh', uniform(c.N * c.C, 99, 5, 6), [c.N, c.C]);
  const scratch = await createCrossEntropyScratch(gpu, c.chunkRows, c.C, c.V);
  if (c.noStaging) delete scratch.rows;
  crossEntropyForwardBackward(gpu, { h: hT, E: ET, targets: tT, dh: dhT, lossPerRow: lossT, N: c.N, C: c.C, V: c.V, chunkRows: c.chunkRows, scale, scratch });
  const total = await gpu.createTensor('loss', [1]);
  crossEntropyLossSum(gpu, lossT, total, c.N, scale);
  const want = crossEntropyRef(h, roundToStorage(E, storage), targets, c.N, c.C, c.V, scale);
  return {
    loss: await gpu.read(lossT),
    dh: dhT ? await gpu.read(dhT) : null,
    total: (await gpu.read(total))[0]!,
    want,
    wantTotal: crossEntropyLossRef(want.lossPerRow, scale), // NaN when a label is invalid: the guard must see it
    scale,
  };
}

// Logits are f32 sums of C ≤ 40 products of values in [-1, 1]: their rounding error is ~1e-6, which
// carries into lse − logit[t] and into the softmax probabilities relatively. With |logits| up to 100
// the absolute error of each logit grows ~100×, hence the looser extreme tolerance.
const LOSS_TOL = { atol: 2e-5, rtol: 1e-5 };
const LOSS_TOL_EXTREME = { atol: 2e-4, rtol: 1e-5 };
// dh entries are O(scale); probabilities carry ~1e-5 relative error at most (1e-4 when extreme).
const DH_TOL = { atol: 2e-6, rtol: 1e-4 };
const DH_TOL_EXTREME = { atol: 1e-5, rtol: 1e-3 };

const cases: Case[] = [
  { label: 'N 1, V 1, C 5 (a one-word vocabulary: loss and gradient 0)', N: 1, V: 1, C: 5, chunkRows: 1 },
  { label: 'N 7, V 37, C 5, chunks of 3 (staged rows), rows 0 and 4 ignored', N: 7, V: 37, C: 5, chunkRows: 3, ignored: [0, 4] },
  { label: 'N 33, V 513, C 40, chunks of 5, 4 rows ignored', N: 33, V: 513, C: 40, chunkRows: 5, ignored: [1, 2, 17, 32] },
  { label: 'N 33, V 513, C 5, chunks of 7, a label outside the vocabulary', N: 33, V: 513, C: 5, chunkRows: 7, ignored: [3], invalid: [10] },
  { label: 'N 33, V 37, C 40, one chunk larger than N', N: 33, V: 37, C: 40, chunkRows: 64, ignored: [5] },
  { label: 'N 33, V 513, C 40, chunks of 32: every chunk aligned, no staging rows', N: 33, V: 513, C: 40, chunkRows: 32, ignored: [0], noStaging: true },
  { label: 'N 7, V 37, C 5 forward only (no dh)', N: 7, V: 37, C: 5, chunkRows: 2, ignored: [6], forwardOnly: true },
  { label: 'N 9, V 37, C 8, head split by rows into 3 parts (13, 13, 11), chunks of 4', N: 9, V: 37, C: 8, chunkRows: 4, ignored: [2], splitRows: [[0, 13], [13, 13], [26, 11]] },
];

describe('cross entropy (f32 head) against the f64 reference', () => {
  for (const c of cases) {
    it(c.label, async () => {
      const r = await runCase(c);
      expectClose(r.loss, r.want.lossPerRow, LOSS_TOL, `${c.label} lossPerRow`);
      if (r.dh) expectClose(r.dh, r.want.dh, DH_TOL, `${c.label} dh`);
      expectClose([r.total], [r.wantTotal], LOSS_TOL, `${c.label} mean loss`);
    });
  }
});

describe('cross entropy with extreme logits (|logit| up to 100)', () => {
  const extreme: Case[] = [
    { label: 'N 7, V 37, C 5, chunks of 4', N: 7, V: 37, C: 5, chunkRows: 4, ignored: [2], extreme: true },
    { label: 'N 33, V 513, C 40, chunks of 10', N: 33, V: 513, C: 40, chunkRows: 10, ignored: [7, 8], extreme: true },
  ];
  for (const c of extreme) {
    it(c.label, async () => {
      const r = await runCase(c, 5);
      const maxLogit = r.want.logits.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      expect(maxLogit).toBeGreaterThan(99); // the case really is extreme
      expectClose(r.loss, r.want.lossPerRow, LOSS_TOL_EXTREME, `${c.label} lossPerRow`);
      expectClose(r.dh!, r.want.dh, DH_TOL_EXTREME, `${c.label} dh`);
    });
  }
});

describe('cross entropy with half-precision head weights', () => {
  const halves: Case[] = [
    { label: 'bf16x2, N 33, V 513, C 40, chunks of 7', N: 33, V: 513, C: 40, chunkRows: 7, ignored: [4, 30], storage: 'bf16x2' },
    { label: 'bf16x2, N 7, V 37, C 5, chunks of 2 (scalar loads)', N: 7, V: 37, C: 5, chunkRows: 2, ignored: [1], storage: 'bf16x2' },
    { label: 'f16x2, N 7, V 37, C 40, chunks of 3', N: 7, V: 37, C: 40, chunkRows: 3, storage: 'f16x2' },
  ];
  for (const c of halves) {
    it(c.label, async () => {
      // The reference uses the same rounded E, so only f32 arithmetic error remains.
      const r = await runCase(c, 11);
      expectClose(r.loss, r.want.lossPerRow, LOSS_TOL, `${c.label} lossPerRow`);
      expectClose(r.dh!, r.want.dh, DH_TOL, `${c.label} dh`);
    });
  }
});

describe('cross entropy reference', () => {
  it('dh matches central finite differences of scale · Σ lossPerRow', () => {
    const N = 4;
    const C = 3;
    const V = 7;
    const h = Float64Array.from(uniform(N * C, 21, -2, 2));
    const E = Float64Array.from(uniform(V * C, 22, -2, 2));
    const targets = [3, IGNORE_INDEX, 0, 6];
    const scale = 1 / 3;
    const { dh } = crossEntropyRef(h, E, targets, N, C, V, scale);
    const eps = 1e-5;
    const fd = new Float64Array(N * C);
    for (let i = 0; i < N * C; i++) {
      const x = h[i]!;
      h[i] = x + eps;
      const up = crossEntropyLossRef(crossEntropyRef(h, E, targets, N, C, V, scale).lossPerRow, scale);
      h[i] = x - eps;
      const down = crossEntropyLossRef(crossEntropyRef(h, E, targets, N, C, V, scale).lossPerRow, scale);
      h[i] = x;
      fd[i] = (up - down) / (2 * eps);
    }
    // f64 central differences with eps 1e-5: truncation ~eps²·|f'''| ≈ 1e-10, cancellation ~1e-11.
    expectClose(dh, fd, { atol: 1e-8, rtol: 1e-6 }, 'reference dh vs finite differences');
    // The ignored row gets no gradient; the others do.
    expect(dh.slice(C, 2 * C).every((x) => x === 0)).toBe(true);
    expect(dh.slice(0, C).some((x) => x !== 0)).toBe(true);
  });
});

describe('cross entropy helpers', () => {
  it('countSupervised counts labelled rows and names a label outside the vocabulary', () => {
    expect(countSupervised([IGNORE_INDEX, 0, 4, IGNORE_INDEX, 1], 5)).toBe(3);
    expect(() => countSupervised([0, 5], 5)).toThrow(/E008 .*label 5 at row 1/);
    expect(() => countSupervised([-1], 5)).toThrow(/E008 .*label -1 at row 0/);
  });

  it('crossEntropyChunkRows fits the budget and the binding, and aligns chunks when it can', () => {
    const qwen = { N: 4096, C: 1024, V: 151936, maxBindingBytes: 128 * 2 ** 20 };
    const big = crossEntropyChunkRows({ ...qwen, budgetBytes: 2 ** 30 });
    expect(big * qwen.V * 4).toBeLessThanOrEqual(qwen.maxBindingBytes);
    expect((big + 1) * qwen.V * 4).toBeGreaterThan(qwen.maxBindingBytes);
    const small = crossEntropyChunkRows({ ...qwen, budgetBytes: 64 * 2 ** 20 });
    expect(small * (qwen.V + qwen.C) * 4).toBeLessThanOrEqual(64 * 2 ** 20);
    expect(small).toBeGreaterThan(100);
    // C 40: rows of 160 bytes, so a multiple of 8 rows is 256-byte aligned.
    const aligned = crossEntropyChunkRows({ N: 1000, C: 40, V: 513, budgetBytes: 37 * 553 * 4, maxBindingBytes: 2 ** 30 });
    expect(aligned).toBe(32);
    expect(crossEntropyChunkRows({ N: 10, C: 40, V: 513, budgetBytes: 2 ** 30, maxBindingBytes: 2 ** 30 })).toBe(10);
    expect(crossEntropyChunkRows({ N: 10, C: 40, V: 513, budgetBytes: 1, maxBindingBytes: 2 ** 30 })).toBe(1);
  });

  it('refuses unaligned chunks without staging rows', async () => {
    const c: Case = { label: 'unaligned', N: 7, V: 37, C: 5, chunkRows: 3, noStaging: true };
    await expect(runCase(c)).rejects.toThrow(/E008 .*scratch\.rows is missing/);
  });
});
