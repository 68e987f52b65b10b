import type { BrowserContext, Page, Worker } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { resolve } from 'node:path';
import { build } from 'vite';
import { mulberry32 } from '../src/engine/random';
import { checkpointChecksum } from '../src/train/checkpointState';
import { go, setNumber } from './helpers';

// Issue 12: a page closed at a random instant while a checkpoint is being written never leaves a
// half-written checkpoint, and the newest whole one is what is offered and resumed. Two tests:
//
// - the store, driven directly (fast, so it runs many trials): the studio's own CheckpointStore,
//   bundled from src/train/checkpoints.ts and loaded into a page of the studio's origin, writes
//   checkpoints back to back (tensors of a known content per step, the size of the studio's real
//   ones); the page is closed at seeded instants, mostly aimed inside a write.
// - the studio UI (slow on SwiftShader: every reopen loads the model and compiles the kernels again):
//   the bundled model trains (micro-batch 2, accumulation 1, max length 64, a checkpoint after every
//   step), the page is closed mid-save, and on reopen the resume offer must be the newest whole
//   checkpoint and resuming must continue at its next step with the loss seen before for that step.
//
// After every close IndexedDB is read raw from a page of the same origin that runs no studio code
// (so nothing has been listed or cleaned yet), and every stored manifest must have whole tensors.
// The pages are observed, never changed: a probe wraps IDBDatabase.transaction / IDBObjectStore.put
// (when a checkpoint's write is in flight, and which one) and MessagePort.postMessage (the worker's
// train-step events), and calls through.
const STORE_TRIALS = Number(process.env.DURABILITY_STORE_TRIALS ?? 24);
const UI_TRIALS = Number(process.env.DURABILITY_UI_TRIALS ?? 3);
const SEED = 12;

/** The close instants come from the project's seeded generator, so they are the same on every run. */
const rng = mulberry32;

interface ProbeWrite {
  id: string | null;
  begin: number;
  end: number | null;
  outcome: 'complete' | 'abort' | null;
}
interface ProbeState {
  writes: ProbeWrite[];
  steps: [number, number][];
  now: number;
}

/** Installed in the studio's worker: observes checkpoint transactions and train-step events. */
function installProbe(): void {
  const g = self as unknown as { __probe?: ProbeState & { onBegin: (() => void) | null; onStep: (() => void) | null } };
  if (g.__probe) return;
  const probe = { writes: [] as ProbeWrite[], steps: [] as [number, number][], now: 0, onBegin: null as (() => void) | null, onStep: null as (() => void) | null };
  g.__probe = probe;
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, names: string | string[], mode?: IDBTransactionMode, options?: IDBTransactionOptions) {
    const tx = transaction.call(this, names, mode, options);
    const stores = typeof names === 'string' ? [names] : [...names];
    if (mode === 'readwrite' && stores.includes('checkpointTensors')) {
      const w: ProbeWrite = { id: null, begin: performance.now(), end: null, outcome: null };
      probe.writes.push(w);
      (tx as unknown as { __write: ProbeWrite }).__write = w;
      tx.addEventListener('complete', () => Object.assign(w, { end: performance.now(), outcome: 'complete' }));
      tx.addEventListener('abort', () => Object.assign(w, { end: performance.now(), outcome: 'abort' }));
      probe.onBegin?.();
    }
    return tx;
  } as typeof transaction;
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
    const w = (this.transaction as unknown as { __write?: ProbeWrite }).__write;
    if (w && this.name === 'checkpoints') w.id = (value as { id: string }).id;
    return put.call(this, value, key);
  } as typeof put;
  const post = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function (this: MessagePort, message: unknown, ...rest: unknown[]) {
    // comlink's call of the UI's event sink: { type: 'APPLY', argumentList: [{ type: 'RAW', value: event }] }
    const e = (message as { argumentList?: { value?: { type?: string; step?: number; loss?: number } }[] } | null)?.argumentList?.[0]?.value;
    if (e?.type === 'train-step') {
      probe.steps.push([e.step!, e.loss!]);
      probe.onStep?.();
    }
    return (post as (...a: unknown[]) => void).call(this, message, ...rest);
  } as typeof post;
}

