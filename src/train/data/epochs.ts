import { StudioError } from '../../engine/errors';
import { DataErrorCode } from './issues';
import { mixSeed, shuffledIndices } from './rng';

/** Where training is in the data: the next batch starts at order[position] of epoch `epoch`. */
export interface DataCursor {
  epoch: number;
  position: number;
}

export interface EpochOptions {
  batchSize: number;
  seed: number;
  /** a fresh seeded order every epoch (default true); false keeps file order */
  shuffle?: boolean;
  /** skip an epoch's last batch when it is smaller than batchSize (default false) */
  dropLast?: boolean;
}

export interface BatchIndices {
  /** example indices of this batch, in order */
  indices: number[];
  /** the cursor this batch started at */
  epoch: number;
  position: number;
}

/**
 * Endless, deterministic batches over n examples. The order of epoch e depends only on (seed, e), so a
 * saved cursor resumes exactly: a new iterator built with it yields the same batches as the old one
 * would have.
 */
export class EpochIterator {
  private epoch: number;
  private position: number;
  private orderEpoch = -1;
  private order: number[] = [];

  constructor(
    readonly n: number,
    readonly options: EpochOptions,
    cursor: DataCursor = { epoch: 0, position: 0 },
  ) {
    const { batchSize } = options;
    if (!Number.isInteger(n) || n < 1) throw new StudioError(DataErrorCode.badOption, `no examples to iterate over (n = ${n})`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new StudioError(DataErrorCode.badOption, `batch size must be a positive integer, got ${batchSize}`);
    if (options.dropLast && batchSize > n) {
      throw new StudioError(DataErrorCode.badOption, `batch size ${batchSize} is larger than the ${n} examples and the last batch is dropped`, 'lower the batch size');
    }
    if (!Number.isInteger(cursor.epoch) || cursor.epoch < 0 || !Number.isInteger(cursor.position) || cursor.position < 0 || cursor.position >= n) {
      throw new StudioError(DataErrorCode.badOption, `cursor ${JSON.stringify(cursor)} does not fit ${n} examples`, 'the checkpoint belongs to another dataset');
    }
    this.epoch = cursor.epoch;
    this.position = cursor.position;
    this.normalize();
  }

  /** Batches per epoch with these options. */
  get batchesPerEpoch(): number {
    const { batchSize, dropLast } = this.options;
    return dropLast ? Math.floor(this.n / batchSize) : Math.ceil(this.n / batchSize);
  }

  /** The cursor of the next batch (save this with a checkpoint). */
  get cursor(): DataCursor {
    return { epoch: this.epoch, position: this.position };
  }

  /** The example order of an epoch. */
  orderOf(epoch: number): number[] {
    if (epoch !== this.orderEpoch) {
      this.order = this.options.shuffle === false ? Array.from({ length: this.n }, (_, i) => i) : shuffledIndices(this.n, mixSeed(this.options.seed, epoch));
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  next(): BatchIndices {
    const { epoch, position } = this;
    const end = Math.min(position + this.options.batchSize, this.n);
    const indices = this.orderOf(epoch).slice(position, end);
    this.position = end;
    this.normalize();
    return { indices, epoch, position };
  }

  /** Moves to the next epoch when this one has no (full, with dropLast) batch left. */
  private normalize(): void {
    const left = this.n - this.position;
    if (left <= 0 || (this.options.dropLast && left < this.options.batchSize)) {
      this.epoch++;
      this.position = 0;
    }
  }
}
