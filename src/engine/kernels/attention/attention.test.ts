import { beforeAll, describe, it } from 'vitest';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { expectClose } from '../../testing/expectClose';
import { uniform } from '../../testing/random';
import { testGpu, upload } from '../../testing/testGpu';
import { attentionBackward, attentionForward, resolveAttentionShape } from './attention';
import type { AttentionDims, AttentionShape } from './attention';
import { attentionBackwardRef, attentionForwardRef } from './attention.ref';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

// Forward: out is a convex combination of v rows in [-1, 1] and lse ≈ max score + log(≤ T); f32 sums
// over HS ≤ 128 and ≤ 300 keys round far below 1e-5 (absolute and relative). Scores of size ~100
// put ~100·2⁻²⁴ ≈ 1e-6 of rounding into each exponent, still below it (measured: 3e-6 worst).
const FORWARD_TOL = { atol: 1e-5, rtol: 1e-5 };
// Backward: p is recomputed as exp(score − lse) from two f32 values of size up to ~100 (same ~1e-5
// relative error as above), and dp − D cancels; dk/dv then sum over up to T·NH/NKV query rows.
const BACKWARD_TOL = { atol: 1e-4, rtol: 1e-4 };

interface Case extends AttentionDims {
  label: string;
  /** key (b, s) is real; omitted: no mask tensor at all */
  real?: (b: number, s: number) => boolean;
  /** q is multiplied by this (extreme logits) */
  qScale?: number;
  seed: number;
}

interface Inputs {
  shape: AttentionShape;
  q: Float32Array; // (B, Tq, NH, HS)
  k: Float32Array; // (B, maxT, NKV, HS)
  v: Float32Array; // (B, maxT, NKV, HS)
  dout: Float32Array; // (B, Tq, NH, HS)
  mask: Uint32Array | null; // (B, maxT)
}

/** Seeded inputs; k and v of keys no query may read (padding, rows ≥ Tk) hold NaN to prove they are never read. */
function makeInputs(c: Case): Inputs {
  const shape = resolveAttentionShape(c);
  const { B, Tq, maxT, NH, NKV, HS, Tk } = shape;
  const q = uniform(B * Tq * NH * HS, c.seed).map((x) => x * (c.qScale ?? 1));
  const k = uniform(B * maxT * NKV * HS, c.seed + 1);
  const v = uniform(B * maxT * NKV * HS, c.seed + 2);
  const dout = uniform(B * Tq * NH * HS, c.seed + 3);
  const mask = c.real ? new Uint32Array(B * maxT) : null;
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < maxT; s++) {
      const real = c.real ? c.real(b, s) : true;
      if (mask) mask[b * maxT + s] = real ? 1 : 0;
      if (!real || s >= Tk) k.fill(NaN, (b * maxT + s) * NKV * HS, (b * maxT + s + 1) * NKV * HS);
      if (!real || s >= Tk) v.fill(NaN, (b * maxT + s) * NKV * HS, (b * maxT + s + 1) * NKV * HS);
    }
  }
  return { shape, q, k, v, dout, mask };
}

