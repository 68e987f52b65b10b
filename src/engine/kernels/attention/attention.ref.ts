/**
 * CPU reference of causal grouped-query attention (the spec the kernels are tested against): the
 * naive algorithm with an explicit softmax per query row, in f64.
 *
 * Query t of a sequence sits at absolute position qOffset + t and sees key s when s ≤ qOffset + t,
 * s < Tk and mask[b, s] = 1. Query head h reads kv head h / (NH / NKV). A row that sees no key outputs
 * 0 with lse 0. Hidden keys are never read, so their k and v may hold anything.
 */
export interface AttentionShape {
  B: number;
  /** query rows per sequence */
  Tq: number;
  /** keys per sequence (KV-cache form: pastLen + Tq) */
  Tk: number;
  /** row capacity of k, v and mask (≥ Tk) */
  maxT: number;
  NH: number;
  NKV: number;
  HS: number;
  /** absolute position of query 0 (KV-cache form: pastLen) */
  qOffset: number;
  scale: number;
}

type Data = ArrayLike<number>;

/** The keys row (b, t) sees, in order. */
function visibleKeys(s: AttentionShape, mask: ArrayLike<number> | null, b: number, t: number): number[] {
  const keys: number[] = [];
  const last = Math.min(s.qOffset + t, s.Tk - 1);
  for (let key = 0; key <= last; key++) if (!mask || mask[b * s.maxT + key] !== 0) keys.push(key);
  return keys;
}

const qIndex = (s: AttentionShape, b: number, t: number, h: number) => ((b * s.Tq + t) * s.NH + h) * s.HS;
const kvIndex = (s: AttentionShape, b: number, key: number, g: number) => ((b * s.maxT + key) * s.NKV + g) * s.HS;

/** Softmax probabilities of row (b, t, h) over `keys`, and its log-sum-exp. */
function rowSoftmax(s: AttentionShape, q: Data, k: Data, b: number, t: number, h: number, keys: number[]): { probs: number[]; lse: number } {
  const g = Math.floor(h / (s.NH / s.NKV));
  const qi = qIndex(s, b, t, h);
  const scores = keys.map((key) => {
    const ki = kvIndex(s, b, key, g);
    let dot = 0;
    for (let d = 0; d < s.HS; d++) dot += q[qi + d]! * k[ki + d]!;
    return dot * s.scale;
  });
  const m = Math.max(...scores);
  const e = scores.map((x) => Math.exp(x - m));
  const l = e.reduce((a, x) => a + x, 0);
  return { probs: e.map((x) => x / l), lse: m + Math.log(l) };
}

/** out (B, Tq, NH, HS), lse (B, NH, Tq) from q (B, Tq, NH, HS), k, v (B, maxT, NKV, HS), mask (B, maxT) or null. */
export function attentionForwardRef(s: AttentionShape, q: Data, k: Data, v: Data, mask: ArrayLike<number> | null): { out: Float64Array; lse: Float64Array } {
  const out = new Float64Array(s.B * s.Tq * s.NH * s.HS);
  const lse = new Float64Array(s.B * s.NH * s.Tq);
  for (let b = 0; b < s.B; b++) {
    for (let t = 0; t < s.Tq; t++) {
      const keys = visibleKeys(s, mask, b, t);
      if (keys.length === 0) continue; // out 0, lse 0
      for (let h = 0; h < s.NH; h++) {
        const g = Math.floor(h / (s.NH / s.NKV));
        const { probs, lse: rowLse } = rowSoftmax(s, q, k, b, t, h, keys);
        const oi = qIndex(s, b, t, h);
        keys.forEach((key, j) => {
          const vi = kvIndex(s, b, key, g);
          for (let d = 0; d < s.HS; d++) out[oi + d]! += probs[j]! * v[vi + d]!;
        });
        lse[(b * s.NH + h) * s.Tq + t] = rowLse;
      }
    }
  }
  return { out, lse };
}

/**
 * dq (B, Tq, NH, HS), dk, dv (B, maxT, NKV, HS) of L given dout = ∂L/∂out (B, Tq, NH, HS). Softmax
 * backward per row: ds = p (dp − Σ p·dp), dp = dout·v; dq = scale Σ ds k, dk = scale Σ ds q, dv = Σ p dout.
 */
export function attentionBackwardRef(s: AttentionShape, q: Data, k: Data, v: Data, mask: ArrayLike<number> | null, dout: Data): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const dq = new Float64Array(s.B * s.Tq * s.NH * s.HS);
  const dk = new Float64Array(s.B * s.maxT * s.NKV * s.HS);
  const dv = new Float64Array(s.B * s.maxT * s.NKV * s.HS);
  for (let b = 0; b < s.B; b++) {
    for (let t = 0; t < s.Tq; t++) {
      const keys = visibleKeys(s, mask, b, t);
      if (keys.length === 0) continue;
      for (let h = 0; h < s.NH; h++) {
        const g = Math.floor(h / (s.NH / s.NKV));
        const { probs } = rowSoftmax(s, q, k, b, t, h, keys);
        const qi = qIndex(s, b, t, h);
        const dp = keys.map((key) => {
          const vi = kvIndex(s, b, key, g);
          let x = 0;
          for (let d = 0; d < s.HS; d++) x += dout[qi + d]! * v[vi + d]!;
          return x;
        });
        const D = probs.reduce((a, pj, j) => a + pj * dp[j]!, 0);
        keys.forEach((key, j) => {
          const ki = kvIndex(s, b, key, g);
          const pj = probs[j]!;
          const ds = pj * (dp[j]! - D) * s.scale;
          for (let d = 0; d < s.HS; d++) {
            dq[qi + d]! += ds * k[ki + d]!;
            dk[ki + d]! += ds * q[qi + d]!;
            dv[ki + d]! += pj * dout[qi + d]!;
          }
        });
      }
    }
  }
  return { dq, dk, dv };
}
