import { StudioError } from '../src/engine/errors';
import type { Stepper } from '../src/model/generate';
import { cachedStepper, generate } from '../src/model/generate';
import { shadowCachedStepper } from '../src/shadow/generate';
import { renderChatTemplate } from '../src/train/data/chatTemplate';
import type { GenerateRequest, GenerateResult, GenerationMode } from './api';
import { onModelOrShadowReplaced, requireModel, requireShadow, session } from './session';

const cancels = new Map<number, AbortController>();

/** Steppers are cached per (mode, capacity) so repeated prompts reuse their GPU buffers. */
const steppers = new Map<string, { stepper: Stepper; owner: unknown }>();

async function stepperFor(mode: GenerationMode, maxT: number): Promise<Stepper> {
  const { model } = requireModel();
  const owner = mode === 'base' ? model : requireShadow();
  const key = `${mode}:${maxT}`;
  const hit = steppers.get(key);
  if (hit && hit.owner === owner) return hit.stepper;
  const stepper = mode === 'base' ? await cachedStepper(model, maxT) : await shadowCachedStepper(requireShadow(), maxT, mode);
  steppers.set(key, { stepper, owner });
  return stepper;
}

/** Prompt ids: the chat template as one user turn with the generation prompt (Qwen3 thinking off), or plain text. */
export function promptIds(text: string, chat: boolean): number[] {
  const { tokenizer } = requireModel();
  if (chat && tokenizer.chat_template) {
    const rendered = renderChatTemplate(tokenizer, [{ role: 'user', content: text }], { add_generation_prompt: true, enable_thinking: false });
    return tokenizer.encode(rendered, { add_special_tokens: false });
  }
  return tokenizer.encode(text, { add_special_tokens: false });
}

export async function generateText(req: GenerateRequest, requestId: number): Promise<GenerateResult> {
  const { model, tokenizer } = requireModel();
  const ids = promptIds(req.prompt, req.chat);
  if (ids.length === 0) throw new StudioError('E504', 'the prompt is empty', 'type a prompt first');
  // Capacity in steps of 256 tokens, so most prompts reuse one set of caches.
  const maxT = Math.ceil((ids.length + req.maxNewTokens) / 256) * 256;
  const stepper = await stepperFor(req.mode, maxT);
  const abort = new AbortController();
  cancels.set(requestId, abort);
  const out: number[] = [];
  let shown = '';
  const eos = [...model.config.eosTokenIds];
  // Chat models end a turn with <|im_end|> (Qwen, SmolLM2); stop there too when it is one token.
  const endOfTurn = tokenizer.encode('<|im_end|>', { add_special_tokens: false });
  if (endOfTurn.length === 1) eos.push(endOfTurn[0]!);
  try {
    const r = await generate(stepper, ids, {
      maxNewTokens: req.maxNewTokens,
      temperature: req.temperature,
      topK: req.topK,
      topP: req.topP,
      repetitionPenalty: req.repetitionPenalty,
      seed: req.seed,
      stopTokenIds: eos,
      signal: abort.signal,
      onToken: (id) => {
        out.push(id);
        const text = tokenizer.decode(out, { skip_special_tokens: true });
        // Stream only the new text; a partial multi-byte character waits for its next token.
        if (text.length > shown.length && !text.endsWith('\uFFFD')) {
          session.emit({ type: 'token', requestId, mode: req.mode, text: text.slice(shown.length) });
          shown = text;
        }
      },
    });
    return { mode: req.mode, text: tokenizer.decode(r.tokens, { skip_special_tokens: true }), tokens: r.tokens, stoppedBy: r.stoppedBy, tokensPerSecond: r.msPerToken > 0 ? 1000 / r.msPerToken : 0 };
  } finally {
    cancels.delete(requestId);
  }
}

export function cancelGeneration(requestId: number): void {
  cancels.get(requestId)?.abort();
}

/** Frees the cached steppers; they are made again on the next prompt. */
function releaseSteppers(): void {
  for (const { stepper } of steppers.values()) stepper.release();
  steppers.clear();
}
onModelOrShadowReplaced(releaseSteppers);
