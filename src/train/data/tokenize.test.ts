import { beforeAll, describe, expect, it } from 'vitest';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { compileChatTemplate } from './chatTemplate';
import { loadQwen3Tokenizer } from './testing/qwen3Tokenizer';
import { countTargets, encodeLongText, tokenizeExamples } from './tokenize';
import type { DataTokenizer, TokenizeOptions } from './tokenize';
import { IGNORE_INDEX } from './types';
import type { ChatMessage, Example, TokenizedExample } from './types';

let qwen: PreTrainedTokenizer;
let tok: DataTokenizer; // compile-time check: transformers.js' tokenizer satisfies DataTokenizer
beforeAll(async () => {
  qwen = await loadQwen3Tokenizer();
  tok = qwen;
});

const IM_END = 151645; // <|im_end|>, Qwen3's eos in this (instruct) tokenizer config
const ENDOFTEXT = 151643; // <|endoftext|>, the pad token
const enc = (s: string) => tok.encode(s, { add_special_tokens: false });
const dec = (ids: number[]) => tok.decode(ids, { skip_special_tokens: false });

function one(e: Example, options: TokenizeOptions = { maxLength: 512 }): TokenizedExample {
  const r = tokenizeExamples([e], tok, options);
  expect(r.dropped).toEqual([]);
  expect(r.examples).toHaveLength(1);
  return r.examples[0]!;
}

/**
 * The hand-computed check: the first `enc(expectedPrompt).length` labels are −100, every later label
 * equals its input id, the ids decode to prompt + answer, and the supervised ids decode to `answer`.
 */
function expectMasked(x: TokenizedExample, expectedPrompt: string, expectedAnswer: string) {
  const p = enc(expectedPrompt).length;
  expect(x.inputIds.length).toBe(x.labels.length);
  expect(x.labels.slice(0, p)).toEqual(new Array(p).fill(IGNORE_INDEX));
  expect(x.labels.slice(p)).toEqual(x.inputIds.slice(p));
  expect(x.labels.slice(p).every((l) => l !== IGNORE_INDEX)).toBe(true);
  expect(dec(x.inputIds.slice(0, p))).toBe(expectedPrompt);
  expect(dec(x.inputIds.slice(p))).toBe(expectedAnswer);
}

const chat = (line: number, ...turns: [ChatMessage['role'], string][]): Example => ({ kind: 'chat', line, messages: turns.map(([role, content]) => ({ role, content })) });

describe('chat masking with the real Qwen3 template (thinking disabled)', () => {
  it('single turn: prompt is the template up to the generation prompt, answer + <|im_end|>\\n supervised', () => {
    const x = one(chat(1, ['user', 'Hi'], ['assistant', 'Hello there!']));
    const prompt = '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n';
    expectMasked(x, prompt, 'Hello there!<|im_end|>\n');
    // Spelled out token by token:
    // <|im_start|> user \n Hi <|im_end|> \n <|im_start|> assistant \n <think> \n\n </think> \n\n | Hello ␣there ! <|im_end|> \n
    expect(x.inputIds).toEqual([151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271, 9707, 1052, 0, IM_END, 198]);
    expect(x.labels).toEqual([...new Array(13).fill(-100), 9707, 1052, 0, IM_END, 198]);
  });

  it('multi-turn: only the last assistant turn is supervised; earlier turns render without <think>', () => {
    const x = one(chat(3, ['system', 'You are terse.'], ['user', '2+2?'], ['assistant', '4'], ['user', 'Times 3?'], ['assistant', '12']));
    const prompt =
      '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n' +
      '<|im_start|>user\nTimes 3?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n';
    expectMasked(x, prompt, '12<|im_end|>\n');
    expect(x.line).toBe(3);
    expect(countTargets(x.labels)).toBe(4); // "1" "2" <|im_end|> "\n": Qwen splits digits
  });

  it('an empty answer still learns the end of turn', () => {
    const x = one(chat(1, ['user', 'Hi'], ['assistant', '']));
    expectMasked(x, '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n', '<|im_end|>\n');
  });

  it('prompt + answer tokenized apart equal the joint tokenization for these conversations', () => {
    // The pipeline tokenizes the two parts separately (prompt ids = what generation is given); this
    // checks that no BPE merge crosses the boundary for ordinary answers.
    for (const answer of ['Hello there!', '12', ' leading space', '\nnewline first', '日本語']) {
      const msgs = [
        { role: 'user' as const, content: 'Q' },
        { role: 'assistant' as const, content: answer },
      ];
      const x = one({ kind: 'chat', line: 1, messages: msgs });
      const full = qwen.apply_chat_template(msgs, { tokenize: false, add_generation_prompt: false, enable_thinking: false } as never) as unknown as string;
      expect(x.inputIds).toEqual(enc(full));
    }
  });

  it('an answer with its own <think> block cannot be masked: dropped with the reason', () => {
    const r = tokenizeExamples([chat(4, ['user', 'Q'], ['assistant', '<think>\nhmm\n</think>\n\nA'])], tok, { maxLength: 64 });
    expect(r.examples).toEqual([]);
    expect(r.droppedCount).toBe(1);
    expect(r.dropped[0]!.line).toBe(4);
    expect(r.dropped[0]!.reason).toMatch(/chat template does not render this conversation as prompt \+ answer/);
  });
});