interface GpuResult {
  out: Float32Array;
  lse: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

async function runGpu(inp: Inputs, dims: AttentionDims): Promise<GpuResult> {
  const { B, Tq, maxT, NH, NKV, HS } = inp.shape;
  const rows = [B, Tq, NH, HS];
  const cache = [B, maxT, NKV, HS];
  const q = await upload(gpu, 'q', inp.q, rows);
  const k = await upload(gpu, 'k', inp.k, cache);
  const v = await upload(gpu, 'v', inp.v, cache);
  const dout = await upload(gpu, 'dout', inp.dout, rows);
  const mask: Tensor | undefined = inp.mask ? await upload(gpu, 'mask', inp.mask, [B, maxT], 'u32') : undefined;
  const out = await gpu.createTensor('out', rows);
  const lse = await gpu.createTensor('lse', [B, NH, Tq]);
  const delta = await gpu.createTensor('delta', [B, NH, Tq]);
  const dq = await gpu.createTensor('dq', rows);
  const dk = await gpu.createTensor('dk', cache);
  const dv = await gpu.createTensor('dv', cache);
  // Outputs start as NaN so that "overwritten" is checked, not assumed.
  for (const t of [out, lse, dq, dk, dv]) gpu.write(t, new Float32Array(t.shape.reduce((a, x) => a * x, 1)).fill(NaN));
  attentionForward(gpu, { ...dims, q, k, v, out, lse, mask });
  attentionBackward(gpu, { ...dims, q, k, v, out, lse, dout, delta, dq, dk, dv, mask });
  return { out: await gpu.read(out), lse: await gpu.read(lse), dq: await gpu.read(dq), dk: await gpu.read(dk), dv: await gpu.read(dv) };
}

const rightPadded = (lengths: number[]) => (b: number, s: number) => s < lengths[b]!;

const cases: Case[] = [
  { label: 'T 1, NH 2 NKV 2, HS 8, no mask', B: 1, Tq: 1, NH: 2, NKV: 2, HS: 8, seed: 1 },
  { label: 'B 2, T 7, NH 5 NKV 1, HS 8, right padding [7, 4]', B: 2, Tq: 7, NH: 5, NKV: 1, HS: 8, real: rightPadded([7, 4]), seed: 11 },
  { label: 'B 2, T 33, NH 4 NKV 2, HS 64, right padding [33, 20]', B: 2, Tq: 33, NH: 4, NKV: 2, HS: 64, real: rightPadded([33, 20]), seed: 21 },
  { label: 'B 2, T 7, NH 2 NKV 2, HS 128, no mask', B: 2, Tq: 7, NH: 2, NKV: 2, HS: 128, seed: 31 },
  { label: 'B 1, T 33, NH 5 NKV 1, HS 128, padding [29]', B: 1, Tq: 33, NH: 5, NKV: 1, HS: 128, real: rightPadded([29]), seed: 41 },
  { label: 'B 2, T 300 (5 key tiles), NH 2 NKV 1, HS 8, padding [300, 131]', B: 2, Tq: 300, NH: 2, NKV: 1, HS: 8, real: rightPadded([300, 131]), seed: 51 },
  { label: 'extreme logits (q ×100, scores up to ~±100), B 2, T 33, NH 4 NKV 2, HS 8, padding [33, 17]', B: 2, Tq: 33, NH: 4, NKV: 2, HS: 8, real: rightPadded([33, 17]), qScale: 100, seed: 61 },
  // Left padding and an empty sequence: rows whose every visible key is masked must give 0, lse 0, dq 0.
  { label: 'rows that see no key (left padding [3 pads, 4 real], empty sequence), NH 2 NKV 1, HS 8', B: 2, Tq: 7, NH: 2, NKV: 1, HS: 8, real: (b, s) => b === 0 && s >= 3, seed: 71 },
  { label: 'KV-cache form with backward: qOffset 5, Tq 3, Tk 8, capacity 11, NH 4 NKV 2, HS 8, padding [8, 6]', B: 2, Tq: 3, qOffset: 5, maxT: 11, NH: 4, NKV: 2, HS: 8, real: rightPadded([8, 6]), seed: 81 },
];

describe('attention (causal GQA) against the CPU reference', () => {
  const results = new Map<string, Promise<{ gpu: GpuResult; inp: Inputs }>>();
  const resultOf = (c: Case) => {
    let r = results.get(c.label);
    if (!r) {
      const inp = makeInputs(c);
      r = runGpu(inp, c).then((g) => ({ gpu: g, inp }));
      results.set(c.label, r);
    }
    return r;
  };

  for (const c of cases) {
    it(`forward: ${c.label}`, async () => {
      const { gpu: got, inp } = await resultOf(c);
      const want = attentionForwardRef(inp.shape, inp.q, inp.k, inp.v, inp.mask);
      expectClose(got.out, want.out, FORWARD_TOL, `${c.label} out`);
      expectClose(got.lse, want.lse, FORWARD_TOL, `${c.label} lse`);
      if (c.qScale) {
        // lse ≥ the row's largest score: exp of scores above ln(f32 max) ≈ 88.7 would overflow unshifted
        const top = want.lse.reduce((a, x) => Math.max(a, x), -Infinity);
        if (top < 88.7) throw new Error(`extreme case is not extreme: largest lse ${top}`);
      }
    });
    it(`backward: ${c.label}`, async () => {
      const { gpu: got, inp } = await resultOf(c);
      const want = attentionBackwardRef(inp.shape, inp.q, inp.k, inp.v, inp.mask, inp.dout);
      expectClose(got.dq, want.dq, BACKWARD_TOL, `${c.label} dq`);
      expectClose(got.dk, want.dk, BACKWARD_TOL, `${c.label} dk`);
      expectClose(got.dv, want.dv, BACKWARD_TOL, `${c.label} dv`);
    });
  }

  it('rows that see no key are exactly 0 with lse 0', async () => {
    const c = cases.find((x) => x.label.startsWith('rows that see no key'))!;
    const { gpu: got, inp } = await resultOf(c);
    const { Tq, NH, HS } = inp.shape;
    // sequence 0: queries 0..2 see only padding; sequence 1 is empty
    const empty = (b: number, t: number) => b === 1 || t < 3;
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < Tq; t++) {
        if (!empty(b, t)) continue;
        for (let h = 0; h < NH; h++) {
          const o = ((b * Tq + t) * NH + h) * HS;
          for (let d = 0; d < HS; d++) {
            if (got.out[o + d] !== 0 || got.dq[o + d] !== 0) throw new Error(`row (${b}, ${t}, ${h}) sees no key but out/dq[${d}] = ${got.out[o + d]}/${got.dq[o + d]}`);
          }
          if (got.lse[(b * NH + h) * Tq + t] !== 0) throw new Error(`row (${b}, ${t}, ${h}) sees no key but lse = ${got.lse[(b * NH + h) * Tq + t]}`);
        }
      }
    }
  });
});

