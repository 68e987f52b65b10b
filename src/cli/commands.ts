/**
 * The CLI's commands as functions of (argv, io): main.ts runs them on the process, tests in-process.
 * Every failure leaves as a coded error `E### message — hint` with a non-zero exit code; an exception
 * that is not a StudioError is a bug and says so (E699).
 */
import { existsSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { acquireDevice } from '../engine/device';
import { isStudioError, StudioError } from '../engine/errors';
import { Gpu, formatBytes } from '../engine/runtime';
import { parameterCount } from '../model/config';
import type { ModelConfig } from '../model/config';
import type { Stepper } from '../model/generate';
import { cachedStepper, generate, uncachedStepper } from '../model/generate';
import { loadCausalLM, readModelConfig } from '../model/load';
import { checkFits, estimateMemory } from '../model/memory';
import { encodeText, loadTokenizer } from '../model/tokenizer';
import { checkAdapter, loadAdapter } from '../shadow/adapterIO';
import { parseDumpBatch, dumpStep } from '../shadow/dump';
import { ShadowErrorCode } from '../shadow/errors';
import type { FlagKinds, Flags } from './args';
import { parseCommandArgs } from './args';
import { CliErrorCode } from './errors';
import { checkOutFile, readUserJson, writeUserFile } from './files';
import { dirSource, sourceFromArg } from './nodeSources';
import { explicitShadowFlags, runTrain, TRAIN_FLAGS, TRAIN_USAGE } from './train';

/** Where a command's output goes and where its GPU comes from (tests pass their own). */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** A GPU for one command; `release` is called when the command ends, however it ends. */
  acquireGpu(): Promise<{ gpu: Gpu; release(): void }>;
  /** Every file a command opens for reading, with its absolute path (tests check containment and count bytes). */
  onOpen?(absolutePath: string, bytes: number): void;
}

export const processIo: CliIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  async acquireGpu() {
    const { device, caps } = await acquireDevice();
    // A software adapter allocates host memory: say how much there is, so the load check can refuse
    // what would make the driver abort the process (bad_alloc) instead of failing with an error.
    const gpu = new Gpu(device, caps.isSoftware ? { ...caps, memoryBytes: totalmem() } : caps);
    return { gpu, release: () => gpu.destroy() };
  },
};

const INFO_USAGE = 'cli info <model>';
const GENERATE_USAGE = 'cli generate <model> (--prompt "…" | --prompt-ids 1,2,3) [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S] [--no-cache] [--ignore-eos] [--json]';
const DUMP_USAGE = 'cli dump --model <dir> --adapter <dir> --batch <batch.json> --out <file.safetensors> [--shadow-model <model> [--shadow-embeddings own|frozen|base]]';
export const USAGE = `usage: ${INFO_USAGE} | ${GENERATE_USAGE} | ${DUMP_USAGE} | ${TRAIN_USAGE}`;

const GENERATE_FLAGS: FlagKinds = {
  prompt: 'string',
  'prompt-ids': 'string',
  'max-new-tokens': 'string',
  temperature: 'string',
  'top-k': 'string',
  'top-p': 'string',
  'repetition-penalty': 'string',
  seed: 'string',
  'no-cache': 'boolean',
  'ignore-eos': 'boolean',
  json: 'boolean',
};
const DUMP_FLAGS: FlagKinds = { model: 'string', adapter: 'string', batch: 'string', out: 'string', 'shadow-model': 'string', 'shadow-embeddings': 'string' };

function badFlag(command: string, flag: string, value: unknown, rule: string, usage: string): StudioError {
  return new StudioError(CliErrorCode.badArgument, `cli ${command}: --${flag} ${JSON.stringify(value)} ${rule}`, usage);
}

/** A numeric flag: absent → fallback; else a finite number passing `ok` (integers where `integer`). */
function numberFlag(command: string, flags: Flags, flag: string, fallback: number | undefined, rule: { ok: (n: number) => boolean; text: string; integer?: boolean }, usage: string): number | undefined {
  const v = flags[flag];
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n) || (rule.integer && !Number.isSafeInteger(n)) || !rule.ok(n)) throw badFlag(command, flag, v, `must be ${rule.text}`, usage);
  return n;
}

async function info(modelArg: string, io: CliIo): Promise<void> {
  const source = sourceFromArg(modelArg, { onOpen: io.onOpen });
  const c = await readModelConfig(source);
  const lines = [
    `model        ${source.id}`,
    `family       ${c.modelType}`,
    `layers       ${c.numLayers}`,
    `hidden       ${c.hiddenSize} (intermediate ${c.intermediateSize})`,
    `heads        ${c.numHeads} query, ${c.numKvHeads} key/value, head size ${c.headDim}`,
    `vocabulary   ${c.vocabSize}${c.tieWordEmbeddings ? ' (tied embeddings)' : ''}`,
    `rope         theta ${c.ropeTheta}${c.ropeScaling ? `, ${c.ropeScaling.type} scaling ×${c.ropeScaling.factor}` : ''}`,
    `parameters   ${parameterCount(c).toLocaleString('en-US')}`,
    `dtype        ${c.torchDtype}`,
  ];
  io.out(lines.join('\n'));
}