describe('single-turn records', () => {
  const chatPrompt = (user: string) => `<|im_start|>user\n${user}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n`;

  it("prompt/completion through the chat template ('auto' with a template)", () => {
    expectMasked(one({ kind: 'prompt_completion', line: 1, prompt: 'Capital of France?', completion: 'Paris.' }), chatPrompt('Capital of France?'), 'Paris.<|im_end|>\n');
  });

  it("prompt/completion 'plain': prompt text + completion text + eos", () => {
    const x = one({ kind: 'prompt_completion', line: 1, prompt: 'Q: 2+2\nA:', completion: ' 4' }, { maxLength: 64, template: 'plain' });
    expectMasked(x, 'Q: 2+2\nA:', ' 4<|im_end|>');
    expect(x.inputIds.slice(-3)).toEqual([220, 19, IM_END]); // ␣ 4 <|im_end|>
    const y = one({ kind: 'prompt_completion', line: 1, prompt: 'Q: 2+2\nA:', completion: ' 4' }, { maxLength: 64, template: 'plain', eosTokenId: ENDOFTEXT });
    expectMasked(y, 'Q: 2+2\nA:', ' 4<|endoftext|>');
  });

  it('Alpaca: instruction + input as the user message, or the Alpaca prompt in plain mode', () => {
    expectMasked(one({ kind: 'alpaca', line: 1, instruction: 'Translate to English', input: 'bonjour', output: 'hello' }), chatPrompt('Translate to English\n\nbonjour'), 'hello<|im_end|>\n');
    expectMasked(one({ kind: 'alpaca', line: 1, instruction: 'Say hi', input: '', output: 'hi' }), chatPrompt('Say hi'), 'hi<|im_end|>\n');
    expectMasked(
      one({ kind: 'alpaca', line: 1, instruction: 'Say hi', input: '', output: 'hi' }, { maxLength: 64, template: 'plain' }),
      '### Instruction:\nSay hi\n\n### Response:\n',
      'hi<|im_end|>',
    );
    expectMasked(
      one({ kind: 'alpaca', line: 1, instruction: 'Translate', input: 'bonjour', output: 'hello' }, { maxLength: 64, template: 'plain' }),
      '### Instruction:\nTranslate\n\n### Input:\nbonjour\n\n### Response:\n',
      'hello<|im_end|>',
    );
  });

  it('classification: the label text is the answer', () => {
    expectMasked(one({ kind: 'classification', line: 1, text: 'Great film', label: 'positive' }), chatPrompt('Great film'), 'positive<|im_end|>\n');
    expectMasked(one({ kind: 'classification', line: 1, text: 'Great film', label: 3 }, { maxLength: 64, template: 'plain' }), 'Great film\n', '3<|im_end|>');
  });

  it('text: every token supervised, eos appended', () => {
    const x = one({ kind: 'text', line: 1, text: 'Hello there!' });
    expect(x.inputIds).toEqual([9707, 1052, 0, IM_END]);
    expect(x.labels).toEqual(x.inputIds);
  });
});

