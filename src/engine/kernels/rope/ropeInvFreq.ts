/**
 * Rotary inverse frequencies (HS/2 values) computed on the CPU exactly as Hugging Face computes them in
 * f32 (`_compute_default_rope_parameters`, `_compute_linear_scaling_rope_parameters`,
 * `_compute_llama3_parameters`): every tensor operation is rounded to f32 with Math.fround, in HF's
 * order, so the GPU angles pos·inv_freq match HF's bit for bit in all but rare double-rounding cases.
 */
export type RopeScaling =
  | { ropeType: 'default' }
  /** inv_freq / factor */
  | { ropeType: 'linear'; factor: number }
  /** Llama 3.x: long wavelengths divided by factor, short ones kept, a smooth blend between. */
  | { ropeType: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number };

const f = Math.fround;

export function ropeInvFreq(headDim: number, theta: number, scaling: RopeScaling = { ropeType: 'default' }): Float32Array {
  if (!Number.isInteger(headDim) || headDim < 2 || headDim % 2 !== 0) throw new Error(`ropeInvFreq: head dimension must be a positive even integer, got ${headDim}`);
  if (!(theta > 0)) throw new Error(`ropeInvFreq: rope_theta must be positive, got ${theta}`);
  const half = headDim / 2;
  // 1.0 / (base ** (arange(0, dim, 2).float() / dim))
  const inv = new Float32Array(half);
  for (let d = 0; d < half; d++) inv[d] = f(1 / f(f(theta) ** f((2 * d) / headDim)));
  switch (scaling.ropeType) {
    case 'default':
      return inv;
    case 'linear':
      return inv.map((v) => f(v / f(scaling.factor)));
    case 'llama3':
      return llama3(inv, scaling);
    default:
      throw new Error(`ropeInvFreq: rope_type '${(scaling as { ropeType: string }).ropeType}' is not supported (supported: default, linear, llama3)`);
  }
}

function llama3(inv: Float32Array, s: Extract<RopeScaling, { ropeType: 'llama3' }>): Float32Array {
  const factor = f(s.factor);
  const low = f(s.lowFreqFactor);
  const old = f(s.originalMaxPositionEmbeddings);
  const lowFreqWavelen = f(s.originalMaxPositionEmbeddings / s.lowFreqFactor);
  const highFreqWavelen = f(s.originalMaxPositionEmbeddings / s.highFreqFactor);
  const span = f(s.highFreqFactor - s.lowFreqFactor);
  const twoPi = f(2 * Math.PI);
  return inv.map((v) => {
    // `2 * math.pi / inv_freq` is Tensor.__rtruediv__, i.e. reciprocal() * scalar
    const wavelen = f(f(1 / v) * twoPi);
    const scaled = wavelen > lowFreqWavelen ? f(v / factor) : v;
    const isMedium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    if (!isMedium) return scaled;
    const smooth = f(f(f(f(1 / wavelen) * old) - low) / span);
    return f(f(f(f(1 - smooth) * scaled) / factor) + f(smooth * scaled));
  });
}
