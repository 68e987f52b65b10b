/**
 * Checkpoints in IndexedDB (through `idb`). This module is the one place that knows the database's
 * name, version and upgrade function (docs/conventions.md §6).
 *
 * Layout: store `checkpoints` holds the manifests (small: listed without touching tensors, indexed by
 * run), store `checkpointTensors` the adapter / m / v ArrayBuffers under the same id. A save writes
 * both, then prunes the run to its newest K, in ONE readwrite transaction: IndexedDB commits it
 * whole or not at all, so a crash, a closed tab or a full disk mid-write leaves the previous
 * checkpoints intact and never a manifest without its tensors (e2e/checkpointDurability.spec.ts
 * closes the page mid-save to show it).
 *
 * Nothing is trusted for being there, though: the manifest records the count, bytes and checksum of
 * its tensors (set here, at save). Listing leaves out (and deletes) a manifest without tensors and
 * tensors without a manifest, and reads back the newest checkpoint to compare its checksum, so what a
 * resume offer takes is whole; loading compares the checksum of every checkpoint it returns.
 *
 * No global of the page is touched here besides `indexedDB`: the caller passes navigator.storage
 * (browser or worker) to ask for persistent storage and to size quota errors.
 */
import type { DBSchema, IDBPDatabase } from 'idb';
import { openDB } from 'idb';
import { StudioError } from '../engine/errors';
import { formatBytes } from '../engine/runtime';
import type { Checkpoint, CheckpointManifest, CheckpointTensors } from './checkpointState';
import { checkpointChecksum, checkpointDamage, checkpointId } from './checkpointState';
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

/** A stored checkpoint that listing left out (and removed), and why. */
export interface SkippedCheckpoint {
  id: string;
  reason: string;
}

export interface CheckpointInventory {
  /** whole checkpoints, newest first; the first has had its tensors read back and checked */
  complete: CheckpointManifest[];
  /** manifests left out: no tensors, a checksum that does not match, a malformed manifest */
  skipped: SkippedCheckpoint[];
  /** ids of tensor records without a manifest (removed) */
  orphanTensors: string[];
}

/** What is wrong with a stored manifest's own fields (before its tensors are looked at), or null. */
function manifestProblem(m: CheckpointManifest): string | null {
  if (typeof m.runId !== 'string' || !Number.isInteger(m.step) || m.id !== checkpointId(m.runId, m.step)) return `its id does not match its run and step`;
  if (!Array.isArray(m.tensorNames) || typeof m.createdAt !== 'string' || !m.progress || !m.config) return 'its manifest is incomplete';
  return null;
}