/** Waits inside the worker for the chosen moment, then returns what the probe saw at that instant. */
function awaitInstant(plan: { kind: 'write'; nth: number; delayMs: number } | { kind: 'step'; nth: number; delayMs: number }): Promise<ProbeState> {
  const probe = (self as unknown as { __probe: ProbeState & { onBegin: (() => void) | null; onStep: (() => void) | null } }).__probe;
  return new Promise((resolve) => {
    let seen = 0;
    const arm = () => {
      if (++seen < plan.nth) return;
      probe.onBegin = null;
      probe.onStep = null;
      setTimeout(() => resolve({ writes: probe.writes.map((w) => ({ ...w })), steps: probe.steps.map((s) => [s[0], s[1]] as [number, number]), now: performance.now() }), plan.delayMs);
    };
    if (plan.kind === 'write') probe.onBegin = arm;
    else probe.onStep = arm;
  });
}

interface RawCheckpoint {
  manifest: { id: string; runId: string; step: number; createdAt: string; bytes: number; tensorCount?: number; checksum?: string; progress: { history: { step: number; loss: number }[] } };
  tensors: { params: Record<string, string>; m: Record<string, string>; v: Record<string, string> } | null;
}
interface RawState {
  checkpoints: RawCheckpoint[];
  /** tensor records without a manifest */
  orphans: string[];
}

/** Runs in a page of the studio's origin that does not run the studio: IndexedDB as the close left it. */
async function readRawStore(): Promise<RawState | null> {
  const db = await new Promise<IDBDatabase | null>((resolve, reject) => {
    const r = indexedDB.open('shadowpeft-studio');
    r.onupgradeneeded = () => r.transaction!.abort(); // no database yet: create none
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => resolve(null);
    r.onblocked = () => reject(new Error('blocked'));
  });
  if (!db) return null;
  const tx = db.transaction(['checkpoints', 'checkpointTensors'], 'readonly');
  const all = <T,>(store: string) => new Promise<T[]>((resolve, reject) => {
    const q = tx.objectStore(store).getAll();
    q.onsuccess = () => resolve(q.result as T[]);
    q.onerror = () => reject(q.error);
  });
  const [manifests, tensors] = await Promise.all([all<RawCheckpoint['manifest']>('checkpoints'), all<{ id: string; params: Record<string, ArrayBuffer>; m: Record<string, ArrayBuffer>; v: Record<string, ArrayBuffer> }>('checkpointTensors')]);
  db.close();
  const b64 = (buf: ArrayBuffer) => {
    const u = new Uint8Array(buf);
    let s = '';
    for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
    return btoa(s);
  };
  const enc = (set: Record<string, ArrayBuffer>) => Object.fromEntries(Object.entries(set).map(([k, v]) => [k, b64(v)]));
  const byId = new Map(tensors.map((t) => [t.id, t]));
  return {
    checkpoints: manifests.map((m) => {
      const t = byId.get(m.id);
      return { manifest: { id: m.id, runId: m.runId, step: m.step, createdAt: m.createdAt, bytes: m.bytes, tensorCount: m.tensorCount, checksum: m.checksum, progress: { history: m.progress.history.map((h) => ({ step: h.step, loss: h.loss })) } }, tensors: t ? { params: enc(t.params), m: enc(t.m), v: enc(t.v) } : null };
    }),
    orphans: tensors.filter((t) => !manifests.some((m) => m.id === t.id)).map((t) => t.id),
  };
}

const decode = (set: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(set).map(([k, s]) => {
      const b = Buffer.from(s, 'base64');
      return [k, b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer];
    }),
  );

/** Whether a stored checkpoint is whole, judged here from its raw records with the store's own checksum. */
function damageOf(c: RawCheckpoint): string | null {
  if (!c.tensors) return 'no tensors';
  const got = checkpointChecksum({ params: decode(c.tensors.params), m: decode(c.tensors.m), v: decode(c.tensors.v) });
  if (got.tensorCount !== c.manifest.tensorCount || got.bytes !== c.manifest.bytes || got.checksum !== c.manifest.checksum) return `count/bytes/checksum ${got.tensorCount}/${got.bytes}/${got.checksum} vs ${c.manifest.tensorCount}/${c.manifest.bytes}/${c.manifest.checksum}`;
  return null;
}

const newestFirst = (a: RawCheckpoint, b: RawCheckpoint) => (a.manifest.createdAt < b.manifest.createdAt ? 1 : a.manifest.createdAt > b.manifest.createdAt ? -1 : b.manifest.step - a.manifest.step);

