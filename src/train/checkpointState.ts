import { StudioError } from '../engine/errors';
import { Fnv1a64 } from '../engine/hash';
import { numel } from '../engine/tensor';
import type { ShadowOptimizer } from '../shadow/optimizer';
import type { ShadowPeftModel } from '../shadow/shadowModel';
import type { GpuParamSpec, ShadowTensors } from '../shadow/shadowParams';
import { canonicalJson } from './data/fingerprint';
import { TrainErrorCode } from './errors';
import type { TrainProgress } from './progress';
import { cloneProgress } from './progress';
import type { RunConfig } from './runConfig';
import type { ScheduleState } from './schedule';

/** Bumped whenever the stored shape of a checkpoint changes; other versions are refused. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** The small part of a checkpoint: listed without reading any tensor. */
export interface CheckpointManifest {
  /** `${runId}@${step}` */
  id: string;
  runId: string;
  step: number;
  formatVersion: number;
  /** ISO 8601 */
  createdAt: string;
  baseModel: { id: string; revision: string | null };
  config: RunConfig;
  datasetFingerprint: string;
  /** the schedule's constants; with optimizerStep they give every remaining learning rate */
  schedule: ScheduleState;
  /**
   * All randomness of a run derives from the seed and the step: dropout masks are keyed by
   * (seed, step · accumulation + micro-batch), epoch orders by (seed, epoch) plus the data cursor.
   */
  rng: { seed: number; step: number };
  optimizerStep: number;
  /** cursor, loss history, early-stopping state */
  progress: TrainProgress;
  /** GPU tensor names (ShadowPeftModel.specs order) and the bytes of params + m + v */
  tensorNames: string[];
  bytes: number;
  /**
   * What the tensors record must hold for the checkpoint to be whole: the number of params + m + v
   * entries and their checksum (checkpointChecksum), set by CheckpointStore.saveCheckpoint from the
   * tensors it writes. Loading and listing compare them; a checkpoint that does not match is never
   * offered. Absent in checkpoints written before they existed (restore checks those by sizes only).
   */
  tensorCount?: number;
  checksum?: string;
}

/** f32 contents of every adapter GPU tensor and both AdamW moments, by GPU tensor name. */
export interface CheckpointTensors {
  id: string;
  params: Record<string, ArrayBuffer>;
  m: Record<string, ArrayBuffer>;
  v: Record<string, ArrayBuffer>;
}

export interface Checkpoint {
  manifest: CheckpointManifest;
  tensors: CheckpointTensors;
}

export interface CheckpointMeta {
  runId: string;
  config: RunConfig;
  datasetFingerprint: string;
  schedule: ScheduleState;
  progress: TrainProgress;
}

export function checkpointId(runId: string, step: number): string {
  return `${runId}@${step}`;
}

const ROLES = ['params', 'm', 'v'] as const;

/**
 * FNV-1a 64 over every tensor of the record, role by role and name by name (sorted), each preceded by
 * its role, name and byte length: a tensor missing, cut short, renamed or changed changes the sum.
 */
export function checkpointChecksum(tensors: Pick<CheckpointTensors, 'params' | 'm' | 'v'>): { tensorCount: number; bytes: number; checksum: string } {
  const h = new Fnv1a64();
  let tensorCount = 0;
  let bytes = 0;
  for (const role of ROLES) {
    const set = tensors[role] ?? {};
    for (const name of Object.keys(set).sort()) {
      const buf = set[name]!;
      h.updateString(`${role}:${name}:${buf.byteLength};`);
      h.update(new Uint8Array(buf));
      tensorCount++;
      bytes += buf.byteLength;
    }
  }
  return { tensorCount, bytes, checksum: h.hex() };
}

/**
 * Why a stored checkpoint is not whole, or null when it is: the tensors record missing or of another
 * id, or its count, bytes or checksum differing from what the manifest recorded when it was written.
 */
export function checkpointDamage(manifest: CheckpointManifest, tensors: CheckpointTensors | undefined): string | null {
  if (!tensors) return 'its tensors are missing';
  if (tensors.id !== manifest.id) return `its tensors record is ${tensors.id}`;
  if (manifest.checksum === undefined) return null; // written before checksums: restore checks the sizes
  const got = checkpointChecksum(tensors);
  if (got.tensorCount !== manifest.tensorCount) return `it holds ${got.tensorCount} tensors, its manifest recorded ${manifest.tensorCount}`;
  if (got.bytes !== manifest.bytes) return `its tensors are ${got.bytes} bytes, its manifest recorded ${manifest.bytes}`;
  if (got.checksum !== manifest.checksum) return `its tensors' checksum is ${got.checksum}, its manifest recorded ${manifest.checksum}`;
  return null;
}

/** The specs a set holds: every tensor for the parameters, the trainable ones for the AdamW moments. */
function specsOf(model: ShadowPeftModel, set: ShadowTensors) {
  return model.specs.filter((s) => set.byName.has(s.name));
}

