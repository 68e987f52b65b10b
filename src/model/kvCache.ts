import type { Gpu } from '../engine/runtime';
import type { Tensor } from '../engine/tensor';
import type { KvCacheSlot } from './decoderLayer';
import type { LayerDims } from './layerDims';

/**
 * Keys and values of every layer for one sequence (B = 1) up to maxT positions, plus the key mask
 * the attention reads. Appending tokens never changes earlier entries (causal model), which is what
 * makes cached and uncached decoding agree.
 */
export class KvCache {
  length = 0;
  private constructor(
    private readonly gpu: Gpu,
    readonly maxT: number,
    readonly k: Tensor[],
    readonly v: Tensor[],
    readonly mask: Tensor,
  ) {}

  static async create(gpu: Gpu, label: string, layers: number, d: LayerDims, maxT: number): Promise<KvCache> {
    const shape = [1, maxT, d.kvHeads, d.headDim];
    const k: Tensor[] = [];
    const v: Tensor[] = [];
    for (let l = 0; l < layers; l++) {
      k.push(await gpu.createTensor(`${label}.k${l}`, shape));
      v.push(await gpu.createTensor(`${label}.v${l}`, shape));
    }
    const mask = await gpu.createTensor(`${label}.mask`, [1, maxT], 'u32');
    return new KvCache(gpu, maxT, k, v, mask);
  }

  /** Marks positions [0, length + n) as real keys before a step appends n tokens. */
  reserve(n: number): void {
    if (this.length + n > this.maxT) throw new Error(`KV cache full: ${this.length} + ${n} tokens exceed its ${this.maxT} positions`);
    const ones = new Uint32Array(this.length + n).fill(1);
    this.gpu.write(this.mask, ones);
  }

  slot(l: number): KvCacheSlot {
    return { k: this.k[l]!, v: this.v[l]!, maxT: this.maxT, pastLen: this.length };
  }

  reset(): void {
    this.length = 0;
  }

  destroy(): void {
    this.gpu.release([...this.k, ...this.v, this.mask]);
  }
}
