/**
 * Fused output head + cross entropy (loss per row, mean loss, dh) against the f64 CPU reference, built
 * as src/engine/kernels/crossentropy/crossentropy.test.ts builds its cases. The head weight E is
 * stored as packed bf16x2 (SwiftShader has no shader-f16); the reference gets the same rounded E, so
 * only f32 arithmetic error remains.
 */
import { encodeStorage, roundToStorage } from '../../src/engine/dtype';
import type { WeightStorage } from '../../src/engine/dtype';
import { countSupervised, createCrossEntropyScratch, crossEntropyForwardBackward, crossEntropyLossSum, IGNORE_INDEX } from '../../src/engine/kernels/crossentropy/crossentropy';
import { crossEntropyLossRef, crossEntropyRef } from '../../src/engine/kernels/crossentropy/crossentropy.ref';
import { rng, uniform } from '../../src/engine/testing/random';
import { CaseTensors, check } from './check';
import type { SelfTestJob } from './check';

// The tolerances of crossentropy.test.ts, for the same reasons: logits are f32 sums of C ≤ 40 products
// of values in [-1, 1] (~1e-6 rounding), which carries into lse − logit[t] and, relatively, into the
// softmax probabilities; dh entries are O(scale).
const LOSS_TOL = { atol: 2e-5, rtol: 1e-5 };
const DH_TOL = { atol: 2e-6, rtol: 1e-4 };

interface CrossEntropyCase {
  label: string;
  N: number;
  V: number;
  C: number;
  chunkRows: number;
  /** rows whose label is −100 */
  ignored: number[];
  storage: WeightStorage;
  seed: number;
}

const CASES: CrossEntropyCase[] = [
  // 33 rows in chunks of 7: the last chunk is short and chunk offsets are unaligned (staged rows).
  { label: 'bf16x2 head, N 33, V 513, C 40, chunks of 7, rows 4 and 30 ignored', N: 33, V: 513, C: 40, chunkRows: 7, ignored: [4, 30], storage: 'bf16x2', seed: 11 },
  // C 5 is no multiple of 4: the head matmuls read E with scalar (not vec4) loads of packed pairs.
  { label: 'bf16x2 head, N 7, V 37, C 5, chunks of 2, row 1 ignored', N: 7, V: 37, C: 5, chunkRows: 2, ignored: [1], storage: 'bf16x2', seed: 21 },
];

export const crossEntropyJobs: SelfTestJob[] = CASES.map((c) => ({
  kernel: 'crossentropy',
  label: c.label,
  async run(gpu) {
    const hData = uniform(c.N * c.C, c.seed); // (N, C)
    const EData = uniform(c.V * c.C, c.seed + 1); // (V, C)
    const r = rng(c.seed + 2);
    const targetData = Int32Array.from({ length: c.N }, () => Math.floor(r() * c.V)); // (N)
    for (const i of c.ignored) targetData[i] = IGNORE_INDEX;
    const scale = 1 / Math.max(countSupervised(targetData, c.V), 1);
    const t = new CaseTensors(gpu);
    try {
      const h = await t.upload('h', hData, [c.N, c.C]);
      const E = await t.upload('E', encodeStorage(EData, c.storage), [c.V, c.C], c.storage);
      const targets = await t.upload('targets', targetData, [c.N], 'i32');
      const lossPerRow = await t.output('lossPerRow', [c.N]);
      const dh = await t.output('dh', [c.N, c.C]);
      const total = await t.output('loss', [1]);
      const scratch = await createCrossEntropyScratch(gpu, c.chunkRows, c.C, c.V);
      t.own(scratch.logits);
      if (scratch.rows) t.own(scratch.rows);
      const { ms } = await gpu.time(() => {
        crossEntropyForwardBackward(gpu, { h, E, targets, dh, lossPerRow, N: c.N, C: c.C, V: c.V, chunkRows: c.chunkRows, scale, scratch });
        crossEntropyLossSum(gpu, lossPerRow, total, c.N, scale);
      });
      const want = crossEntropyRef(hData, roundToStorage(EData, c.storage), targetData, c.N, c.C, c.V, scale);
      const wantTotal = crossEntropyLossRef(want.lossPerRow, scale);
      return {
        checks: [
          check('crossentropy', `loss: ${c.label}`, { lossPerRow: [await gpu.read(lossPerRow), want.lossPerRow], 'mean loss': [await gpu.read(total), [wantTotal]] }, LOSS_TOL),
          check('crossentropy', `dh: ${c.label}`, { dh: [await gpu.read(dh), want.dh] }, DH_TOL),
        ],
        gpuMs: ms,
      };
    } finally {
      t.destroy();
    }
  },
}));