describe('attention KV-cache form equals the rows of the full forward', () => {
  // Full prompt of T 9 (padding [9, 7]); then the same keys in a cache of capacity 12 queried by the
  // last Tq tokens at qOffset = 9 − Tq. Same tiles, same order of operations: agreement to ~1 ulp.
  const SAME_TOL = { atol: 1e-6, rtol: 1e-6 };
  const T = 9;
  const cap = 12;
  const base: Case = { label: 'full', B: 2, Tq: T, NH: 4, NKV: 2, HS: 8, real: rightPadded([9, 7]), seed: 91 };

  for (const Tq of [3, 1]) {
    it(`pastLen ${T - Tq}, Tq ${Tq}, capacity ${cap}`, async () => {
      const full = makeInputs(base);
      const fullOut = await runGpu(full, base);
      const { B, NH, NKV, HS } = full.shape;
      const pastLen = T - Tq;
      const dims: AttentionDims = { B, Tq, NH, NKV, HS, qOffset: pastLen, Tk: T, maxT: cap };
      const shape = resolveAttentionShape(dims);
      // cache rows 0..T−1 = the full keys; rows T..cap−1 are NaN (beyond Tk, never read)
      const k = new Float32Array(B * cap * NKV * HS).fill(NaN);
      const v = new Float32Array(B * cap * NKV * HS).fill(NaN);
      const mask = new Uint32Array(B * cap).fill(1);
      const q = new Float32Array(B * Tq * NH * HS);
      const dout = new Float32Array(B * Tq * NH * HS);
      const row = NKV * HS;
      const qRow = NH * HS;
      for (let b = 0; b < B; b++) {
        k.set(full.k.subarray(b * T * row, (b + 1) * T * row), b * cap * row);
        v.set(full.v.subarray(b * T * row, (b + 1) * T * row), b * cap * row);
        mask.set(full.mask!.subarray(b * T, (b + 1) * T), b * cap);
        q.set(full.q.subarray((b * T + pastLen) * qRow, (b + 1) * T * qRow), b * Tq * qRow);
        dout.set(full.dout.subarray((b * T + pastLen) * qRow, (b + 1) * T * qRow), b * Tq * qRow);
      }
      const got = await runGpu({ shape, q, k, v, dout, mask }, dims);
      const wantOut = new Float32Array(B * Tq * qRow);
      const wantLse = new Float32Array(B * NH * Tq);
      for (let b = 0; b < B; b++) {
        wantOut.set(fullOut.out.subarray((b * T + pastLen) * qRow, (b + 1) * T * qRow), b * Tq * qRow);
        for (let h = 0; h < NH; h++) wantLse.set(fullOut.lse.subarray((b * NH + h) * T + pastLen, (b * NH + h + 1) * T), (b * NH + h) * Tq);
      }
      expectClose(got.out, wantOut, SAME_TOL, 'cache out vs full out rows');
      expectClose(got.lse, wantLse, SAME_TOL, 'cache lse vs full lse rows');
      // and the reference agrees in its own cache form
      const ref = attentionForwardRef(shape, q, k, v, mask);
      expectClose(got.out, ref.out, FORWARD_TOL, 'cache out vs reference');
    });
  }
});