describe('truncation', () => {
  const hi = chat(7, ['user', 'Hi'], ['assistant', 'Hello there!']); // prompt 13 tokens, answer 5

  it('cuts from the right and counts; a prompt that fills maxLength is dropped and reported', () => {
    const r15 = tokenizeExamples([hi], tok, { maxLength: 15 });
    expect(r15.truncatedCount).toBe(1);
    expect(r15.examples[0]!.inputIds).toHaveLength(15);
    expect(dec(r15.examples[0]!.labels.slice(13))).toBe('Hello there');

    const r14 = tokenizeExamples([hi], tok, { maxLength: 14 });
    expect(r14.examples[0]!.labels.filter((l) => l !== IGNORE_INDEX)).toEqual([9707]);

    const r13 = tokenizeExamples([hi, { kind: 'text', line: 9, text: 'ok' }], tok, { maxLength: 13 });
    expect(r13.examples.map((e) => e.line)).toEqual([9]);
    expect(r13.truncatedCount).toBe(0);
    expect(r13.droppedCount).toBe(1);
    expect(r13.dropped).toEqual([{ line: 7, reason: 'the prompt alone is 13 tokens, not less than maxLength 13: no answer token would remain' }]);

    const r18 = tokenizeExamples([hi], tok, { maxLength: 18 });
    expect(r18.truncatedCount).toBe(0);
  });

  it('an example with no target after the shift is dropped', () => {
    // "" encodes to nothing: the sequence is just eos, which no position predicts.
    const r = tokenizeExamples([{ kind: 'prompt_completion', line: 2, prompt: '', completion: '' }], tok, { maxLength: 8, template: 'plain' });
    expect(r.examples).toEqual([]);
    expect(r.dropped[0]!.line).toBe(2);
    expect(r.dropped[0]!.reason).toMatch(/^nothing to learn from/);
  });
});

describe('plain text packing', () => {
  const book = 'Call me Ishmael. Some years ago—never mind how long precisely—having little money,\n\n  and nothing particular to interest me on shore,\nI thought I would sail about a little.\n🦩 𝒳 鿕 日本語.\n\nThe end.\n';

  it('encodeLongText equals one encode() call whatever the chunk size', () => {
    const whole = enc(book);
    for (const chunk of [1, 7, 16, 50, 1 << 16]) expect(encodeLongText(tok, book, chunk)).toEqual(whole);
  });

  it('packs the stream into blocks of maxLength; a last block of 1 token is dropped', () => {
    const ids = enc(book);
    const maxLength = 8;
    const r = tokenizeExamples([{ kind: 'plain_text', line: 1, text: book }], tok, { maxLength });
    const full = Math.floor(ids.length / maxLength);
    const rest = ids.length % maxLength;
    expect(rest).toBeGreaterThanOrEqual(2); // this case keeps a shorter last block
    expect(r.examples).toHaveLength(full + 1);
    r.examples.forEach((b, k) => {
      expect(b.block).toBe(k);
      expect(b.inputIds).toEqual(ids.slice(k * maxLength, (k + 1) * maxLength));
      expect(b.labels).toEqual(b.inputIds);
    });
    // pick a maxLength that leaves exactly one token over
    const m = Array.from({ length: ids.length }, (_, i) => i + 2).find((k) => ids.length % k === 1)!; // exists: k = ids.length − 1
    expect(m).toBeDefined();
    const r1 = tokenizeExamples([{ kind: 'plain_text', line: 1, text: book }], tok, { maxLength: m });
    expect(r1.examples).toHaveLength(Math.floor(ids.length / m));
  });
});

describe('tokenizers without a chat template or eos', () => {
  const noTemplate = (): DataTokenizer => ({
    encode: (t, o) => tok.encode(t, o),
    decode: (i, o) => tok.decode(i, o),
    chat_template: null,
    eos_token_id: ENDOFTEXT,
  });

  it("'auto' falls back to plain prompt + completion + eos", () => {
    const x = tokenizeExamples([{ kind: 'prompt_completion', line: 1, prompt: 'Q: 2+2\nA:', completion: ' 4' }], noTemplate(), { maxLength: 32 }).examples[0]!;
    expectMasked(x, 'Q: 2+2\nA:', ' 4<|endoftext|>');
  });

  it('chat data or template "chat" needs a template (E402)', () => {
    expect(() => tokenizeExamples([chat(1, ['user', 'a'], ['assistant', 'b'])], noTemplate(), { maxLength: 32 })).toThrow(/^E402 the tokenizer has no chat template/);
    expect(() => tokenizeExamples([{ kind: 'text', line: 1, text: 'a' }], noTemplate(), { maxLength: 32, template: 'chat' })).toThrow(/E402/);
  });

  it('text data needs an eos id; bad maxLength is refused', () => {
    const t = { ...noTemplate(), eos_token_id: undefined };
    expect(() => tokenizeExamples([{ kind: 'text', line: 1, text: 'a' }], t, { maxLength: 32 })).toThrow(/^E402 the tokenizer has no end-of-sequence token/);
    expect(() => tokenizeExamples([], tok, { maxLength: 1 })).toThrow(/^E403/);
  });
});

