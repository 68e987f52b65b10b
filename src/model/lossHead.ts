import type { CrossEntropyScratch } from '../engine/kernels/crossentropy/crossentropy';
import { countSupervised, createCrossEntropyScratch, crossEntropyChunkRows, crossEntropyForwardBackward, crossEntropyLossSum, IGNORE_INDEX } from '../engine/kernels/crossentropy/crossentropy';
import type { Gpu } from '../engine/runtime';
import type { RowSplitMatrix, Tensor } from '../engine/tensor';

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
 * logits at once (chunks of rows). One instance per (max N, C, V).
 * Two heads scored against the same batch, one after the other (ShadowPEFT's base and shadow losses),
 * are created paired (`pairedWith`): they share the logits scratch and the uploaded targets — set
 * them once with setTargets, then runOnTargets each — and keep their own losses.
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
    /** the uploaded targets, shared by paired heads */
    private readonly targets: { tensor: Tensor; rows: number; supervised: number },
    private readonly lossPerRow: Tensor,
    readonly loss: Tensor,
  ) {}

  static async create(gpu: Gpu, maxRows: number, C: number, V: number, pairedWith?: LossHead): Promise<LossHead> {
    const shared = pairedWith && pairedWith.maxRows === maxRows && pairedWith.C === C && pairedWith.V === V ? pairedWith : null;
    const chunkRows = shared?.chunkRows ?? crossEntropyChunkRows({ N: maxRows, C, V, budgetBytes: CE_BUDGET_BYTES, maxBindingBytes: gpu.caps.limits.maxStorageBufferBindingSize, offsetAlignment: gpu.caps.limits.minStorageBufferOffsetAlignment });
    return new LossHead(
      gpu,
      maxRows,
      C,
      V,
      chunkRows,
      shared?.scratch ?? (await createCrossEntropyScratch(gpu, chunkRows, C, V)),
      !shared,
      shared?.targets ?? { tensor: await gpu.createTensor('ce.targets', [maxRows], 'i32'), rows: 0, supervised: 0 },
      await gpu.createTensor('ce.lossPerRow', [maxRows]),
      await gpu.createTensor('ce.loss', [1]),
    );
  }

  /** Frees the head's buffers (the scratch and targets only when it owns them, not when paired). */
  destroy(): void {
    this.gpu.release([this.lossPerRow, this.loss, ...(this.ownsScratch ? [this.scratch, this.targets.tensor] : [])]);
  }

  /** Uploads the (already shifted) targets for this head and its pair; returns the supervised rows. */
  setTargets(targets: Int32Array): number {
    this.gpu.write(this.targets.tensor, targets);
    this.targets.rows = targets.length;
    this.targets.supervised = countSupervised(targets, this.V);
    return this.targets.supervised;
  }

  /**
   * loss (1) = weight · mean CE of h (N, C) · headᵀ against the targets set last; with dh,
   * dh (=) weight · dL/dh. Returns the number of supervised rows (0: loss and dh are 0).
   */
  runOnTargets(h: Tensor, head: RowSplitMatrix, opts: { dh?: Tensor; weight?: number } = {}): number {
    const { rows: N, supervised } = this.targets;
    const scale = supervised > 0 ? (opts.weight ?? 1) / supervised : 0;
    crossEntropyForwardBackward(this.gpu, { h, E: head, targets: this.targets.tensor, dh: opts.dh, lossPerRow: this.lossPerRow, N, C: this.C, V: this.V, chunkRows: this.chunkRows, scale, scratch: this.scratch });
    crossEntropyLossSum(this.gpu, this.lossPerRow, this.loss, N, scale);
    return supervised;
  }

  /** setTargets, then runOnTargets. */
  run(h: Tensor, head: RowSplitMatrix, targets: Int32Array, opts: { dh?: Tensor; weight?: number } = {}): number {
    this.setTargets(targets);
    return this.runOnTargets(h, head, opts);
  }
}
