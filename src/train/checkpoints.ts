/**
 * Checkpoints in IndexedDB (through `idb`). This module is the one place that knows the database's
 * name, version and upgrade function (docs/conventions.md §6).
 *
 * Layout: store `checkpoints` holds the manifests (small: listed without touching tensors, indexed by
 * run), store `checkpointTensors` the adapter / m / v ArrayBuffers under the same id. A save writes
 * both, then prunes the run to its newest K, in ONE readwrite transaction: IndexedDB commits it
 * whole or not at all, so a crash or a full disk mid-write leaves the previous checkpoints intact
 * and never a manifest without its tensors.
 *
 * No global of the page is touched here besides `indexedDB`: the caller passes navigator.storage
 * (browser or worker) to ask for persistent storage and to size quota errors.
 */
import type { DBSchema, IDBPDatabase } from 'idb';
import { openDB } from 'idb';
import { StudioError } from '../engine/errors';
import { formatBytes } from '../engine/runtime';
import type { Checkpoint, CheckpointManifest, CheckpointTensors } from './checkpointState';
import { TrainErrorCode } from './errors';

export const STUDIO_DB_NAME = 'shadowpeft-studio';
export const STUDIO_DB_VERSION = 1;

export interface StudioDbSchema extends DBSchema {
  checkpoints: { key: string; value: CheckpointManifest; indexes: { byRun: string } };
  checkpointTensors: { key: string; value: CheckpointTensors };
}

/** Creates (and later migrates) the stores: each `if` brings a database of oldVersion one version up. */
export function upgradeStudioDb(db: IDBPDatabase<StudioDbSchema>, oldVersion: number): void {
  if (oldVersion < 1) {
    const manifests = db.createObjectStore('checkpoints', { keyPath: 'id' });
    manifests.createIndex('byRun', 'runId');
    db.createObjectStore('checkpointTensors', { keyPath: 'id' });
  }
}

/** The part of navigator.storage (StorageManager) this module uses; every member optional. */
export interface StorageLike {
  persist?(): Promise<boolean>;
  estimate?(): Promise<{ usage?: number; quota?: number }>;
}

function isQuotaError(e: unknown): boolean {
  const x = e as { name?: unknown; code?: unknown } | null;
  return !!x && (x.name === 'QuotaExceededError' || x.name === 'NS_ERROR_DOM_QUOTA_REACHED' || x.code === 22);
}

/** Newest first: by creation time, then by step. */
function newestFirst(a: CheckpointManifest, b: CheckpointManifest): number {
  return a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : b.step - a.step;
}

export class CheckpointStore {
  private constructor(
    private readonly db: IDBPDatabase<StudioDbSchema>,
    private readonly storage: StorageLike | undefined,
    /** whether the browser granted persistent storage (null: not asked / not available) */
    readonly persisted: boolean | null,
  ) {}

  /**
   * Opens (creating or upgrading) the database. With `storage` (navigator.storage) it first asks for
   * persistent storage, so the browser does not evict checkpoints under pressure.
   */
  static async open(opts: { storage?: StorageLike; dbName?: string } = {}): Promise<CheckpointStore> {
    if (typeof indexedDB === 'undefined') throw new StudioError(TrainErrorCode.checkpointStorage, 'IndexedDB is not available here, so checkpoints cannot be stored', 'use a current browser outside private mode, or export the adapter instead');
    let persisted: boolean | null = null;
    if (typeof opts.storage?.persist === 'function') {
      try {
        persisted = await opts.storage.persist();
      } catch {
        persisted = false; // refused or unsupported: checkpoints still work, the browser may evict them
      }
    }
    try {
      const db = await openDB<StudioDbSchema>(opts.dbName ?? STUDIO_DB_NAME, STUDIO_DB_VERSION, { upgrade: (d, oldVersion) => upgradeStudioDb(d, oldVersion) });
      return new CheckpointStore(db, opts.storage, persisted);
    } catch (e) {
      throw new StudioError(TrainErrorCode.checkpointStorage, `could not open the checkpoint database: ${String(e)}`, 'close other studio tabs (an older version may hold the database) and reload');
    }
  }

