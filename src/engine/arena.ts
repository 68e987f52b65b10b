import type { DType } from './dtype';
import { byteSize } from './dtype';
import { GpuErrorCode, StudioError } from './errors';
import type { Gpu } from './runtime';
import { formatBytes } from './runtime';
import type { Tensor } from './tensor';
import { numel, shapeString } from './tensor';

export interface ArenaEntry {
  name: string;
  shape: readonly number[];
  dtype: DType;
}

export interface ArenaOptions {
  /**
   * Pack the views into as few buffers as the device allows (default). Only for tensors that kernels
   * never write while reading another view of the same arena: WebGPU tracks usage per buffer, so one
   * dispatch may not bind one buffer both read-only and writable, even at disjoint ranges. Frozen
   * weights pack; activations and gradients use `packed: false` (one buffer per view).
   */
  packed?: boolean;
}

/**
 * Plans a set of named tensors (from a size table), then allocates them: packed into as few large
 * buffers as the device allows, or one buffer each. Each view starts on the storage-offset alignment.
 * A single view larger than maxStorageBufferBindingSize is refused here: such tensors must be split by
 * rows by their owner.
 */
export class Arena {
  private readonly entries: ArenaEntry[] = [];
  private readonly names = new Set<string>();
  private readonly packed: boolean;

  constructor(
    readonly label: string,
    options: ArenaOptions = {},
  ) {
    this.packed = options.packed ?? true;
  }

  add(name: string, shape: readonly number[], dtype: DType = 'f32'): this {
    if (this.names.has(name)) throw new StudioError(GpuErrorCode.badArgument, `arena '${this.label}' already has a tensor named '${name}'`);
    this.names.add(name);
    this.entries.push({ name, shape: [...shape], dtype });
    return this;
  }

  /** Planned bytes including alignment padding; what the memory estimate reports. */
  plannedBytes(alignment = 256): number {
    return this.entries.reduce((sum, e) => sum + alignUp(byteSize(e.dtype, numel(e.shape)), alignment), 0);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Allocates the buffers and returns the views by name. */
  async allocate(gpu: Gpu): Promise<Map<string, Tensor>> {
    const align = gpu.caps.limits.minStorageBufferOffsetAlignment;
    const maxBinding = gpu.caps.limits.maxStorageBufferBindingSize;
    const maxBuffer = Math.min(gpu.caps.limits.maxBufferSize, 1 << 30);
    // Greedy packing in declaration order into buffers of at most maxBuffer bytes.
    const groups: { entries: { e: ArenaEntry; offset: number }[]; bytes: number }[] = [];
    for (const e of this.entries) {
      const bytes = alignUp(Math.max(4, byteSize(e.dtype, numel(e.shape))), 4);
      if (bytes > maxBinding) {
        throw new StudioError(GpuErrorCode.tooLarge, `tensor '${e.name}' ${shapeString(e.shape)} needs ${formatBytes(bytes)}, more than one binding may hold on this device (${formatBytes(maxBinding)})`, 'split it by rows, or use a smaller batch or sequence length');
      }
      let g = groups[groups.length - 1];
      if (!g || !this.packed || alignUp(g.bytes, align) + bytes > maxBuffer) {
        g = { entries: [], bytes: 0 };
        groups.push(g);
      }
      const offset = alignUp(g.bytes, align);
      g.entries.push({ e, offset });
      g.bytes = offset + bytes;
    }
    const views = new Map<string, Tensor>();
    const buffers: GPUBuffer[] = [];
    try {
      for (const [i, g] of groups.entries()) {
        const buffer = await gpu.createBuffer(this.packed ? `${this.label}#${i}` : `${this.label}.${g.entries[0]!.e.name}`, alignUp(g.bytes, 4));
        buffers.push(buffer);
        for (const { e, offset } of g.entries) views.set(e.name, { buffer, offset, shape: e.shape, dtype: e.dtype, name: e.name });
      }
    } catch (e) {
      // Out of memory half-way: give back the buffers already made.
      gpu.release(buffers);
      throw e;
    }
    return views;
  }
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