/** A page's or worker's evaluate that fails after `ms` instead of hanging the test (a stuck GPU process). */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** IndexedDB as the close left it, read from a page of the origin that runs no studio code. */
async function rawStore(context: BrowserContext): Promise<RawState> {
  const page = await context.newPage();
  await page.goto('/favicon.svg');
  const raw = await within(60_000, 'reading IndexedDB', page.evaluate(readRawStore));
  await page.close();
  expect(raw, 'the checkpoint database exists').not.toBeNull();
  return raw!;
}

/** Every stored manifest has whole tensors and every tensor record a manifest; returns the newest. */
function expectWhole(raw: RawState, where: string): RawCheckpoint {
  const damaged = raw.checkpoints.map((c) => [c.manifest.id, damageOf(c)] as const).filter(([, d]) => d !== null);
  expect(damaged, `${where}: every stored manifest has whole tensors`).toEqual([]);
  expect(raw.orphans, `${where}: no tensors without a manifest`).toEqual([]);
  expect(raw.checkpoints.length, `${where}: a checkpoint is stored`).toBeGreaterThan(0);
  return [...raw.checkpoints].sort(newestFirst)[0]!;
}

/** How a close fell: inside a write (rolled back, or committed before the close took effect) or between writes. */
function classify(seen: ProbeState, newest: RawCheckpoint, tally: Tally): string {
  const inFlight = seen.writes.find((w) => w.outcome === null) ?? null;
  const lastDone = [...seen.writes].reverse().find((w) => w.outcome === 'complete' && w.id) ?? null;
  // a write that completed before the close is durable
  if (lastDone) expect(newest.manifest.step, `the last completed write (${lastDone.id}) survives`).toBeGreaterThanOrEqual(Number(lastDone.id!.split('@')[1]));
  tally.trials++;
  if (!inFlight) {
    tally.betweenWrites++;
    return 'between writes';
  }
  // committed, it is the newest; rolled back, it left nothing (every stored manifest is whole)
  const at = `${inFlight.id ?? 'manifest not yet put'}, ${(seen.now - inFlight.begin).toFixed(1)} ms into its transaction`;
  if (inFlight.id !== null && newest.manifest.id === inFlight.id) {
    tally.midWriteCommitted++;
    return `mid-write, committed before the close took effect: ${at}`;
  }
  tally.midWriteLost++;
  return `mid-write, rolled back: ${at}`;
}

interface Tally {
  trials: number;
  midWriteLost: number;
  midWriteCommitted: number;
  betweenWrites: number;
}
const emptyTally = (): Tally => ({ trials: 0, midWriteLost: 0, midWriteCommitted: 0, betweenWrites: 0 });

/** Opens the studio in a new page of the context, with the probe in its worker. */
async function openStudio(context: BrowserContext, errors: string[]): Promise<{ page: Page; worker: Worker }> {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.log(`[browser ${m.type()}] ${m.text()}`);
  });
  const workerReady = page.waitForEvent('worker', { predicate: (w) => /studio/.test(w.url()), timeout: 60_000 });
  await page.goto('/');
  const worker = await workerReady;
  await within(60_000, 'installing the probe in the studio worker', worker.evaluate(installProbe));
  await expect(page.locator('.app')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  return { page, worker };
}

