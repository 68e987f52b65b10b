import { StudioError, isStudioError } from '../../engine/errors';
import { chatTemplateText, compileChatTemplate, renderChatTemplate, specialTokens } from './chatTemplate';
import { DataErrorCode, MAX_KEPT_ISSUES } from './issues';
import type { DataIssue } from './issues';
import { IGNORE_INDEX } from './types';
import type { ChatMessage, Example, TokenizedExample } from './types';

/**
 * What the data pipeline needs of a tokenizer. transformers.js' `PreTrainedTokenizer` satisfies it
 * (checked by the tests); keeping it structural avoids importing the library into this module. The
 * chat template is rendered by ./chatTemplate (budgeted), not by the tokenizer's apply_chat_template.
 */
export interface DataTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  chat_template?: unknown;
  /** tokenizer_config.json: the special tokens (bos_token, eos_token, …) a chat template may print */
  config?: unknown;
  eos_token_id?: number;
  pad_token_id?: number;
}

export interface ChatTemplateOptions {
  tokenize: false;
  add_generation_prompt: boolean;
  /** read by Qwen3's template; false renders an empty <think></think> block after the generation prompt */
  enable_thinking: boolean;
}

export interface TokenizeOptions {
  /** sequences are cut to this many tokens (from the right); .txt files are packed into blocks of it */
  maxLength: number;
  /**
   * How prompt/completion, Alpaca and classification records become text:
   * 'chat' renders them as a user → assistant conversation with the tokenizer's chat template,
   * 'plain' joins prompt text + completion text + eos, 'auto' (default) uses 'chat' when the tokenizer
   * has a chat template. Chat records always use the template.
   */
  template?: 'auto' | 'chat' | 'plain';
  /** end-of-sequence id for 'plain' and text records; default: the tokenizer's eos_token_id */
  eosTokenId?: number;
}

export interface TokenizeResult {
  examples: TokenizedExample[];
  /** examples cut at maxLength that still have supervised tokens (kept) */
  truncatedCount: number;
  /** examples not kept (their prompt fills maxLength, nothing to learn from, template mismatch) */
  droppedCount: number;
  /** why, per example (first MAX_KEPT_ISSUES) */
  dropped: DataIssue[];
}

/** Alpaca's prompt for 'plain' mode (the no-preamble variant of the Stanford Alpaca template). */
export function alpacaPlainPrompt(instruction: string, input: string): string {
  return input.trim() === ''
    ? `### Instruction:\n${instruction}\n\n### Response:\n`
    : `### Instruction:\n${instruction}\n\n### Input:\n${input}\n\n### Response:\n`;
}

/** Alpaca's user message for 'chat' mode. */
export function alpacaUserMessage(instruction: string, input: string): string {
  return input.trim() === '' ? instruction : `${instruction}\n\n${input}`;
}

export function hasChatTemplate(tokenizer: DataTokenizer): boolean {
  return typeof tokenizer.chat_template === 'string' ? tokenizer.chat_template !== '' : !!tokenizer.chat_template;
}

/** A prompt part (labels −100) and an answer part (supervised), or why the record cannot be split. */
type Parts = { prompt: number[]; answer: number[] } | string;

const MISMATCH =
  'the chat template does not render this conversation as prompt + answer, so the prompt cannot be masked (e.g. the answer holds its own <think> block)';

/** Renders conversations with the tokenizer's chat template for one tokenizeExamples call. */
interface ChatRenderer {
  render(messages: readonly ChatMessage[], generationPrompt: boolean, line: number): string;
  /**
   * What the template appends for add_generation_prompt (Qwen3 with thinking off:
   * "<|im_start|>assistant\n<think>\n\n</think>\n\n"), when the probe conversations show that the
   * prompt of a conversation is its full render up to the last such text; null: split each
   * conversation with two renders.
   */
  generationPrompt: string | null;
}

/** Probe conversations: the prompt found in the full render must equal the prompt rendered on its own. */
const PROBES: ChatMessage[][] = [
  [
    { role: 'user', content: 'Name a colour.' },
    { role: 'assistant', content: 'Blue.' },
  ],
  [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Name a colour.' },
    { role: 'assistant', content: 'Blue.' },
  ],
  [
    { role: 'user', content: 'Name a colour.' },
    { role: 'assistant', content: 'Blue.' },
    { role: 'user', content: 'Another one?' },
    { role: 'assistant', content: 'Green.' },
  ],
];

/** Probe results per template text + special tokens (a few kept): the probes run once per template. */
const probed = new Map<string, string | null>();

