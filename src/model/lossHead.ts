import type { CrossEntropyScratch } from '../engine/kernels/crossentropy/crossentropy';
import { countSupervised, createCrossEntropyScratch, crossEntropyChunkRows, crossEntropyForwardBackward, crossEntropyLossSum, IGNORE_INDEX } from '../engine/kernels/crossentropy/crossentropy';
import type { Gpu } from '../engine/runtime';
import type { RowSplitMatrix, Tensor } from '../engine/tensor';
import { destroyTensors } from '../engine/tensor';

/** Causal shift: targets[b, t] = labels[b, t+1], −100 at each sequence's last position. */
export function shiftLabels(labels: ArrayLike<number>, B: number, T: number): Int32Array {
  const out = new Int32Array(B * T).fill(IGNORE_INDEX);
  for (let b = 0; b < B; b++) for (let t = 0; t + 1 < T; t++) out[b * T + t] = labels[b * T + t + 1]!;
  return out;
}

/** Scratch memory the loss head may take for its logits chunks. */
export const CE_BUDGET_BYTES = 64 * 2 ** 20;

/**
 * Mean cross entropy of the head over supervised tokens, with dL/dh, never holding the (N, V)
 * logits at once (chunks of rows). One instance per (max N, C, V). Heads that run one after the
 * other may share one logits scratch (`shareScratchWith`): each keeps its own targets and losses.
 */
export class LossHead {
  private constructor(
    private readonly gpu: Gpu,
    readonly maxRows: number,
    readonly C: number,
    readonly V: number,
    readonly chunkRows: number,
    private readonly scratch: CrossEntropyScratch,
    /** false when the scratch is another head's */
    private readonly ownsScratch: boolean,
    private readonly targets: Tensor,
    private readonly lossPerRow: Tensor,
    readonly loss: Tensor,
  ) {}

  static async create(gpu: Gpu, maxRows: number, C: number, V: number, shareScratchWith?: LossHead): Promise<LossHead> {
    const shared = shareScratchWith && shareScratchWith.maxRows === maxRows && shareScratchWith.C === C && shareScratchWith.V === V ? shareScratchWith : null;
    const chunkRows = shared?.chunkRows ?? crossEntropyChunkRows({ N: maxRows, C, V, budgetBytes: CE_BUDGET_BYTES, maxBindingBytes: gpu.caps.limits.maxStorageBufferBindingSize, offsetAlignment: gpu.caps.limits.minStorageBufferOffsetAlignment });
    return new LossHead(
      gpu,
      maxRows,
      C,
      V,
      chunkRows,
      shared?.scratch ?? (await createCrossEntropyScratch(gpu, chunkRows, C, V)),
      !shared,
      await gpu.createTensor('ce.targets', [maxRows], 'i32'),
      await gpu.createTensor('ce.lossPerRow', [maxRows]),
      await gpu.createTensor('ce.loss', [1]),
    );
  }

  /** Frees the head's buffers (its scratch only when it owns it). */
  destroy(): void {
    destroyTensors([this.targets, this.lossPerRow, this.loss, ...(this.ownsScratch ? [this.scratch] : [])]);
  }

  /**
   * loss (1) = weight · mean CE of h (N, C) · headᵀ against targets (already shifted); with dh,
   * dh (=) weight · dL/dh. Returns the number of supervised rows (0: loss and dh are 0).
   */
  run(h: Tensor, head: RowSplitMatrix, targets: Int32Array, opts: { dh?: Tensor; weight?: number } = {}): number {
    const N = targets.length;
    const supervised = countSupervised(targets, this.V);
    const weight = opts.weight ?? 1;
    const scale = supervised > 0 ? weight / supervised : 0;
    this.gpu.write(this.targets, targets);
    crossEntropyForwardBackward(this.gpu, { h, E: head, targets: this.targets, dh: opts.dh, lossPerRow: this.lossPerRow, N, C: this.C, V: this.V, chunkRows: this.chunkRows, scale, scratch: this.scratch });
    crossEntropyLossSum(this.gpu, this.lossPerRow, this.loss, N, scale);
    return supervised;
  }
}