/** Resolves with the first train-step the worker sends (the probe saw it), after resume was pressed. */
async function firstStep(worker: Worker, timeoutMs: number): Promise<[number, number]> {
  const t0 = Date.now();
  for (;;) {
    const steps = await within(60_000, 'reading the probe', worker.evaluate(() => (self as unknown as { __probe: ProbeState }).__probe.steps));
    if (steps.length > 0) return steps[0]!;
    if (Date.now() - t0 > timeoutMs) throw new Error('no training step after resuming');
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ------------------------------------------------------------------ the store, driven directly

/** The studio's CheckpointStore as one script for a page (window.__ck), bundled from the source by Vite. */
async function storeBundle(): Promise<string> {
  const out = await build({ configFile: false, logLevel: 'silent', build: { write: false, minify: false, sourcemap: false, lib: { entry: resolve('src/train/checkpoints.ts'), formats: ['iife'], name: '__ck', fileName: 'ck' } } });
  const first = (Array.isArray(out) ? out[0] : out) as { output: { code?: string }[] };
  return first.output[0]!.code!;
}

/** The tensors of a synthetic checkpoint: `count` tensors of `floats` f32 per role, values a function of (step, role, tensor, index). */
interface Layout {
  count: number;
  floats: number;
}
function syntheticValue(step: number, role: number, tensor: number, i: number): number {
  return ((((step * 2654435761) ^ (role * 40503 + tensor * 7919 + i * 31)) >>> 0) % 100003) / 100003 - 0.5;
}
function syntheticTensors(step: number, layout: Layout): { params: Record<string, ArrayBuffer>; m: Record<string, ArrayBuffer>; v: Record<string, ArrayBuffer> } {
  const set = (role: number) => Object.fromEntries(Array.from({ length: layout.count }, (_, k) => [`t.${k}`, Float32Array.from({ length: layout.floats }, (_, i) => Math.fround(syntheticValue(step, role, k, i))).buffer as ArrayBuffer]));
  return { params: set(0), m: set(1), v: set(2) };
}

/**
 * In the page: opens the store, loads the newest whole checkpoint (as a resume would: checksum
 * checked), then writes checkpoints of `runId` from step from+1 on, `gapMs` apart (a training step's
 * worth of other work between saves), until the page closes.
 */
async function startWriter(args: { runId: string; from: number; layout: Layout; gapMs: number }): Promise<{ skipped: { id: string; reason: string }[]; complete: string[] }> {
  const ck = (window as unknown as { __ck: { CheckpointStore: { open(o?: object): Promise<{ inventory(runId?: string): Promise<{ complete: { id: string }[]; skipped: { id: string; reason: string }[] }>; loadCheckpoint(id: string): Promise<unknown>; saveCheckpoint(c: unknown, keep: number): Promise<string> }> } } }).__ck;
  const store = await ck.CheckpointStore.open();
  const inv = await store.inventory();
  if (inv.complete[0]) await store.loadCheckpoint(inv.complete[0].id); // what a resume would load: its checksum is checked
  const value = (step: number, role: number, tensor: number, i: number) => ((((step * 2654435761) ^ (role * 40503 + tensor * 7919 + i * 31)) >>> 0) % 100003) / 100003 - 0.5;
  void (async () => {
    for (let step = args.from + 1; ; step++) {
      const set = (role: number) => Object.fromEntries(Array.from({ length: args.layout.count }, (_, k) => [`t.${k}`, Float32Array.from({ length: args.layout.floats }, (_, i) => value(step, role, k, i)).buffer]));
      const id = `${args.runId}@${step}`;
      const history = Array.from({ length: step }, (_, i) => ({ step: i + 1, loss: 1 / (i + 2) }));
      const manifest = { id, runId: args.runId, step, formatVersion: 1, createdAt: new Date().toISOString(), baseModel: { id: 'synthetic', revision: null }, config: { seed: 1 }, datasetFingerprint: 'synthetic', schedule: {}, rng: { seed: 1, step }, optimizerStep: step, progress: { step, history }, tensorNames: Array.from({ length: args.layout.count }, (_, k) => `t.${k}`), bytes: 0 };
      await store.saveCheckpoint({ manifest, tensors: { id, params: set(0), m: set(1), v: set(2) } }, 3);
      await new Promise((r) => setTimeout(r, args.gapMs));
    }
  })();
  return { skipped: inv.skipped, complete: inv.complete.map((c) => c.id) };
}

test('the checkpoint store: pages closed at seeded instants mid-save leave only whole checkpoints; the newest is listed first and loads', async ({ context }) => {
  test.setTimeout(6 * 60_000);
  const t0 = Date.now();
  const random = rng(SEED);
  const bundle = await storeBundle();
  // like the studio's checkpoints of the bundled model in the UI test below: 30 tensors a role, about 4,070,400 bytes
  const layout: Layout = { count: 30, floats: 11307 };
  const runId = 'durability';
  const GAP_MS = 100;
  const tally = emptyTally();
  const open = async (from: number) => {
    const page = await context.newPage();
    await page.goto('/favicon.svg');
    // at global scope (indirect eval), so the bundle's `var __ck` is window.__ck
    await page.evaluate((code) => void (0, eval)(code), bundle);
    await page.evaluate(installProbe);
    const listed = await within(60_000, 'starting the writer', page.evaluate(startWriter, { runId, from, layout, gapMs: GAP_MS }));
    return { page, listed };
  };

  let { page } = await open(0);
  // how long one write takes here: the aimed instants fall inside one
  const first = await page.evaluate(() => new Promise<ProbeWrite[]>((done) => {
    const probe = (window as unknown as { __probe: ProbeState }).__probe;
    const poll = () => (probe.writes.filter((w) => w.outcome === 'complete').length >= 5 ? done(probe.writes.map((w) => ({ ...w }))) : setTimeout(poll, 10));
    poll();
  }));
  const durations = first.filter((w) => w.end !== null).map((w) => w.end! - w.begin).sort((a, b) => a - b);
  const writeMs = durations[Math.floor(durations.length / 2)]!;
  console.log(`store: a write of ${(layout.count * layout.floats * 12) / 2 ** 20} MiB takes ${writeMs.toFixed(1)} ms (median of ${durations.length})`);

  for (let trial = 1; trial <= STORE_TRIALS; trial++) {
    const nth = 1 + Math.floor(random() * 3);
    const aimed = random() < 0.8;
    // aimed: some time into the nth write's transaction; else anywhere in the two writes and gaps after it began
    const delayMs = Math.floor(random() * (aimed ? writeMs * 1.2 : 2 * (writeMs + GAP_MS)));
    const seen = await within(60_000, 'waiting for the instant', page.evaluate(awaitInstant, { kind: 'write' as const, nth, delayMs }));
    await page.close();
    const raw = await rawStore(context);
    const newest = expectWhole(raw, `store trial ${trial}`);
    // its tensors are exactly what that step wrote
    expect(newest.manifest.checksum, `store trial ${trial}: ${newest.manifest.id} holds its own step's tensors`).toBe(checkpointChecksum(syntheticTensors(newest.manifest.step, layout)).checksum);
    const kind = classify(seen, newest, tally);
    console.log(`store trial ${trial}: closed ${delayMs} ms after write ${nth} began (${kind}); newest ${newest.manifest.id}, ${raw.checkpoints.length} stored`);
    // reopened: the list's first is the newest whole one, nothing is left out, and it loads (checksum checked)
    ({ page } = await open(newest.manifest.step).then(({ page: p, listed }) => {
      expect(listed.complete[0], `store trial ${trial}: listed first`).toBe(newest.manifest.id);
      expect(listed.skipped, `store trial ${trial}: nothing to leave out`).toEqual([]);
      return { page: p };
    }));
  }
  await page.close();
  console.log(`store durability: ${JSON.stringify(tally)}; ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  expect(tally.trials).toBeGreaterThanOrEqual(20);
  expect(tally.midWriteLost, 'some closes rolled a write back').toBeGreaterThan(0);
});

// ------------------------------------------------------------------ the studio UI
test('the studio: pages closed mid-save while training; the reopened studio offers the newest whole checkpoint and resumes it exactly', async ({ context }) => {
  test.setTimeout(8 * 60_000);
  const t0 = Date.now();
  const errors: string[] = [];
  const random = rng(SEED);
  /** every loss seen for a step, by the probe (live) and in checkpoint histories: a resumed run must repeat them */
  const lossAt = new Map<number, number>();
  const agree = (step: number, loss: number, where: string) => {
    expect(Number.isFinite(loss), `${where}: loss of step ${step}`).toBe(true);
    const before = lossAt.get(step);
    if (before === undefined) lossAt.set(step, loss);
    else expect(loss, `${where}: loss of step ${step} is the one seen before`).toBe(before);
  };

  // ---- set-up: the bundled model, a demo dataset, a run with a checkpoint after every step
  let { page, worker } = await openStudio(context, errors);
  await go(page, 'model');
  await page.getByRole('button', { name: 'Load model' }).click();
  await expect(page.getByTestId('model-load')).toHaveAttribute('data-status', 'loaded', { timeout: 120_000 });
  await go(page, 'configure');
  await setNumber(page, 'microBatchSize', 2);
  await setNumber(page, 'gradientAccumulation', 1);
  await setNumber(page, 'warmupRatio', 0);
  await setNumber(page, 'epochs', 1);
  await setNumber(page, 'evalEvery', 0);
  await setNumber(page, 'checkpointEvery', 1);
  await go(page, 'data');
  await setNumber(page, 'maxLength', 64);
  await setNumber(page, 'validationFraction', 0);
  await page.locator('[data-testid="demo-datasets"] button[data-demo="fortunes-quotes.txt"]').click();
  await expect(page.getByTestId('data-summary')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
  await go(page, 'train');
  await page.getByTestId('start-training').click();
  await firstStep(worker, 4 * 60_000);
  console.log(`set-up and the first step: ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  // How long one checkpoint write takes here: the aimed instants fall inside one.
  const measured = await worker.evaluate(() => new Promise<ProbeWrite[]>((resolve) => {
    const probe = (self as unknown as { __probe: ProbeState }).__probe;
    const poll = () => (probe.writes.filter((w) => w.outcome === 'complete').length >= 2 ? resolve(probe.writes.map((w) => ({ ...w }))) : setTimeout(poll, 20));
    poll();
  }));
  const durations = measured.filter((w) => w.end !== null).map((w) => w.end! - w.begin).sort((a, b) => a - b);
  const writeMs = durations[Math.floor(durations.length / 2)]!;
  const steps0 = await worker.evaluate(() => (self as unknown as { __probe: ProbeState }).__probe.steps);
  const stepMs = steps0.length >= 2 ? Math.max(50, (measured.at(-1)!.begin - measured[0]!.begin) / Math.max(1, measured.length - 1)) : 1000;
  console.log(`a checkpoint write takes ${writeMs.toFixed(1)} ms (median of ${durations.length}); a step and its checkpoint about ${stepMs.toFixed(0)} ms`);

  const tally = emptyTally();
  for (let trial = 1; trial <= UI_TRIALS; trial++) {
    // ---- the instant: mostly aimed into the n-th write after now, else anywhere in a step
    const aimed = random() < 0.75;
    const nth = 1 + Math.floor(random() * 2);
    const plan = aimed ? { kind: 'write' as const, nth, delayMs: Math.floor(random() * writeMs * 1.2) } : { kind: 'step' as const, nth, delayMs: Math.floor(random() * stepMs) };
    const seen = await within(4 * 60_000, 'waiting for the instant', worker.evaluate(awaitInstant, plan));
    await page.close();
    for (const [s, l] of seen.steps) agree(s, l, `trial ${trial} live`);

    // ---- the store as the close left it, before any studio code lists or cleans it
    const raw = await rawStore(context);
    const newest = expectWhole(raw, `trial ${trial}`);
    for (const c of raw.checkpoints) for (const h of c.manifest.progress.history) agree(h.step, h.loss, `trial ${trial} checkpoint ${c.manifest.id}`);
    const kind = classify(seen, newest, tally);
    console.log(`trial ${trial}: closed ${plan.delayMs} ms after ${plan.kind} ${plan.nth} began (${kind}); newest whole checkpoint ${newest.manifest.id} (${newest.manifest.tensorCount} tensors, ${newest.manifest.bytes} bytes); ${raw.checkpoints.length} stored`);

    // ---- reopen: the offer is the newest whole checkpoint; resuming continues at its next step
    const tOpen = Date.now();
    ({ page, worker } = await openStudio(context, errors));
    const offer = page.getByTestId('resume-offer').first();
    await expect(offer).toBeVisible({ timeout: 60_000 });
    const tOffer = Date.now();
    await expect(offer).toHaveAttribute('data-checkpoint', newest.manifest.id);
    expect(Number(await offer.getAttribute('data-step'))).toBe(newest.manifest.step);
    await offer.getByRole('button', { name: 'Resume training' }).click();
    const [step, loss] = await firstStep(worker, 3 * 60_000);
    console.log(`  reopened: offer after ${((tOffer - tOpen) / 1000).toFixed(1)} s, first step ${((Date.now() - tOffer) / 1000).toFixed(1)} s after Resume`);
    expect(step, `trial ${trial}: the first step after resuming from ${newest.manifest.id}`).toBe(newest.manifest.step + 1);
    agree(step, loss, `trial ${trial} resumed`);
  }

  await page.getByTestId('stop-training').click();
  await expect(page.getByTestId('train-screen')).toHaveAttribute('data-status', /stopped|done/, { timeout: 120_000 });
  await page.close();
  const wall = (Date.now() - t0) / 1000;
  console.log(`studio durability: ${JSON.stringify(tally)}; ${lossAt.size} steps' losses agreed wherever seen twice; ${wall.toFixed(0)} s`);
  expect(tally.trials).toBe(UI_TRIALS);
  expect(errors).toEqual([]);
});