function chatRenderer(tokenizer: DataTokenizer): ChatRenderer {
  const text = chatTemplateText(tokenizer);
  if (text === null) throw new StudioError(DataErrorCode.tokenizer, 'the tokenizer has no chat template');
  compileChatTemplate(text); // a template that does not parse fails here, once (E404)
  const render = (messages: readonly ChatMessage[], generationPrompt: boolean, line: number) =>
    renderChatTemplate(tokenizer, messages, { add_generation_prompt: generationPrompt, enable_thinking: false, recordLine: line });
  const key = `${JSON.stringify(specialTokens(tokenizer.config))}\u0000${text}`;
  let generationPrompt = probed.get(key);
  if (generationPrompt === undefined) {
    generationPrompt = probeGenerationPrompt(render);
    if (probed.size >= 8) probed.delete(probed.keys().next().value!);
    probed.set(key, generationPrompt);
  }
  return { render, generationPrompt };
}

/**
 * The generation prompt G = render([user], gen) minus render([user], no gen), kept only if on every
 * probe conversation the text up to the last G of the full render equals the prompt rendered alone.
 * A probe the template refuses (raise_exception, e.g. no system role) is skipped; the first must pass.
 * Budget errors are not swallowed: such a template would fail on every example.
 */
function probeGenerationPrompt(render: ChatRenderer['render']): string | null {
  const refused = (e: unknown) => isStudioError(e, DataErrorCode.templateRaised) || isStudioError(e, DataErrorCode.templateRender);
  let generationPrompt: string;
  try {
    const user = PROBES[0]!.slice(0, 1);
    const withPrompt = render(user, true, 0);
    const without = render(user, false, 0);
    if (!withPrompt.startsWith(without) || withPrompt.length === without.length) return null;
    generationPrompt = withPrompt.slice(without.length);
  } catch (e) {
    if (refused(e)) return null;
    throw e;
  }
  for (const [i, conversation] of PROBES.entries()) {
    let full: string, prompt: string;
    try {
      full = render(conversation, false, 0);
      prompt = render(conversation.slice(0, -1), true, 0);
    } catch (e) {
      if (refused(e) && i > 0) continue;
      if (refused(e)) return null;
      throw e;
    }
    const k = full.lastIndexOf(generationPrompt);
    if (k < 0 || full.slice(0, k + generationPrompt.length) !== prompt) return null;
  }
  return generationPrompt;
}

/**
 * Chat masking (docs/shadowpeft.md §10): prompt = the template over every message before the final
 * assistant turn, with the generation prompt (Qwen3: thinking disabled); full = the template over all
 * messages. The full text must start with the prompt text; the rest (answer + the template's
 * end-of-turn text, for Qwen3 "<|im_end|>\n") is supervised. Only the final assistant turn is
 * supervised: earlier assistant turns are context. The two parts are tokenized separately and
 * concatenated, so the prompt tokens are exactly those the model is given at generation time.
 *
 * One render per conversation: when the probes have shown that the prompt is the full render up to
 * the last generation prompt G, the prompt is cut from the full render there (unless the answer itself
 * contains G, then, like templates without a usable G, the prompt is rendered on its own and checked).
 */
function chatParts(chat: ChatRenderer, tokenizer: DataTokenizer, messages: ChatMessage[], line: number): Parts {
  const g = chat.generationPrompt;
  const full = chat.render(messages, false, line);
  let prompt: string;
  if (g !== null && !messages.at(-1)!.content.includes(g)) {
    const k = full.lastIndexOf(g);
    if (k < 0) return MISMATCH;
    prompt = full.slice(0, k + g.length);
  } else {
    prompt = chat.render(messages.slice(0, -1), true, line);
    if (!full.startsWith(prompt)) return MISMATCH;
  }
  return {
    prompt: tokenizer.encode(prompt, { add_special_tokens: false }),
    answer: tokenizer.encode(full.slice(prompt.length), { add_special_tokens: false }),
  };
}

function plainParts(tokenizer: DataTokenizer, prompt: string, completion: string, eos: number): Parts {
  return {
    prompt: prompt === '' ? [] : tokenizer.encode(prompt, { add_special_tokens: true }),
    answer: [...tokenizer.encode(completion, { add_special_tokens: false }), eos],
  };
}

/** Single-turn records as (user text, assistant text). */
function promptAnswerOf(e: Example, plain: boolean): [string, string] | null {
  switch (e.kind) {
    case 'prompt_completion':
      return [e.prompt, e.completion];
    case 'alpaca':
      return [plain ? alpacaPlainPrompt(e.instruction, e.input) : alpacaUserMessage(e.instruction, e.input), e.output];
    case 'classification':
      // Generative classification: the label's text is the answer.
      return [plain ? `${e.text}\n` : e.text, String(e.label)];
    default:
      return null;
  }
}

/**
 * Tokenizes examples with label masking and right truncation. Text records are supervised on every
 * token (plus eos); a .txt file is tokenized as one stream and packed into blocks of maxLength tokens
 * (the last, shorter block kept when it has ≥ 2 tokens).
 */