  /** Stores a checkpoint and keeps only the newest `keep` of its run, atomically. Returns its id. */
  async saveCheckpoint(ck: Checkpoint, keep: number): Promise<string> {
    const { manifest } = ck;
    if (manifest.id !== ck.tensors.id) throw new StudioError(TrainErrorCode.checkpointFormat, `checkpoint manifest ${manifest.id} and tensors ${ck.tensors.id} differ`);
    const tx = this.db.transaction(['checkpoints', 'checkpointTensors'], 'readwrite');
    const done = tx.done.then(
      () => null,
      (e: unknown) => e ?? tx.error,
    );
    try {
      const manifests = tx.objectStore('checkpoints');
      const tensors = tx.objectStore('checkpointTensors');
      // Tensors first, the manifest (what lists show) last; the transaction makes both or neither.
      await tensors.put(ck.tensors);
      await manifests.put(manifest);
      const ofRun = (await manifests.index('byRun').getAll(manifest.runId)).sort(newestFirst);
      for (const old of ofRun.slice(Math.max(1, keep))) {
        await manifests.delete(old.id);
        await tensors.delete(old.id);
      }
    } catch (e) {
      if (!tx.error) {
        try {
          tx.abort();
        } catch {
          // already aborted by the failed request
        }
      }
      await done;
      throw await this.storageError(tx.error ?? e, manifest.bytes);
    }
    const failure = await done;
    if (failure) throw await this.storageError(failure, manifest.bytes);
    return manifest.id;
  }

  /** Manifests, newest first; all runs, or one. */
  async listCheckpoints(runId?: string): Promise<CheckpointManifest[]> {
    const all = runId === undefined ? await this.db.getAll('checkpoints') : await this.db.getAllFromIndex('checkpoints', 'byRun', runId);
    return all.sort(newestFirst);
  }

  async loadCheckpoint(id: string): Promise<Checkpoint> {
    const tx = this.db.transaction(['checkpoints', 'checkpointTensors'], 'readonly');
    const [manifest, tensors] = await Promise.all([tx.objectStore('checkpoints').get(id), tx.objectStore('checkpointTensors').get(id)]);
    await tx.done;
    if (!manifest || !tensors) throw new StudioError(TrainErrorCode.checkpointFormat, `checkpoint '${id}' ${manifest ? 'has no tensors' : 'does not exist'}`, 'choose one of the listed checkpoints');
    return { manifest, tensors };
  }

  async deleteCheckpoint(id: string): Promise<void> {
    const tx = this.db.transaction(['checkpoints', 'checkpointTensors'], 'readwrite');
    await Promise.all([tx.objectStore('checkpoints').delete(id), tx.objectStore('checkpointTensors').delete(id), tx.done]);
  }

  close(): void {
    this.db.close();
  }

  private async storageError(e: unknown, bytes: number): Promise<StudioError> {
    if (e instanceof StudioError) return e;
    if (!isQuotaError(e)) return new StudioError(TrainErrorCode.checkpointStorage, `saving a checkpoint failed: ${String((e as Error)?.message ?? e)}`, 'try again; if it keeps failing, export the adapter instead');
    let free = '';
    try {
      const est = await this.storage?.estimate?.();
      if (est?.quota !== undefined) free = ` (${formatBytes(Math.max(0, est.quota - (est.usage ?? 0)))} of ${formatBytes(est.quota)} left)`;
    } catch {
      // no estimate: the message goes without it
    }
    return new StudioError(
      TrainErrorCode.checkpointQuota,
      `the browser's storage is full: a checkpoint needs ${formatBytes(bytes)} (${bytes} bytes)${free}`,
      'delete old runs or checkpoints, keep fewer checkpoints per run, or free disk space; training itself can go on',
    );
  }
}