describe('attention reference backward against finite differences of the reference forward', () => {
  // L = Σ out ⊙ W, so dL/dout = W. Central differences in f64 with eps 1e-4: truncation ~eps² and
  // rounding ~1e-16/eps, both far below 1e-7.
  const FD_TOL = { atol: 1e-7, rtol: 1e-6 };
  const EPS = 1e-4;
  const fdCases: Case[] = [
    { label: 'B 2, T 5, NH 4 NKV 2, HS 3, padding [5, 3]', B: 2, Tq: 5, NH: 4, NKV: 2, HS: 3, real: rightPadded([5, 3]), seed: 101 },
    { label: 'cache form qOffset 3, Tq 2, Tk 5, capacity 6, NH 3 NKV 1, HS 4', B: 1, Tq: 2, qOffset: 3, maxT: 6, NH: 3, NKV: 1, HS: 4, seed: 111 },
  ];
  for (const c of fdCases) {
    it(c.label, () => {
      const shape = resolveAttentionShape(c);
      const { B, Tq, maxT, NH, NKV, HS } = shape;
      const q = Float64Array.from(uniform(B * Tq * NH * HS, c.seed));
      const k = Float64Array.from(uniform(B * maxT * NKV * HS, c.seed + 1));
      const v = Float64Array.from(uniform(B * maxT * NKV * HS, c.seed + 2));
      const w = Float64Array.from(uniform(B * Tq * NH * HS, c.seed + 3));
      const mask = c.real ? Uint32Array.from({ length: B * maxT }, (_, i) => (c.real!(Math.floor(i / maxT), i % maxT) ? 1 : 0)) : null;
      const loss = () => attentionForwardRef(shape, q, k, v, mask).out.reduce((a, o, i) => a + o * w[i]!, 0);
      const grads = attentionBackwardRef(shape, q, k, v, mask, w);
      for (const [name, x, g] of [['q', q, grads.dq], ['k', k, grads.dk], ['v', v, grads.dv]] as const) {
        const fd = new Float64Array(x.length);
        for (let i = 0; i < x.length; i++) {
          const x0 = x[i]!;
          x[i] = x0 + EPS;
          const lp = loss();
          x[i] = x0 - EPS;
          const lm = loss();
          x[i] = x0;
          fd[i] = (lp - lm) / (2 * EPS);
        }
        expectClose(g, fd, FD_TOL, `${c.label} d${name}`);
        if (g.every((e) => Math.abs(e) < 1e-3)) throw new Error(`d${name} is (nearly) all zero: the check would be vacuous`);
      }
    });
  }
});

describe('attention argument checks', () => {
  it('rejects NH not a multiple of NKV, and a tensor too small', async () => {
    const t = await gpu.createTensor('t', [64]);
    const small = await gpu.createTensor('small', [8]);
    const messages: string[] = [];
    for (const f of [
      () => attentionForward(gpu, { B: 1, Tq: 2, NH: 3, NKV: 2, HS: 4, q: t, k: t, v: t, out: t, lse: t }),
      () => attentionForward(gpu, { B: 1, Tq: 2, NH: 2, NKV: 1, HS: 4, q: small, k: t, v: t, out: t, lse: t }),
    ]) {
      try {
        f();
        messages.push('no error');
      } catch (e) {
        messages.push(String(e));
      }
    }
    if (!/E008 .*multiple of NKV/.test(messages[0]!)) throw new Error(`expected E008 about NKV, got: ${messages[0]}`);
    if (!/E008 .*q \('small'/.test(messages[1]!)) throw new Error(`expected E008 naming q, got: ${messages[1]}`);
  });
});
