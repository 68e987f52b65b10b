/**
 * CPU reference of the elementwise ops (the spec the kernels are tested against). Computes in f64 and
 * returns Float64Array, so the reference is the more accurate side of every comparison and the
 * finite-difference checks can perturb inputs in f64. Backward references return fresh gradients;
 * "accumulate" is the caller adding them to what was there.
 */
type Vec = ArrayLike<number>;

function map(n: number, f: (i: number) => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f(i);
  return out;
}

/** σ(x), stable for any |x|. */
export function sigmoidScalar(x: number): number {
  const t = Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + t) : t / (1 + t);
}

function siluGradScalar(x: number): number {
  return sigmoidScalar(x) * (1 + x * sigmoidScalar(-x));
}

export const addRef = (a: Vec, b: Vec) => map(a.length, (i) => a[i]! + b[i]!);
export const subRef = (a: Vec, b: Vec) => map(a.length, (i) => a[i]! - b[i]!);
export const scaleRef = (a: Vec, s: number) => map(a.length, (i) => s * a[i]!);
/** y + s·x (the new y) */
export const axpyRef = (y: Vec, x: Vec, s: number) => map(y.length, (i) => y[i]! + s * x[i]!);

export const siluForwardRef = (x: Vec) => map(x.length, (i) => x[i]! * sigmoidScalar(x[i]!));
/** dx = dy·σ(x)(1 + x(1 − σ(x))) */
export const siluBackwardRef = (x: Vec, dy: Vec) => map(x.length, (i) => dy[i]! * siluGradScalar(x[i]!));

export const sigmoidForwardRef = (x: Vec) => map(x.length, (i) => sigmoidScalar(x[i]!));
/** dx = dy·y(1 − y), y = σ(x) the forward output */
export const sigmoidBackwardRef = (y: Vec, dy: Vec) => map(y.length, (i) => dy[i]! * y[i]! * (1 - y[i]!));

/** y = silu(g)·u */
export const swigluForwardRef = (g: Vec, u: Vec) => map(g.length, (i) => g[i]! * sigmoidScalar(g[i]!) * u[i]!);
export function swigluBackwardRef(g: Vec, u: Vec, dy: Vec): { dg: Float64Array; du: Float64Array } {
  return {
    dg: map(g.length, (i) => dy[i]! * u[i]! * siluGradScalar(g[i]!)),
    du: map(g.length, (i) => dy[i]! * g[i]! * sigmoidScalar(g[i]!)),
  };
}

/** out = s + γ(t − s) */
export const gatedMixForwardRef = (s: Vec, gamma: Vec, t: Vec) => map(s.length, (i) => s[i]! + gamma[i]! * (t[i]! - s[i]!));
export function gatedMixBackwardRef(s: Vec, gamma: Vec, t: Vec, dOut: Vec): { dS: Float64Array; dGamma: Float64Array; dT: Float64Array } {
  return {
    dS: map(s.length, (i) => dOut[i]! * (1 - gamma[i]!)),
    dGamma: map(s.length, (i) => dOut[i]! * (t[i]! - s[i]!)),
    dT: map(s.length, (i) => dOut[i]! * gamma[i]!),
  };
}
