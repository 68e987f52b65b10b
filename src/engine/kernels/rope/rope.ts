import { GpuErrorCode, StudioError } from '../../errors';
import { KernelSource } from '../../kernel';
import type { Gpu } from '../../runtime';
import type { Tensor } from '../../tensor';
import { numel } from '../../tensor';
import source from './rope.wgsl?raw';

export { ropeInvFreq } from './ropeInvFreq';
export type { RopeScaling } from './ropeInvFreq';

const kernel = new KernelSource('rope', source, { rows: 'u32', NH: 'u32', HS: 'u32', log2Theta: 'f32', sign: 'f32' } as const);
const WG = 256;

export interface RopeShape {
  pos: Tensor; // (B, T) u32 or i32 position ids (non-negative, < 2²⁴ to be exact in f32)
  /**
   * (HS/2) f32 from ropeInvFreq(HS, theta, scaling), uploaded once. Pass it whenever HF parity matters:
   * without it the shader derives inv_freq from theta with exp2/log2, a few ulp off HF's f32 value,
   * which moves the angle by ~pos·1e-7 rad (≈2e-4 at position 2048).
   */
  invFreq?: Tensor;
  /** rope_theta; used only when invFreq is absent. */
  theta?: number;
  rows: number; // B·T
  NH: number;
  HS: number;
}

/** y (B, T, NH, HS) = rotate(x) by pos·inv_freq; y may be the very same view as x (in place). */
export function ropeForward(gpu: Gpu, a: RopeShape & { x: Tensor; y: Tensor }): void {
  rope(gpu, a, a.x, a.y, 1);
}

/** dx (B, T, NH, HS) = rotate(dy) by −pos·inv_freq (overwritten); dx may be the very same view as dy. */
export function ropeBackward(gpu: Gpu, a: RopeShape & { dy: Tensor; dx: Tensor }): void {
  rope(gpu, a, a.dy, a.dx, -1);
}

function rope(gpu: Gpu, a: RopeShape, src: Tensor, dst: Tensor, sign: 1 | -1): void {
  const { rows, NH, HS, pos, invFreq } = a;
  if (HS % 2 !== 0) throw new StudioError(GpuErrorCode.badArgument, `rope: head size must be even, got ${HS}`);
  const n = rows * NH * HS;
  check('input', src, n, ['f32']);
  check('output', dst, n, ['f32']);
  check('position ids', pos, rows, ['u32', 'i32']);
  if (invFreq) check('inv_freq', invFreq, HS / 2, ['f32']);
  else if (!(a.theta !== undefined && a.theta > 0)) throw new StudioError(GpuErrorCode.badArgument, `rope: give either an inv_freq tensor or a positive theta, got theta ${a.theta}`);
  const inPlace = src.buffer === dst.buffer && src.offset === dst.offset;
  const spec = kernel.variant({ entryPoint: 'main', flags: { IN_PLACE: inPlace, INV_FREQ: !!invFreq }, constants: { WG } });
  const buffers = [pos, dst, ...(inPlace ? [] : [src]), ...(invFreq ? [invFreq] : [])];
  const log2Theta = invFreq ? 0 : Math.log2(a.theta!);
  gpu.dispatch(spec, { rows, NH, HS, log2Theta, sign }, buffers, gpu.grid(Math.ceil((rows * NH * (HS / 2)) / WG)));
}

function check(name: string, t: Tensor, needed: number, dtypes: readonly string[]): void {
  if (!dtypes.includes(t.dtype)) throw new StudioError(GpuErrorCode.badArgument, `rope: ${name} ('${t.name}') must be ${dtypes.join(' or ')}, got ${t.dtype}`);
  if (numel(t.shape) < needed) throw new StudioError(GpuErrorCode.badArgument, `rope: ${name} ('${t.name}', shape ${t.shape.join('×')}) holds ${numel(t.shape)} elements but the call needs ${needed}`);
}