async function readAll(model: ShadowPeftModel, set: ShadowTensors, role: string): Promise<Record<string, ArrayBuffer>> {
  const out: Record<string, ArrayBuffer> = {};
  for (const s of specsOf(model, set)) {
    const data = await model.gpu.read(set.byName.get(s.name)!);
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      throw new StudioError(TrainErrorCode.nonFiniteAdapter, `${role} tensor '${s.name}' holds ${data[bad]} at index ${bad}; a non-finite adapter is never saved`, 'resume from the last good checkpoint and lower the learning rate');
    }
    out[s.name] = data.slice().buffer;
  }
  return out;
}

/** One stored tensor of a checkpoint, checked against the size its spec says (E306 names it otherwise). */
export function checkpointTensor(man: CheckpointManifest, data: Record<string, ArrayBuffer>, spec: Pick<GpuParamSpec, 'name' | 'shape'>, role: string): Float32Array {
  const buf = data[spec.name];
  const bytes = numel(spec.shape) * 4;
  if (!buf || buf.byteLength !== bytes) {
    throw new StudioError(TrainErrorCode.checkpointFormat, `checkpoint ${man.id}: ${role} tensor '${spec.name}' is ${buf ? `${buf.byteLength} bytes` : 'missing'}, expected ${bytes}`, 'the checkpoint is damaged; use an older one');
  }
  return new Float32Array(buf);
}

/** Reads the adapter, m and v back from the GPU; refuses (E304) if any value is NaN or ±Inf. */
export async function captureCheckpoint(model: ShadowPeftModel, optimizer: ShadowOptimizer, meta: CheckpointMeta): Promise<Checkpoint> {
  const id = checkpointId(meta.runId, optimizer.step);
  const params = await readAll(model, model.params, 'adapter');
  const m = await readAll(model, optimizer.m, 'AdamW m');
  const v = await readAll(model, optimizer.v, 'AdamW v');
  const bytes = [params, m, v].reduce((sum, set) => sum + Object.values(set).reduce((a, b) => a + b.byteLength, 0), 0);
  return {
    manifest: {
      id,
      runId: meta.runId,
      step: optimizer.step,
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      baseModel: { ...meta.config.baseModel },
      config: structuredClone(meta.config),
      datasetFingerprint: meta.datasetFingerprint,
      schedule: { ...meta.schedule },
      rng: { seed: meta.config.seed, step: optimizer.step },
      optimizerStep: optimizer.step,
      progress: cloneProgress(meta.progress),
      tensorNames: model.specs.map((s) => s.name),
      bytes,
    },
    tensors: { id, params, m, v },
  };
}

/** What the caller knows must match (the loaded base, the dataset it tokenized). */
export interface RestoreExpectations {
  baseModelId?: string;
  datasetFingerprint?: string;
}

/**
 * Writes a checkpoint's adapter, m and v to the GPU and sets the optimizer's step. The model must
 * have been created with the checkpoint's shadow config on the checkpoint's base model.
 */
export function restoreCheckpoint(ck: Checkpoint, model: ShadowPeftModel, optimizer: ShadowOptimizer, expect: RestoreExpectations = {}): void {
  const { manifest: man, tensors } = ck;
  const mismatch = (what: string, hint: string) => new StudioError(TrainErrorCode.checkpointMismatch, `checkpoint ${man.id}: ${what}`, hint);
  if (man.formatVersion !== CHECKPOINT_FORMAT_VERSION) {
    throw new StudioError(TrainErrorCode.checkpointFormat, `checkpoint ${man.id} has format version ${man.formatVersion}, this studio reads ${CHECKPOINT_FORMAT_VERSION}`, 'start a new run (the adapter can still be exported from the studio version that wrote it)');
  }
  if (expect.baseModelId !== undefined && expect.baseModelId !== man.baseModel.id) throw mismatch(`it was trained on '${man.baseModel.id}', the loaded model is '${expect.baseModelId}'`, 'load the base model the run started with');
  if (expect.datasetFingerprint !== undefined && expect.datasetFingerprint !== man.datasetFingerprint) {
    throw mismatch(`the dataset differs (fingerprint ${expect.datasetFingerprint}, the run used ${man.datasetFingerprint})`, 'choose the same file and data options to resume, or start a new run');
  }
  if (canonicalJson(man.config.shadow) !== canonicalJson(model.config)) throw mismatch('the shadow configuration differs from the model it is restored into', 'create the model from manifest.config.shadow');
  // Checkpoints written before explicit shadows existed have no explicitShadow: the implicit one.
  if (canonicalJson(man.config.explicitShadow ?? null) !== canonicalJson(model.explicit)) throw mismatch('its explicit shadow model differs from the model it is restored into', 'create the model with manifest.config.explicitShadow');
  const names = model.specs.map((s) => s.name);
  if (canonicalJson(names) !== canonicalJson(man.tensorNames)) throw mismatch('its adapter tensors differ from this model’s', 'load the base model the run started with');
  const write = (set: ShadowTensors, data: Record<string, ArrayBuffer>, role: string) => {
    for (const s of specsOf(model, set)) model.gpu.write(set.byName.get(s.name)!, checkpointTensor(man, data, s, role));
  };
  write(model.params, tensors.params, 'adapter');
  write(optimizer.m, tensors.m, 'AdamW m');
  write(optimizer.v, tensors.v, 'AdamW v');
  optimizer.step = man.optimizerStep;
}