/** --prompt-ids 1,2,3: integers within the vocabulary. */
function promptIds(text: string, c: ModelConfig): number[] {
  const parts = text.split(',');
  return parts.map((p, i) => {
    const n = p.trim() === '' ? NaN : Number(p);
    if (!(Number.isSafeInteger(n) && n >= 0 && n < c.vocabSize)) throw badFlag('generate', 'prompt-ids', text, `: entry ${i} (${JSON.stringify(p)}) must be a token id with 0 ≤ id < ${c.vocabSize} (the model's vocabulary)`, GENERATE_USAGE);
    return n;
  });
}

async function runGenerate(modelArg: string, flags: Flags, io: CliIo, gpu: Gpu): Promise<void> {
  const u = GENERATE_USAGE;
  const prompt = flags.prompt;
  const idsFlag = flags['prompt-ids'];
  if (typeof prompt !== 'string' && typeof idsFlag !== 'string') throw new StudioError(CliErrorCode.usage, 'cli generate: needs --prompt "text" or --prompt-ids 1,2,3', u);
  if (typeof prompt === 'string' && typeof idsFlag === 'string') throw new StudioError(CliErrorCode.usage, 'cli generate: give --prompt or --prompt-ids, not both', u);
  const maxNewTokens = numberFlag('generate', flags, 'max-new-tokens', 32, { ok: (n) => n >= 1, text: 'an integer ≥ 1', integer: true }, u)!;
  const sampling = {
    temperature: numberFlag('generate', flags, 'temperature', 0, { ok: (n) => n >= 0 && n <= 100, text: 'a number with 0 ≤ T ≤ 100 (0 is greedy)' }, u)!,
    topK: numberFlag('generate', flags, 'top-k', undefined, { ok: (n) => n >= 1, text: 'an integer ≥ 1', integer: true }, u),
    topP: numberFlag('generate', flags, 'top-p', undefined, { ok: (n) => n > 0 && n <= 1, text: 'a number with 0 < P ≤ 1' }, u),
    repetitionPenalty: numberFlag('generate', flags, 'repetition-penalty', undefined, { ok: (n) => n > 0 && n <= 100, text: 'a number with 0 < R ≤ 100' }, u),
    seed: numberFlag('generate', flags, 'seed', 0, { ok: () => true, text: 'an integer', integer: true }, u)!,
  };
  const source = sourceFromArg(modelArg, { onOpen: io.onOpen });
  // Everything the flags decide is checked against config.json before the weights are read.
  const config = await readModelConfig(source);
  const ids0 = typeof idsFlag === 'string' ? promptIds(idsFlag, config) : null;
  if (ids0 && ids0.length + maxNewTokens > config.maxPositionEmbeddings) {
    throw badFlag('generate', 'max-new-tokens', flags['max-new-tokens'] ?? '32', `with a ${ids0.length}-token prompt exceeds the model's ${config.maxPositionEmbeddings} positions`, u);
  }
  const model = await loadCausalLM(gpu, source);
  let stepper: Stepper | null = null;
  try {
    const tokenizer = await loadTokenizer(source);
    const ids = ids0 ?? encodeText(tokenizer, prompt as string);
    if (ids.length === 0) throw badFlag('generate', 'prompt', prompt, 'encodes to no tokens', u);
    const maxT = ids.length + maxNewTokens;
    if (maxT > config.maxPositionEmbeddings) throw badFlag('generate', 'max-new-tokens', maxNewTokens, `with a ${ids.length}-token prompt exceeds the model's ${config.maxPositionEmbeddings} positions`, u);
    const plan = { B: 1, T: maxT, training: false, lossHead: false, storage: model.weights.storage, ...(flags['no-cache'] ? {} : { maxT }) };
    checkFits(estimateMemory(config, gpu.caps, plan), gpu.caps, config, 1, maxT);
    stepper = flags['no-cache'] ? await uncachedStepper(model, maxT) : await cachedStepper(model, maxT);
    const r = await generate(stepper, ids, { maxNewTokens, ...sampling, stopTokenIds: flags['ignore-eos'] ? [] : model.config.eosTokenIds });
    if (flags.json) {
      io.out(JSON.stringify({ prompt_ids: ids, tokens: r.tokens, text: tokenizer.decode(r.tokens), stopped_by: r.stoppedBy, ms_per_token: r.msPerToken, weights: formatBytes(model.weights.bytes) }));
    } else {
      io.out(`tokens: ${r.tokens.join(' ')}`);
      io.out(`text:   ${JSON.stringify(tokenizer.decode(r.tokens))}`);
    }
  } finally {
    stepper?.release();
    model.destroy();
  }
}