describe('the chat template is rendered once per example, under its budget', () => {
  const pc = (line: number, prompt: string, completion: string): Example => ({ kind: 'prompt_completion', line, prompt, completion });
  const rendersFor = (t: DataTokenizer, examples: Example[]) => {
    const compiled = compileChatTemplate(t.chat_template as string);
    const before = compiled.renders;
    const r = tokenizeExamples(examples, t, { maxLength: 256 });
    return { r, renders: compiled.renders - before };
  };
  /** Renders per example: the difference between 7 examples and 2, after a first call has run the template's probes. */
  const perExample = (t: DataTokenizer, make: (i: number) => Example) => {
    rendersFor(t, [make(0)]);
    const seven = rendersFor(t, Array.from({ length: 7 }, (_, i) => make(i + 1))).renders;
    const two = rendersFor(t, Array.from({ length: 2 }, (_, i) => make(i + 1))).renders;
    return (seven - two) / 5;
  };
  const withTemplate = (chat_template: string, config: Record<string, unknown> = {}): DataTokenizer => ({
    encode: (t, o) => tok.encode(t, o),
    decode: (i, o) => tok.decode(i, o),
    chat_template,
    config,
    eos_token_id: IM_END,
  });

  it('the probes run once per template, not once per call', () => {
    const t = withTemplate('{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{% if add_generation_prompt %}[assistant:{% endif %}');
    const first = rendersFor(t, [pc(1, 'Q', 'A')]).renders;
    expect(first).toBeGreaterThan(1); // the probes + the example
    expect(rendersFor(t, [pc(1, 'Q', 'A')]).renders).toBe(1);
  });

  it('Qwen3: one render per example, masking as with two (the tests above)', () => {
    expect(perExample(tok, (i) => chat(i, ['user', `Q${i}`], ['assistant', `A${i}`]))).toBe(1);
    expect(perExample(tok, (i) => pc(i, `Q${i}`, `A${i}`))).toBe(1);
  });

  it('an answer holding the generation prompt is split with two renders, still correctly', () => {
    // the bundled model's ChatML template: the generation prompt is "<|im_start|>assistant\n"
    const chatml = withTemplate("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}");
    const g = '<|im_start|>assistant\n';
    const x = tokenizeExamples([chat(1, ['user', 'Q'], ['assistant', `quoted ${g}done`])], chatml, { maxLength: 64 }).examples[0]!;
    expectMasked(x, `<|im_start|>user\nQ<|im_end|>\n${g}`, `quoted ${g}done<|im_end|>\n`);
    expect(perExample(chatml, (i) => chat(i, ['user', `Q${i}`], ['assistant', `quoted ${g}`]))).toBe(2);
    expect(perExample(chatml, (i) => chat(i, ['user', `Q${i}`], ['assistant', `A${i}`]))).toBe(1);
  });

  it('a template without a generation prompt (Mistral) falls back to two renders', () => {
    const mistral = withTemplate(
      "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}",
      { bos_token: '<s>', eos_token: '</s>' },
    );
    expect(perExample(mistral, (i) => pc(i, `Q${i}`, `A${i}`))).toBe(2);
    const x = tokenizeExamples([pc(1, 'Q', 'A')], mistral, { maxLength: 64 }).examples[0]!;
    expectMasked(x, '<s>[INST] Q [/INST]', 'A</s>');
  });

  it('a template whose earlier turns depend on the last message fails the probe: two renders, dropped as before', () => {
    const counting = withTemplate("{{ messages | length }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}");
    const { r } = rendersFor(counting, [pc(4, 'Q', 'A')]);
    expect(r.examples).toEqual([]);
    expect(r.dropped).toEqual([{ line: 4, reason: expect.stringMatching(/does not render this conversation as prompt \+ answer/) }]);
    expect(perExample(counting, (i) => pc(i, `Q${i}`, `A${i}`))).toBe(2);
  });

  it('template failures are coded errors naming the record', () => {
    const raising = withTemplate("{% for m in messages %}{% if m.content == 'bad' %}{{ raise_exception('no bad words') }}{% endif %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}");
    expect(() => tokenizeExamples([pc(3, 'ok', 'fine'), pc(7, 'bad', 'x')], raising, { maxLength: 64 })).toThrow(
      /^E405 record at line 7: the chat template refused this conversation: "no bad words" — at template line 1: .* — make the conversations fit/,
    );
    expect(() => tokenizeExamples([pc(1, 'Q', 'A')], withTemplate('{% for m in messages %}'), { maxLength: 64 })).toThrow(/^E404 the chat template does not parse: \{% for %\} is never closed/);
    expect(() => tokenizeExamples([pc(1, 'Q', 'A')], withTemplate('{% for i in range(1000000000) %}{% endfor %}'), { maxLength: 64 })).toThrow(/^E406 range\(1000000000\) is too long/);
  });
});
