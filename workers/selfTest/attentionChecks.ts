/**
 * Causal GQA attention, forward (out, lse) and backward (dq, dk, dv), against the f64 CPU reference,
 * built as src/engine/kernels/attention/attention.test.ts builds its cases: k and v of padding keys
 * hold NaN (proving they are never read) and every output starts as NaN (proving it is overwritten).
 */
import { attentionBackward, attentionForward, resolveAttentionShape } from '../../src/engine/kernels/attention/attention';
import type { AttentionDims } from '../../src/engine/kernels/attention/attention';
import { attentionBackwardRef, attentionForwardRef } from '../../src/engine/kernels/attention/attention.ref';
import { uniform } from '../../src/engine/testing/random';
import { CaseTensors, check } from './check';
import type { SelfTestJob } from './check';

// The tolerances of attention.test.ts, for the same reasons. Forward: out is a convex combination of
// v rows in [-1, 1] and lse ≈ max score + log(≤ T); f32 sums over HS and T keys round far below 1e-5.
const FORWARD_TOL = { atol: 1e-5, rtol: 1e-5 };
// Backward: p is recomputed as exp(score − lse), dp − D cancels, and dk/dv sum over T·NH/NKV query rows.
const BACKWARD_TOL = { atol: 1e-4, rtol: 1e-4 };

interface AttentionCase extends AttentionDims {
  label: string;
  /** real keys per sequence; the rest of each sequence is right padding */
  lengths: number[];
  seed: number;
}

const CASES: AttentionCase[] = [
  { label: 'B 2, T 9, NH 4 NKV 2, HS 8, right padding [9, 5]', B: 2, Tq: 9, NH: 4, NKV: 2, HS: 8, lengths: [9, 5], seed: 11 },
  // T ≥ 64 crosses the kernels' 64-key tile; GQA ratio 4 and a small HS keep it cheap on a software GPU.
  { label: 'B 2, T 70 (2 key tiles), NH 4 NKV 1, HS 16, right padding [70, 41]', B: 2, Tq: 70, NH: 4, NKV: 1, HS: 16, lengths: [70, 41], seed: 21 },
];

export const attentionJobs: SelfTestJob[] = CASES.map((c) => ({
  kernel: 'attention',
  label: c.label,
  async run(gpu) {
    const s = resolveAttentionShape(c);
    const { B, Tq, maxT, NH, NKV, HS } = s;
    const rows = [B, Tq, NH, HS];
    const cache = [B, maxT, NKV, HS];
    const qData = uniform(B * Tq * NH * HS, c.seed); // (B, T, NH, HS)
    const kData = uniform(B * maxT * NKV * HS, c.seed + 1); // (B, T, NKV, HS)
    const vData = uniform(B * maxT * NKV * HS, c.seed + 2); // (B, T, NKV, HS)
    const doutData = uniform(B * Tq * NH * HS, c.seed + 3); // (B, T, NH, HS)
    const maskData = new Uint32Array(B * maxT); // (B, T) 1 = real key
    for (let b = 0; b < B; b++) {
      for (let key = 0; key < maxT; key++) {
        const real = key < c.lengths[b]!;
        maskData[b * maxT + key] = real ? 1 : 0;
        if (real) continue;
        const row = (b * maxT + key) * NKV * HS;
        kData.fill(NaN, row, row + NKV * HS);
        vData.fill(NaN, row, row + NKV * HS);
      }
    }
    const t = new CaseTensors(gpu);
    try {
      const q = await t.upload('q', qData, rows);
      const k = await t.upload('k', kData, cache);
      const v = await t.upload('v', vData, cache);
      const dout = await t.upload('dout', doutData, rows);
      const mask = await t.upload('mask', maskData, [B, maxT], 'u32');
      const out = await t.output('out', rows);
      const lse = await t.output('lse', [B, NH, Tq]);
      const delta = await t.output('delta', [B, NH, Tq]);
      const dq = await t.output('dq', rows);
      const dk = await t.output('dk', cache);
      const dv = await t.output('dv', cache);
      const { ms } = await gpu.time(() => {
        attentionForward(gpu, { ...c, q, k, v, out, lse, mask });
        attentionBackward(gpu, { ...c, q, k, v, out, lse, dout, delta, dq, dk, dv, mask });
      });
      const fwd = attentionForwardRef(s, qData, kData, vData, maskData);
      const bwd = attentionBackwardRef(s, qData, kData, vData, maskData, doutData);
      return {
        checks: [
          check('attention', `forward: ${c.label}`, { out: [await gpu.read(out), fwd.out], lse: [await gpu.read(lse), fwd.lse] }, FORWARD_TOL),
          check('attention', `backward: ${c.label}`, { dq: [await gpu.read(dq), bwd.dq], dk: [await gpu.read(dk), bwd.dk], dv: [await gpu.read(dv), bwd.dv] }, BACKWARD_TOL),
        ],
        gpuMs: ms,
      };
    } finally {
      t.destroy();
    }
  },
}));