/** Identifies one written state of a checkpoint id (an id is written again after a resume from an older step). */
const writeKey = (m: CheckpointManifest) => `${m.id}|${m.createdAt}|${m.checksum ?? ''}`;

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

  /** Checkpoint writes (this store's saves, and checkpoints read back whole) known to be complete. */
  private readonly verified = new Set<string>();

  /**
   * Stores a checkpoint and keeps only the newest `keep` of its run, atomically. The stored manifest
   * gets the count, bytes and checksum of the tensors written with it. Returns its id.
   */
  async saveCheckpoint(ck: Checkpoint, keep: number): Promise<string> {
    if (ck.manifest.id !== ck.tensors.id) throw new StudioError(TrainErrorCode.checkpointFormat, `checkpoint manifest ${ck.manifest.id} and tensors ${ck.tensors.id} differ`);
    const manifest: CheckpointManifest = { ...ck.manifest, ...checkpointChecksum(ck.tensors) };
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
    this.verified.add(writeKey(manifest));
    return manifest.id;
  }

  /** Whole checkpoints, newest first; all runs, or one (see inventory for what is left out). */
  async listCheckpoints(runId?: string): Promise<CheckpointManifest[]> {
    return (await this.inventory(runId)).complete;
  }

  /**
   * The stored checkpoints, whole ones apart from the rest. A manifest without tensors, or with a
   * malformed id, is left out; so is the newest one if its tensors do not match the count, bytes and
   * checksum its manifest recorded (then the next newest is read back, and so on), so the first
   * whole checkpoint is always one that loads. What is left out, and tensor records without a
   * manifest, are deleted.
   */
  async inventory(runId?: string): Promise<CheckpointInventory> {
    const tx = this.db.transaction(['checkpoints', 'checkpointTensors'], 'readonly');
    const [manifests, keys] = await Promise.all([
      runId === undefined ? tx.objectStore('checkpoints').getAll() : tx.objectStore('checkpoints').index('byRun').getAll(runId),
      tx.objectStore('checkpointTensors').getAllKeys(),
      tx.done,
    ]);
    const withTensors = new Set(keys);
    const skipped: SkippedCheckpoint[] = [];
    const drop: CheckpointManifest[] = [];
    const complete: CheckpointManifest[] = [];
    for (const m of manifests.sort(newestFirst)) {
      const problem = manifestProblem(m) ?? (withTensors.has(m.id) ? null : 'its tensors are missing');
      if (problem) {
        skipped.push({ id: String(m.id), reason: problem });
        drop.push(m);
      } else complete.push(m);
    }
    // The newest whole one is what a resume offer takes: read it back unless this store wrote or read it.
    while (complete.length > 0 && !this.verified.has(writeKey(complete[0]!))) {
      const m = complete[0]!;
      const damage = checkpointDamage(m, await this.db.get('checkpointTensors', m.id));
      if (damage === null) {
        this.verified.add(writeKey(m));
        break;
      }
      skipped.push({ id: m.id, reason: damage });
      drop.push(m);
      complete.shift();
    }
    const named = new Set(manifests.map((m) => m.id));
    const orphanTensors = keys.filter((k) => !named.has(k) && (runId === undefined || k.startsWith(`${runId}@`)));
    if (drop.length > 0 || orphanTensors.length > 0) await this.removeIncomplete(drop, orphanTensors);
    return { complete, skipped, orphanTensors };
  }

  /** Loads a checkpoint after checking its tensors against its manifest's count, bytes and checksum (E306 otherwise). */
  async loadCheckpoint(id: string): Promise<Checkpoint> {
    const tx = this.db.transaction(['checkpoints', 'checkpointTensors'], 'readonly');
    const [manifest, tensors] = await Promise.all([tx.objectStore('checkpoints').get(id), tx.objectStore('checkpointTensors').get(id), tx.done]);
    if (!manifest) throw new StudioError(TrainErrorCode.checkpointFormat, `checkpoint '${id}' does not exist`, 'choose one of the listed checkpoints');
    const damage = this.verified.has(writeKey(manifest)) && tensors ? null : checkpointDamage(manifest, tensors);
    if (damage !== null) throw new StudioError(TrainErrorCode.checkpointFormat, `checkpoint '${id}' is not whole: ${damage}`, 'resume from an older checkpoint (the list leaves this one out from now on)');
    this.verified.add(writeKey(manifest));
    return { manifest, tensors: tensors! };
  }

  async deleteCheckpoint(id: string): Promise<void> {
    const tx = this.db.transaction(['checkpoints', 'checkpointTensors'], 'readwrite');
    await Promise.all([tx.objectStore('checkpoints').delete(id), tx.objectStore('checkpointTensors').delete(id), tx.done]);
  }

  close(): void {
    this.db.close();
  }

  /**
   * Deletes manifests that listing left out (unless rewritten since) with any tensors under their id,
   * and tensor records that still have no manifest. A failure here is harmless: they stay left out.
   */
  private async removeIncomplete(manifests: CheckpointManifest[], orphanTensors: string[]): Promise<void> {
    try {
      const tx = this.db.transaction(['checkpoints', 'checkpointTensors'], 'readwrite');
      const ms = tx.objectStore('checkpoints');
      const ts = tx.objectStore('checkpointTensors');
      for (const m of manifests) {
        const now = await ms.get(m.id);
        if (now && now.createdAt !== m.createdAt) continue;
        await ms.delete(m.id);
        await ts.delete(m.id);
      }
      for (const id of orphanTensors) if ((await ms.count(id)) === 0) await ts.delete(id);
      await tx.done;
    } catch {
      // another tab holds the database, or storage failed: the next listing tries again
    }
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
