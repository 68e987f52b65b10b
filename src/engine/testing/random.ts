import { mulberry32 } from '../random';

/** Seeded random numbers for tests (the project's mulberry32). */
export const rng = mulberry32;

/** n values uniform in [lo, hi). */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** n values from N(mean, std²) by Box–Muller. */
export function normal(n: number, seed: number, std = 1, mean = 0): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(r(), 1e-12);
    const v = r();
    const mag = std * Math.sqrt(-2 * Math.log(u));
    out[i] = mean + mag * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = mean + mag * Math.sin(2 * Math.PI * v);
  }
  return out;
}
