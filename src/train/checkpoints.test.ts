import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ShadowOptimizer } from '../shadow/optimizer';
import type { ShadowPeftModel } from '../shadow/shadowModel';
import type { StudioDbSchema } from './checkpoints';
import { CheckpointStore, STUDIO_DB_VERSION, upgradeStudioDb } from './checkpoints';
import type { Checkpoint } from './checkpointState';
import { CHECKPOINT_FORMAT_VERSION, checkpointChecksum, checkpointId, restoreCheckpoint } from './checkpointState';
import { initialProgress } from './progress';
import { scheduleState } from './schedule';
import { tinyRunConfig } from './testing/tinyRun';

let dbCount = 0;
const freshName = () => `checkpoints-test-${++dbCount}`;

/** A synthetic checkpoint (no GPU): two tensors whose values encode the step. */
function fakeCheckpoint(runId: string, step: number, createdAt: string): Checkpoint {
  const id = checkpointId(runId, step);
  const tensor = (k: number, n: number) => Float32Array.from({ length: n }, (_, i) => step * 1000 + k * 100 + i).buffer;
  const config = tinyRunConfig();
  return {
    manifest: {
      id,
      runId,
      step,
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      createdAt,
      baseModel: { ...config.baseModel },
      config,
      datasetFingerprint: 'abc',
      schedule: scheduleState({ kind: 'linear', peakLr: 1e-3, totalSteps: 10, warmupRatio: 0.1 }),
      rng: { seed: config.seed, step },
      optimizerStep: step,
      progress: { ...initialProgress(), step, cursor: { epoch: 0, position: step }, history: [{ step, epoch: 0.5, loss: 2, baseLoss: 1.9, shadowLoss: 2, lr: 1e-3, gradNorm: 1 }] },
      tensorNames: ['a', 'b'],
      bytes: 3 * 4 * (5 + 3),
    },
    tensors: { id, params: { a: tensor(1, 5), b: tensor(2, 3) }, m: { a: tensor(3, 5), b: tensor(4, 3) }, v: { a: tensor(5, 5), b: tensor(6, 3) } },
  };
}

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
/** The manifest as the store keeps it: with its tensors' count, bytes and checksum. */
const stored = (ck: Checkpoint) => ({ ...ck.manifest, ...checkpointChecksum(ck.tensors) });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('checkpoint store (IndexedDB)', () => {
  it('save → list → load round-trips every field and tensor; delete removes both parts', async () => {
    const store = await CheckpointStore.open({ dbName: freshName() });
    const ck = fakeCheckpoint('run', 4, at(1));
    expect(await store.saveCheckpoint(ck, 3)).toBe('run@4');
    expect(await store.listCheckpoints()).toEqual([stored(ck)]);
    expect(stored(ck)).toMatchObject({ tensorCount: 6, bytes: 96, checksum: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const back = await store.loadCheckpoint('run@4');
    expect(back.manifest).toEqual(stored(ck));
    for (const set of ['params', 'm', 'v'] as const) {
      for (const name of ['a', 'b']) expect(Array.from(new Float32Array(back.tensors[set][name]!))).toEqual(Array.from(new Float32Array(ck.tensors[set][name]!)));
    }
    await store.deleteCheckpoint('run@4');
    expect(await store.listCheckpoints()).toEqual([]);
    await expect(store.loadCheckpoint('run@4')).rejects.toThrow(/^E306 checkpoint 'run@4' does not exist/);
    store.close();
  });

  it('keeps the newest K per run, other runs untouched', async () => {
    const name = freshName();
    const store = await CheckpointStore.open({ dbName: name });
    await store.saveCheckpoint(fakeCheckpoint('other', 1, at(0)), 3);
    for (let s = 1; s <= 5; s++) await store.saveCheckpoint(fakeCheckpoint('run', s * 10, at(s)), 3);
    expect((await store.listCheckpoints('run')).map((m) => m.step)).toEqual([50, 40, 30]);
    expect((await store.listCheckpoints('other')).map((m) => m.step)).toEqual([1]);
    store.close();
    const raw = await openDB(name, STUDIO_DB_VERSION);
    expect((await raw.getAllKeys('checkpointTensors')).sort()).toEqual(['other@1', 'run@30', 'run@40', 'run@50']);
    raw.close();
  });

  it('a write that fails half way (storage full) leaves the newest good checkpoint and no orphan tensors; E303 says how many bytes', async () => {
    const name = freshName();
    const storage = { estimate: async () => ({ usage: 900, quota: 1000 }) };
    const store = await CheckpointStore.open({ dbName: name, storage });
    const good = fakeCheckpoint('run', 1, at(1));
    await store.saveCheckpoint(good, 3);
    // The tensors' put succeeds, the manifest's put (second) fails as a full disk would.
    const put = IDBObjectStore.prototype.put;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'checkpoints') throw new DOMException('the quota has been exceeded', 'QuotaExceededError');
      return put.apply(this, args);
    });
    const bad = fakeCheckpoint('run', 2, at(2));
    await expect(store.saveCheckpoint(bad, 3)).rejects.toThrow(/^E303 the browser's storage is full: a checkpoint needs 96 B \(96 bytes\) \(100 B of 1000 B left\) — delete old runs/);
    vi.restoreAllMocks();
    expect((await store.listCheckpoints('run')).map((m) => m.id)).toEqual(['run@1']);
    expect((await store.loadCheckpoint('run@1')).manifest).toEqual(stored(good));
    store.close();
    const raw = await openDB(name, STUDIO_DB_VERSION);
    expect(await raw.getAllKeys('checkpointTensors')).toEqual(['run@1']);
    raw.close();
  });

  it('listing leaves out and deletes a manifest without tensors and tensors without a manifest; the newest whole one is offered', async () => {
    const name = freshName();
    const store = await CheckpointStore.open({ dbName: name });
    const whole = fakeCheckpoint('run', 1, at(1));
    await store.saveCheckpoint(whole, 3);
    // What a writer that split the save over two transactions would leave after a crash between them.
    const raw = await openDB<StudioDbSchema>(name, STUDIO_DB_VERSION);
    const half = fakeCheckpoint('run', 2, at(2));
    await raw.put('checkpoints', { ...half.manifest, ...checkpointChecksum(half.tensors) });
    await raw.put('checkpointTensors', fakeCheckpoint('run', 3, at(3)).tensors);
    const inv = await store.inventory();
    expect(inv.complete.map((m) => m.id)).toEqual(['run@1']);
    expect(inv.skipped).toEqual([{ id: 'run@2', reason: 'its tensors are missing' }]);
    expect(inv.orphanTensors).toEqual(['run@3']);
    // cleaned up: the next listing has nothing to skip
    expect((await raw.getAllKeys('checkpoints')).sort()).toEqual(['run@1']);
    expect((await raw.getAllKeys('checkpointTensors')).sort()).toEqual(['run@1']);
    expect((await store.inventory()).skipped).toEqual([]);
    await expect(store.loadCheckpoint('run@2')).rejects.toThrow(/^E306 checkpoint 'run@2' does not exist/);
    raw.close();
    store.close();
  });

  it('a checkpoint whose tensors do not match its checksum is never listed first and never loads (E306)', async () => {
    const name = freshName();
    const writer = await CheckpointStore.open({ dbName: name });
    await writer.saveCheckpoint(fakeCheckpoint('run', 1, at(1)), 3);
    await writer.saveCheckpoint(fakeCheckpoint('run', 2, at(2)), 3);
    await writer.saveCheckpoint(fakeCheckpoint('run', 3, at(3)), 3);
    writer.close();
    // Damage step 3's AdamW v (one value), and cut step 2's adapter short: as a failing disk would.
    const raw = await openDB<StudioDbSchema>(name, STUDIO_DB_VERSION);
    const t3 = (await raw.get('checkpointTensors', 'run@3'))!;
    const v = new Float32Array(t3.v.b!);
    v[1] = 42;
    await raw.put('checkpointTensors', { ...t3, v: { ...t3.v, b: v.buffer } });
    const t2 = (await raw.get('checkpointTensors', 'run@2'))!;
    await raw.put('checkpointTensors', { ...t2, params: { ...t2.params, a: t2.params.a!.slice(0, 8) } });
    const reader = await CheckpointStore.open({ dbName: name });
    await expect(reader.loadCheckpoint('run@3')).rejects.toThrow(/^E306 checkpoint 'run@3' is not whole: its tensors' checksum is [0-9a-f]{16}, its manifest recorded [0-9a-f]{16} — resume from an older checkpoint/);
    const inv = await reader.inventory('run');
    expect(inv.complete.map((m) => m.id)).toEqual(['run@1']);
    expect(inv.skipped).toEqual([
      { id: 'run@3', reason: expect.stringMatching(/^its tensors' checksum is/) },
      { id: 'run@2', reason: 'its tensors are 84 bytes, its manifest recorded 96' },
    ]);
    expect((await reader.loadCheckpoint('run@1')).manifest.step).toBe(1);
    expect((await raw.getAllKeys('checkpoints')).sort()).toEqual(['run@1']);
    raw.close();
    reader.close();
  });

  it('a checkpoint written before checksums (no tensorCount, no checksum) still lists and loads', async () => {
    const name = freshName();
    const raw = await openDB<StudioDbSchema>(name, STUDIO_DB_VERSION, { upgrade: (d, old) => upgradeStudioDb(d, old) });
    const old = fakeCheckpoint('old', 5, at(5));
    await raw.put('checkpointTensors', old.tensors);
    await raw.put('checkpoints', old.manifest);
    raw.close();
    const store = await CheckpointStore.open({ dbName: name });
    expect(await store.listCheckpoints()).toEqual([old.manifest]);
    expect((await store.loadCheckpoint('old@5')).manifest).toEqual(old.manifest);
    store.close();
  });

  it('other storage failures are E307; IndexedDB missing is E307', async () => {
    const store = await CheckpointStore.open({ dbName: freshName() });
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(() => {
      throw new DOMException('disk on fire', 'UnknownError');
    });
    await expect(store.saveCheckpoint(fakeCheckpoint('run', 1, at(1)), 3)).rejects.toThrow(/^E307 saving a checkpoint failed: disk on fire/);
    store.close();
    vi.stubGlobal('indexedDB', undefined);
    try {
      await expect(CheckpointStore.open()).rejects.toThrow(/^E307 IndexedDB is not available/);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('asks for persistent storage when given navigator.storage', async () => {
    const persist = vi.fn(async () => true);
    const s1 = await CheckpointStore.open({ dbName: freshName(), storage: { persist } });
    expect(persist).toHaveBeenCalledTimes(1);
    expect(s1.persisted).toBe(true);
    s1.close();
    const s2 = await CheckpointStore.open({ dbName: freshName(), storage: { persist: async () => Promise.reject(new Error('denied')) } });
    expect(s2.persisted).toBe(false);
    s2.close();
    const s3 = await CheckpointStore.open({ dbName: freshName() });
    expect(s3.persisted).toBeNull();
    s3.close();
  });

  it('restore refuses another format version, dataset or base model before touching the GPU', () => {
    const ck = fakeCheckpoint('run', 1, at(1));
    const noModel = {} as ShadowPeftModel;
    const noOpt = {} as ShadowOptimizer;
    expect(() => restoreCheckpoint({ ...ck, manifest: { ...ck.manifest, formatVersion: 99 } }, noModel, noOpt)).toThrow(/^E306 checkpoint run@1 has format version 99/);
    expect(() => restoreCheckpoint(ck, noModel, noOpt, { datasetFingerprint: 'xyz' })).toThrow(/^E305 checkpoint run@1: the dataset differs/);
    expect(() => restoreCheckpoint(ck, noModel, noOpt, { baseModelId: 'Qwen/Qwen3-4B' })).toThrow(/^E305 checkpoint run@1: it was trained on 'qwen3-tiny'/);
  });
});