/** An adapter folder's two files, read through the folder source (so their names stay inside it). */
async function readAdapterDir(dir: string, io: CliIo): Promise<{ configJson: string; safetensors: Uint8Array }> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new StudioError(CliErrorCode.badFile, `--adapter ${dir}: no such folder`, 'give the folder that holds shadow_config.json and shadow_adapter.safetensors');
  const source = dirSource(dir, { onOpen: io.onOpen });
  const [configBytes, safetensors] = await Promise.all([source.readBytes('shadow_config.json'), source.readBytes('shadow_adapter.safetensors')]);
  for (const [name, bytes] of [['shadow_config.json', configBytes], ['shadow_adapter.safetensors', safetensors]] as const) {
    if (bytes === null) throw new StudioError(ShadowErrorCode.adapterFormat, `--adapter ${dir}: no ${name}`, 'an adapter folder holds shadow_config.json and shadow_adapter.safetensors, as the studio and the Python package save them');
  }
  return { configJson: new TextDecoder().decode(configBytes!), safetensors: safetensors! };
}

async function runDump(flags: Flags, io: CliIo, gpu: Gpu): Promise<void> {
  const need = (k: string) => {
    const v = flags[k];
    if (typeof v !== 'string') throw new StudioError(CliErrorCode.usage, `cli dump: needs --${k}`, DUMP_USAGE);
    return v;
  };
  const [modelArg, adapterDir, batchPath, outPath] = [need('model'), need('adapter'), need('batch'), need('out')];
  // Every file is read and checked before the GPU is touched.
  checkOutFile('--out', outPath);
  const batchJson = readUserJson('--batch', batchPath, io.onOpen);
  const adapter = await readAdapterDir(adapterDir, io);
  const shadowModel = await explicitShadowFlags(flags, io.onOpen);
  const source = sourceFromArg(modelArg, { onOpen: io.onOpen });
  const config = await readModelConfig(source);
  const batch = parseDumpBatch(batchJson, config, batchPath);
  // The adapter is checked in full against the base's config before the base is loaded.
  const named = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof StudioError && e.code.startsWith('E2')) throw new StudioError(e.code, `--adapter ${adapterDir}: ${e.detail}`, e.hint);
      throw e;
    }
  };
  named(() => checkAdapter(config, adapter, { explicit: shadowModel?.explicit }));
  const base = await loadCausalLM(gpu, source);
  try {
    const { model } = await loadAdapter(base, adapter, { explicit: shadowModel?.explicit });
    try {
      writeUserFile('--out', outPath, await dumpStep(model, batch));
    } finally {
      model.destroy();
    }
  } finally {
    base.destroy();
  }
}

/** Runs one command line; returns the exit code (0, 1 for a failure, 2 for a usage error). */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let release: (() => void) | null = null;
  const gpu = async () => {
    const g = await io.acquireGpu();
    release = g.release;
    return g.gpu;
  };
  try {
    const [command, ...rest] = argv;
    if (command === 'info') {
      const { positional } = parseCommandArgs('info', rest, {}, ['model'], INFO_USAGE);
      await info(positional[0]!, io);
    } else if (command === 'generate') {
      const { positional, flags } = parseCommandArgs('generate', rest, GENERATE_FLAGS, ['model'], GENERATE_USAGE);
      await runGenerate(positional[0]!, flags, io, await gpu());
    } else if (command === 'dump') {
      const { flags } = parseCommandArgs('dump', rest, DUMP_FLAGS, [], DUMP_USAGE);
      await runDump(flags, io, await gpu());
    } else if (command === 'train') {
      const { flags } = parseCommandArgs('train', rest, TRAIN_FLAGS, [], TRAIN_USAGE);
      await runTrain(flags, { out: io.out, gpu, onOpen: io.onOpen });
    } else {
      throw new StudioError(CliErrorCode.usage, command === undefined ? 'no command given' : `unknown command '${command}'; commands: info, generate, dump, train`, USAGE);
    }
    return 0;
  } catch (e) {
    io.err(errorLine(e));
    return isStudioError(e, CliErrorCode.usage) ? 2 : 1;
  } finally {
    (release as (() => void) | null)?.();
  }
}

/** One line for any failure: a StudioError as it is, anything else as E699 (a bug, with its stack's top). */
export function errorLine(e: unknown): string {
  if (isStudioError(e)) return e.message;
  const err = e instanceof Error ? e : new Error(String(e));
  const at = err.stack?.split('\n').find((l) => l.trim().startsWith('at '))?.trim() ?? '';
  return new StudioError(CliErrorCode.internal, `unexpected ${err.name}: ${err.message}${at ? ` (${at})` : ''}`, 'this is a bug in the studio, not in your input; please report it with the command line').message;
}