export function tokenizeExamples(examples: readonly Example[], tokenizer: DataTokenizer, options: TokenizeOptions): TokenizeResult {
  const { maxLength } = options;
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new StudioError(DataErrorCode.badOption, `maxLength must be an integer ≥ 2, got ${maxLength}`);
  const templateAvailable = hasChatTemplate(tokenizer);
  const mode = options.template ?? 'auto';
  const useChat = mode === 'chat' || (mode === 'auto' && templateAvailable);
  const needsTemplate = useChat || examples.some((e) => e.kind === 'chat');
  if (needsTemplate && !templateAvailable) {
    throw new StudioError(DataErrorCode.tokenizer, 'the tokenizer has no chat template', 'chat data needs an instruct model’s tokenizer; for prompt/completion data choose the plain template');
  }
  const eos = options.eosTokenId ?? tokenizer.eos_token_id;
  const needsEos = examples.some((e) => e.kind === 'text' || (!useChat && e.kind !== 'chat' && e.kind !== 'plain_text'));
  if (needsEos && (eos === undefined || eos === null || !Number.isInteger(eos))) {
    throw new StudioError(DataErrorCode.tokenizer, 'the tokenizer has no end-of-sequence token', 'pass eosTokenId');
  }

  const chat = needsTemplate ? chatRenderer(tokenizer) : undefined;
  const result: TokenizeResult = { examples: [], truncatedCount: 0, droppedCount: 0, dropped: [] };
  const drop = (line: number, reason: string) => {
    result.droppedCount++;
    if (result.dropped.length < MAX_KEPT_ISSUES) result.dropped.push({ line, reason });
  };

  for (const e of examples) {
    if (e.kind === 'plain_text') {
      const ids = encodeLongText(tokenizer, e.text);
      for (let start = 0, block = 0; start < ids.length; start += maxLength, block++) {
        const chunk = ids.slice(start, start + maxLength);
        if (chunk.length < 2) break; // a 1-token block has no next-token target
        result.examples.push({ inputIds: chunk, labels: chunk.slice(), line: e.line, block });
      }
      continue;
    }

    let parts: Parts;
    if (e.kind === 'chat') parts = chatParts(chat!, tokenizer, e.messages, e.line);
    else if (e.kind === 'text') parts = { prompt: [], answer: [...tokenizer.encode(e.text, { add_special_tokens: true }), eos!] };
    else {
      const [user, answer] = promptAnswerOf(e, !useChat)!;
      parts = useChat
        ? chatParts(chat!, tokenizer, [
            { role: 'user', content: user },
            { role: 'assistant', content: answer },
          ], e.line)
        : plainParts(tokenizer, user, answer, eos!);
    }
    if (typeof parts === 'string') {
      drop(e.line, parts);
      continue;
    }
    const { prompt, answer } = parts;
    if (prompt.length >= maxLength) {
      drop(e.line, `the prompt alone is ${prompt.length} tokens, not less than maxLength ${maxLength}: no answer token would remain`);
      continue;
    }
    let inputIds = [...prompt, ...answer];
    let labels = [...prompt.map(() => IGNORE_INDEX), ...answer];
    if (inputIds.length > maxLength) {
      inputIds = inputIds.slice(0, maxLength);
      labels = labels.slice(0, maxLength);
      result.truncatedCount++;
    }
    // Position 0 is never a target after the causal shift, so count targets from position 1.
    if (countTargets(labels) === 0) {
      drop(e.line, `nothing to learn from: ${inputIds.length} token(s), none supervised after the first`);
      continue;
    }
    result.examples.push({ inputIds, labels, line: e.line });
  }
  return result;
}

/** Supervised positions that a causal LM loss sees: labels[t] ≠ −100 for t ≥ 1. */
export function countTargets(labels: readonly number[]): number {
  let n = 0;
  for (let t = 1; t < labels.length; t++) if (labels[t] !== IGNORE_INDEX) n++;
  return n;
}

/**
 * Tokenizes a long text in pieces of about `chunkChars` characters, split only where a line break is
 * followed by a non-space character. Byte-level BPE pre-tokenizers (Qwen, Llama 3, GPT-2) never join
 * across such a point, so the ids equal those of one encode() call; pieces keep each call small.
 */
export function encodeLongText(tokenizer: DataTokenizer, text: string, chunkChars = 1 << 16): number[] {
  const ids: number[] = [];
  let start = 0;
  while (start < text.length) {
    let end = start + chunkChars;
    if (end >= text.length) end = text.length;
    else {
      const boundary = /\n(?=\S)/g;
      boundary.lastIndex = end;
      const m = boundary.exec(text);
      end = m ? m.index + 1 : text.length;
    }
    const piece = tokenizer.encode(text.slice(start, end), { add_special_tokens: false });
    for (const id of piece) ids.push(id);
    start = end;
  }
  return ids;
}
