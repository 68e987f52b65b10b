import { StudioError } from '../engine/errors';
import type { Tensor } from '../engine/tensor';
import { rowsView } from '../engine/tensor';
import { makeBatch } from './batch';
import type { CausalLM, ModelWorkspace } from './causalLM';
import { ModelErrorCode } from './errors';
import { KvCache } from './kvCache';
import type { SamplingOptions } from './sampling';
import { sampleToken, seededRandom } from './sampling';

/**
 * Feeds tokens to a model and returns the logits (V) after the last one. A cached stepper takes only
 * the new tokens; an uncached one is given the whole sequence each time. Generation is written
 * against this, so the base model, base + shadow and the detached shadow all decode the same way.
 */
export interface Stepper {
  /** Logits after feeding `tokens`: the new tokens (cached) or the full sequence (uncached). */
  step(tokens: readonly number[]): Promise<Float32Array>;
  readonly cached: boolean;
  readonly maxT: number;
  reset(): void;
  /** Frees the stepper's GPU buffers (workspace, logits, caches); its owner calls it once. */
  release(): void;
}

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Token ids that end generation (the model's eos ids, end-of-turn). The stop token is not returned. */
  stopTokenIds?: readonly number[];
  /** Text that ends generation; needs `decode`. The text up to the stop string is kept. */
  stopStrings?: readonly string[];
  decode?: (ids: readonly number[]) => string;
  /** Called with every new token as it is chosen (streaming). */
  onToken?: (id: number) => void;
  signal?: AbortSignal;
}

export interface GenerateResult {
  tokens: number[];
  stoppedBy: 'eos' | 'stop-string' | 'max-tokens' | 'cancelled' | 'context-full';
  /** Wall milliseconds per generated token, prefill excluded. */
  msPerToken: number;
}

/** Logits with a NaN or ±Inf would pick token 0 (or any) forever: a coded error instead. */
function checkLogits(logits: Float32Array, step: number): Float32Array {
  const i = logits.findIndex((x) => !Number.isFinite(x));
  if (i >= 0) throw new StudioError(ModelErrorCode.nonFiniteOutput, `the logits after ${step} generated token(s) hold NaN or infinite values (first at token id ${i})`, "the model's weights or config.json are damaged (rms_norm_eps, rope_theta); download the model again");
  return logits;
}

export async function generate(stepper: Stepper, prompt: readonly number[], opts: GenerateOptions): Promise<GenerateResult> {
  if (prompt.length === 0) throw new StudioError(ModelErrorCode.badConfig, 'generate: the prompt holds no tokens', 'give a prompt of at least one token');
  stepper.reset();
  const random = seededRandom(opts.seed ?? 0);
  const seq = [...prompt];
  const out: number[] = [];
  let logits = checkLogits(await stepper.step(seq), 0);
  const t0 = performance.now();
  let stoppedBy: GenerateResult['stoppedBy'] = 'max-tokens';
  while (out.length < opts.maxNewTokens) {
    if (opts.signal?.aborted) {
      stoppedBy = 'cancelled';
      break;
    }
    const id = sampleToken(logits, seq, opts, random);
    if (opts.stopTokenIds?.includes(id)) {
      stoppedBy = 'eos';
      break;
    }
    seq.push(id);
    out.push(id);
    opts.onToken?.(id);
    if (opts.stopStrings?.length && opts.decode) {
      const text = opts.decode(out);
      if (opts.stopStrings.some((s) => text.includes(s))) {
        stoppedBy = 'stop-string';
        break;
      }
    }
    if (out.length >= opts.maxNewTokens) break;
    if (seq.length >= stepper.maxT) {
      stoppedBy = 'context-full';
      break;
    }
    logits = checkLogits(await stepper.step(stepper.cached ? [id] : seq), out.length);
  }
  return { tokens: out, stoppedBy, msPerToken: out.length ? (performance.now() - t0) / out.length : 0 };
}

/** Reads row `row` of logits (rows, V) back without binding an unaligned view (copies need 4-byte alignment only). */
async function readRow(model: CausalLM, logits: Tensor, row: number): Promise<Float32Array> {
  const V = model.config.vocabSize;
  return model.gpu.read(rowsView(logits, row, 1, V));
}

async function stepperParts(model: CausalLM, maxT: number): Promise<{ ws: ModelWorkspace; logits: Tensor }> {
  return { ws: await model.createWorkspace(1, maxT, false), logits: await model.gpu.createTensor('gen.logits', [maxT, model.config.vocabSize]) };
}

/** The base model with a KV cache: each step runs only the new tokens. */
export async function cachedStepper(model: CausalLM, maxT: number): Promise<Stepper> {
  const { ws, logits } = await stepperParts(model, maxT);
  const cache = await KvCache.create(model.gpu, 'kv', model.config.numLayers, model.dims, maxT);
  return {
    cached: true,
    maxT,
    reset: () => cache.reset(),
    release: () => {
      model.gpu.release({ ws, logits });
      cache.destroy();
    },
    async step(tokens) {
      const T = tokens.length;
      const batch = makeBatch([tokens]);
      batch.positionIds.forEach((_, i) => (batch.positionIds[i] = cache.length + i));
      cache.reserve(T);
      const inp = model.prepareBatch(ws, batch, cache.mask);
      model.embedTokens(ws, inp);
      for (let l = 0; l < model.config.numLayers; l++) model.layerForward(l, ws, ws.x, inp, cache.slot(l));
      model.finalNormForward(ws.x, ws.h, T);
      model.logits(ws.h, logits, T);
      cache.length += T;
      return readRow(model, logits, T - 1);
    },
  };
}

/** The base model without a cache: every step recomputes the whole sequence (the reference). */
export async function uncachedStepper(model: CausalLM, maxT: number): Promise<Stepper> {
  const { ws, logits } = await stepperParts(model, maxT);
  return {
    cached: false,
    maxT,
    reset: () => undefined,
    release: () => model.gpu.release({ ws, logits }),
    async step(tokens) {
      const batch = makeBatch([tokens]);
      model.forward(ws, batch);
      model.logits(ws.h, logits, batch.T);
      return readRow(model, logits, batch.T - 1);
    },
  };
}
