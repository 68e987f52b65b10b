import { Environment, Interpreter, Template, parse, tokenize } from '@huggingface/jinja';
import { StudioError } from '../../engine/errors';
import { DataErrorCode } from './issues';

/**
 * The studio's one renderer of a model's chat template (tokenizer_config.json's `chat_template`, Jinja),
 * for training's tokenize path and generation's chat prompt alike. A template comes from anyone on the
 * Hub, so a render runs under a budget and every failure is a coded error (E404–E407).
 *
 * Why a subclass of @huggingface/jinja's Interpreter (the engine transformers.js renders with): every
 * node of the template goes through `Interpreter.evaluate`, which the library calls as `this.evaluate`,
 * so overriding it sees each step before and after it runs — enough to count steps, bound recursion,
 * check the size of every value made and look at the clock, with the library's own semantics kept
 * (the output equals transformers.js' apply_chat_template). Three things cannot be bounded after the
 * fact and are guarded before they run:
 *  - `range(n)` builds its whole array first (n = 1e9 aborts V8): it is replaced by one that checks n;
 *  - a for loop builds a scope per item before the first iteration: the iterable's length is charged
 *    when the iterable has been evaluated, before the loop body;
 *  - a few builtins multiply their input (`replace`, `join(sep)`, `indent(w)`, `tojson(indent, separators)`):
 *    their output size is bounded from their arguments just before they run.
 * Values are immutable except namespaces, so a list's size (the length of its JSON) is computed once,
 * which also bounds lists nested in lists (a DAG printed as a tree). A template reaches only Jinja values:
 * the library looks names and attributes up in Maps, never on JS objects, so `''.__class__`,
 * `x.constructor` and the like are undefined (tested).
 */

type Program = Template['parsed'];
type Value = ReturnType<Interpreter['evaluate']>;
type Node = NonNullable<Parameters<Interpreter['evaluate']>[0]>;
type Scope = Environment;
type BuiltinFn = (args: Value[], scope: Scope) => Value;

/** Limits of one render. */
export interface ChatTemplateBudget {
  /** template nodes evaluated, + LOOP_ITEM_STEPS per loop item, + 1 per 16 numbers of range() or list items measured */
  maxSteps: number;
  /** characters of any string the template makes (the output included), and JSON length of any list or dict */
  maxChars: number;
  /** items of any list or dict (counted through nested lists), and the length of range() */
  maxItems: number;
  /** nesting of evaluation: macros calling macros, expressions inside expressions */
  maxDepth: number;
  /** nesting of lists and dicts inside each other */
  maxNesting: number;
  /** wall-clock milliseconds, checked every 1024 steps */
  maxMs: number;
}

/**
 * The library's for loop builds a scope per item before the first iteration; an item costs about as
 * much time as 8 evaluated nodes (measured: ~10 µs per item, ~1–2 µs per node), so it is charged 8.
 */
export const LOOP_ITEM_STEPS = 8;

/**
 * Why these numbers (measured in Node; the tests check the Qwen3 figures):
 *  - steps: Qwen3's template takes ~67 steps per message (+ ~100), so 250,000 steps render
 *    conversations of ~3,500 messages, while a runaway template stops after about 0.5 s of work
 *    (~2 µs a step);
 *  - chars: 4 Mi characters are over a million tokens, more than any example or prompt the studio uses;
 *  - items: 200,000 are ~65,000 messages (3 items each); range() and split() beyond that are refused
 *    before their arrays exist (range(1e9) used to abort V8 with an uncatchable invalid size error);
 *  - depth: Qwen3 needs 13 levels; a self-recursive macro overflows Node's default stack at ~1,040
 *    levels (and the library then reads the macro as undefined, silently), so 250 keeps a 4× margin;
 *  - nesting: no chat template nests data 64 deep;
 *  - time: 1 s is a last resort against steps that are each slow; the counters stop every known case first.
 */
export const DEFAULT_CHAT_TEMPLATE_BUDGET: Readonly<ChatTemplateBudget> = Object.freeze({
  maxSteps: 250_000,
  maxChars: 4 * 1024 * 1024,
  maxItems: 200_000,
  maxDepth: 250,
  maxNesting: 64,
  maxMs: 1000,
});

/** A template longer than this is refused before parsing (real ones are under 20 000 characters). */
export const MAX_TEMPLATE_CHARS = 1 << 20;

export type BudgetKind = 'steps' | 'chars' | 'items' | 'depth' | 'nesting' | 'time';

/** Where a budget stopped a render: the counter, how far it got and its limit. */
export interface BudgetStop {
  kind: BudgetKind;
  used: number;
  limit: number;
}

/** A chat template failure (E404 syntax, E405 raise_exception, E406 budget, E407 other render error). */
export class ChatTemplateError extends StudioError {
  /** set when a budget stopped the render */
  readonly budget?: BudgetStop;
  /** 1-based line of the template where it failed, when known */
  readonly templateLine?: number;
  constructor(code: string, message: string, hint: string, extra: { budget?: BudgetStop; templateLine?: number } = {}) {
    super(code, message, hint);
    this.name = 'ChatTemplateError';
    this.budget = extra.budget;
    this.templateLine = extra.templateLine;
  }
}

const FIX = "choose the plain template on the Data screen (or chat off when generating), or fix tokenizer_config.json's chat_template";
const HINTS: Record<string, string> = {
  [DataErrorCode.templateSyntax]: FIX,
  [DataErrorCode.templateRaised]: `make the conversations fit what the template checks for (e.g. roles alternating user/assistant), or ${FIX}`,
  [DataErrorCode.templateBudget]: `no chat template needs this much; ${FIX}`,
  [DataErrorCode.templateRender]: FIX,
};

export interface ChatTemplateMessage {
  role: string;
  content: string;
}

export interface ChatTemplateRenderOptions {
  add_generation_prompt: boolean;
  /** read by Qwen3's template; false renders an empty <think></think> block after the generation prompt */
  enable_thinking?: boolean;
  /** limits of this render (default DEFAULT_CHAT_TEMPLATE_BUDGET) */
  budget?: Partial<ChatTemplateBudget>;
  /** named in the error message: "record at line 17: …" */
  recordLine?: number;
}

/** What a renderer needs of a tokenizer: transformers.js' PreTrainedTokenizer has both. */
export interface ChatTemplateTokenizer {
  chat_template?: unknown;
  /** tokenizer_config.json, for the special tokens a template may print (bos_token, eos_token, …) */
  config?: unknown;
}

/** Counters of the last render of a compiled template (for tests and benchmarks). */
export interface RenderStats {
  steps: number;
  maxDepth: number;
}

// ---------------------------------------------------------------------------------------------
// The library's value classes are not exported; their constructors are taken from values it makes.

type Ctor = abstract new (...args: never[]) => Value;
const probe = new Environment();
const StringValue = probe.set('s', '').constructor as unknown as new (value: string) => Value & { value: string };
const ArrayValue = probe.set('a', []).constructor as Ctor;
const ObjectValue = probe.set('o', {}).constructor as Ctor;
const IntegerValue = probe.set('i', 1).constructor as Ctor;
const FunctionValue = probe.set('f', () => null).constructor as unknown as new (fn: BuiltinFn) => Value;
const NamespaceValue = (probe.lookupVariable('namespace').value as BuiltinFn)([], probe).constructor as Ctor;

const isString = (v: unknown): v is Value & { value: string } => v instanceof StringValue;
const isArray = (v: unknown): v is Value & { value: Value[] } => v instanceof ArrayValue;
const isObject = (v: unknown): v is Value & { value: Map<string, Value> } => v instanceof ObjectValue;
const isNamespace = (v: unknown): v is Value & { value: Map<string, Value> } => v instanceof NamespaceValue;
const isInteger = (v: unknown): v is Value & { value: number } => v instanceof IntegerValue;

/** What the library's private methods look like from here (they are ordinary methods at run time). */
interface InterpreterInternals {
  evaluateBlock(statements: Node[], scope: Scope): Value;
  applyFilter(operand: Value, filter: Node, scope: Scope): Value;
}

// ---------------------------------------------------------------------------------------------
// Static analysis of a parsed template: which nodes need a look before or after they run.

interface AnyNode {
  type: string;
  [key: string]: unknown;
}

/** A builtin that multiplies its input: checked when its last argument has been evaluated. */
interface SizeGuard {
  kind: 'join' | 'indent' | 'tojson';
  /** the node whose value is the filter's input (a FilterStatement's input is its rendered body) */
  operand: Node;
  positional: Node[];
  keyword: Map<string, Node>;
}

interface Analysis {
  /** statements that are direct children of a block: the "line" quoted when something fails */
  blockLevel: WeakSet<Node>;
  /** for-loop iterables: their length is charged before the loop builds its items */
  iterables: WeakSet<Node>;
  /** nodes whose string value gets a size-checked `replace` and `split` (member objects, `| replace` operands) */
  guardMethods: WeakSet<Node>;
  /** nodes whose value a SizeGuard reads */
  recorded: WeakSet<Node>;
  /** last-evaluated argument of a multiplying builtin → its guard */
  guards: WeakMap<Node, SizeGuard>;
  /** macro / call-block nodes → size of their body (the library walks it each time they are defined) */
  bodySize: WeakMap<Node, number>;
}

const BODY_KEYS = ['body', 'alternate', 'defaultBlock'] as const;

function isNode(x: unknown): x is AnyNode {
  return typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string';
}

function children(node: AnyNode): AnyNode[] {
  const out: AnyNode[] = [];
  const add = (x: unknown) => {
    if (Array.isArray(x)) x.forEach(add);
    else if (x instanceof Map) {
      for (const [k, v] of x) {
        add(k);
        add(v);
      }
    }
    else if (isNode(x)) out.push(x);
  };
  for (const value of Object.values(node)) add(value);
  return out;
}

function filterCall(filter: unknown): { name: string; args: AnyNode[] } | null {
  if (!isNode(filter)) return null;
  if (filter.type === 'Identifier') return { name: String(filter.value), args: [] };
  if (filter.type === 'CallExpression' && isNode(filter.callee) && filter.callee.type === 'Identifier') {
    return { name: String(filter.callee.value), args: (filter.args as AnyNode[]) ?? [] };
  }
  return null;
}

function analyze(program: Program): Analysis {
  const a: Analysis = {
    blockLevel: new WeakSet(),
    iterables: new WeakSet(),
    guardMethods: new WeakSet(),
    recorded: new WeakSet(),
    guards: new WeakMap(),
    bodySize: new WeakMap(),
  };
  const sizeOf = (n: AnyNode): number => 1 + children(n).reduce((s, c) => s + sizeOf(c), 0);
  const addGuard = (kind: SizeGuard['kind'], operand: AnyNode, args: AnyNode[]) => {
    if (args.length === 0) return; // defaults are small (indent 4, separator '')
    if (args.some((x) => x.type === 'SpreadExpression' || x.type === 'KeywordSpreadExpression')) {
      throw new RenderFailure(DataErrorCode.templateRender, `${kind}() with * or ** arguments is not supported in chat templates`, operand as Node);
    }
    const positional = args.filter((x) => x.type !== 'KeywordArgumentExpression') as Node[];
    const keywordNodes = args.filter((x) => x.type === 'KeywordArgumentExpression');
    const keyword = new Map(keywordNodes.map((x) => [String((x.key as AnyNode).value), x.value as Node]));
    const guard: SizeGuard = { kind, operand: operand as Node, positional, keyword };
    // The library evaluates positional arguments, then keyword ones, each in order.
    const last = keywordNodes.length > 0 ? (keywordNodes.at(-1)!.value as Node) : positional.at(-1)!;
    a.guards.set(last, guard);
    for (const n of [operand as Node, ...positional, ...keyword.values()]) a.recorded.add(n);
  };
  const visit = (node: AnyNode) => {
    for (const key of BODY_KEYS) {
      const body = node[key];
      if (Array.isArray(body)) for (const s of body) if (isNode(s)) a.blockLevel.add(s as Node);
    }
    switch (node.type) {
      case 'For': {
        const it = node.iterable as AnyNode;
        a.iterables.add((it.type === 'SelectExpression' ? it.lhs : it) as Node);
        break;
      }
      case 'Macro':
      case 'CallStatement':
        a.bodySize.set(node as Node, sizeOf(node));
        break;
      case 'MemberExpression': {
        // `s.replace(...)`, `s.split(...)`, and any computed member `s[name]` (name may be either)
        const p = node.property as AnyNode;
        const literal = p.type === 'IntegerLiteral' || p.type === 'SliceExpression';
        if (node.computed ? !literal : p.type === 'Identifier' && (p.value === 'replace' || p.value === 'split')) a.guardMethods.add(node.object as Node);
        break;
      }
      case 'FilterExpression':
      case 'FilterStatement': {
        const call = filterCall(node.filter);
        const operand = (node.type === 'FilterExpression' ? node.operand : node) as AnyNode;
        if (call?.name === 'replace') a.guardMethods.add(operand as Node);
        if (call && (call.name === 'join' || call.name === 'indent' || call.name === 'tojson')) addGuard(call.name, operand, call.args);
        break;
      }
    }
    for (const c of children(node)) visit(c);
  };
  visit(program as unknown as AnyNode);
  for (const s of program.body) a.blockLevel.add(s);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Failures inside a render, turned into ChatTemplateErrors at the top.

class BudgetExceeded extends Error {
  constructor(readonly stop: BudgetStop, what: string) {
    super(what);
  }
}

/** raise_exception(message) */
class TemplateRaise extends Error {}

/** A coded failure found by the renderer itself (an unsupported construct, a bad range() argument). */
class RenderFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly node?: Node,
  ) {
    super(message);
  }
}

const LIMIT_OF: Record<BudgetKind, keyof ChatTemplateBudget> = {
  steps: 'maxSteps',
  chars: 'maxChars',
  items: 'maxItems',
  depth: 'maxDepth',
  nesting: 'maxNesting',
  time: 'maxMs',
};

const LIMIT_WORDS: Record<BudgetKind, string> = {
  steps: 'steps',
  chars: 'characters',
  items: 'items',
  depth: 'levels of nested evaluation (a macro calling itself?)',
  nesting: 'levels of nested lists or dicts',
  time: 'milliseconds',
};

/** JSON-ish size of a value: characters of its strings and keys + 2 per item; items; nesting. */
interface Size {
  chars: number;
  items: number;
  nesting: number;
}

class Budget {
  steps = 0;
  depth = 0;
  deepest = 0;
  private readonly start = performance.now();
  private readonly deadline: number;
  private readonly sizes = new WeakMap<object, Size>();
  private readonly open = new Set<object>();

  constructor(readonly limits: ChatTemplateBudget) {
    this.deadline = this.start + limits.maxMs;
  }

  stop(kind: BudgetKind, used: number, what: string): never {
    const limit = this.limits[LIMIT_OF[kind]];
    throw new BudgetExceeded({ kind, used, limit }, `${what}: over the limit of ${limit.toLocaleString('en-US')} ${LIMIT_WORDS[kind]}`);
  }

  /** One evaluated node; the clock is read every 1024 steps. */
  step(): void {
    if (this.steps >= this.limits.maxSteps) this.stop('steps', this.steps + 1, 'the chat template ran too long');
    if ((++this.steps & 1023) === 0) this.clock();
  }

  /** n units of work done natively by one step (loop items, range() numbers, list items measured). */
  charge(n: number, what: string): void {
    if (n <= 0) return;
    if (this.steps + n > this.limits.maxSteps) this.stop('steps', this.steps + n, what);
    const before = this.steps;
    this.steps += n;
    if (before >> 10 !== this.steps >> 10) this.clock();
  }

  clock(): void {
    const now = performance.now();
    if (now > this.deadline) this.stop('time', now - this.start, 'the chat template ran too long');
  }

  chars(n: number, what: string): void {
    if (n > this.limits.maxChars) this.stop('chars', n, what);
  }

  /** The size of a value, checked against the limits; lists and dicts are measured once. */
  size(v: Value, level = 0): Size {
    if (isString(v)) {
      this.chars(v.value.length, 'the chat template made a string too long');
      // A step that made a long string may have taken long itself: look at the clock now.
      if (v.value.length > 1 << 16) this.clock();
      return { chars: v.value.length + 2, items: 1, nesting: 0 };
    }
    const container = isArray(v) || isObject(v) || isNamespace(v);
    if (!container) return { chars: 8, items: 1, nesting: 0 };
    const known = this.sizes.get(v);
    if (known) return known;
    if (this.open.has(v)) throw new RenderFailure(DataErrorCode.templateRender, 'a namespace contains itself');
    if (level >= this.limits.maxNesting) this.stop('nesting', level + 1, 'the chat template nested lists too deeply');
    this.open.add(v);
    try {
      const s: Size = { chars: 2, items: 1, nesting: 1 };
      let mutable = isNamespace(v);
      const entries: [string, Value][] = isArray(v) ? v.value.map((x) => ['', x]) : [...v.value];
      if (entries.length > this.limits.maxItems) this.stop('items', entries.length, 'the chat template made a list too long');
      this.charge(Math.ceil(entries.length / 16), 'the chat template made a list too long');
      for (const [key, child] of entries) {
        const c = this.size(child, level + 1);
        s.chars += c.chars + key.length + 4;
        s.items += c.items;
        s.nesting = Math.max(s.nesting, c.nesting + 1);
        if ((isArray(child) || isObject(child) || isNamespace(child)) && !this.sizes.has(child)) mutable = true;
      }
      if (s.items > this.limits.maxItems) this.stop('items', s.items, 'the chat template made a list too long');
      if (s.nesting > this.limits.maxNesting) this.stop('nesting', s.nesting, 'the chat template nested lists too deeply');
      this.chars(s.chars, 'the chat template made a list too long');
      // A namespace can change later, and so can any list that holds one: measure those again each time.
      if (!mutable) this.sizes.set(v, s);
      return s;
    } finally {
      this.open.delete(v);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The budgeted interpreter.

class BudgetedInterpreter extends Interpreter {
  /** the innermost block-level statement running when an error passed through it (the failing "line") */
  readonly failedAt = new WeakMap<object, Node>();
  private readonly blocks: Node[] = [];
  /** values read by size guards, per evaluation depth (so a recursion cannot overwrite an outer call's) */
  private readonly frames: Map<Node, Value>[] = [];

  constructor(
    scope: Environment,
    private readonly analysis: Analysis,
    readonly budget: Budget,
  ) {
    super(scope);
  }

  override evaluate(statement: Node | undefined, scope: Scope): Value {
    if (!statement) return super.evaluate(statement, scope);
    const b = this.budget;
    b.step();
    const depth = ++b.depth;
    if (depth > b.deepest) b.deepest = depth;
    const block = this.analysis.blockLevel.has(statement);
    if (block) this.blocks.push(statement);
    try {
      if (depth > b.limits.maxDepth) b.stop('depth', depth, 'the chat template nests too deeply');
      const bodySize = this.analysis.bodySize.get(statement);
      if (bodySize !== undefined) b.charge(bodySize, 'the chat template defines macros too often');
      let result = statement.type === 'FilterStatement' ? this.filterStatement(statement, scope, depth) : super.evaluate(statement, scope);
      b.size(result);
      if (this.analysis.iterables.has(statement)) {
        const n = isArray(result) ? result.value.length : isObject(result) ? result.value.size : 0;
        b.charge(n * LOOP_ITEM_STEPS, `the chat template loops over ${n.toLocaleString('en-US')} items`);
      }
      if (this.analysis.guardMethods.has(statement) && isString(result)) result = guardMethods(result, b);
      if (this.analysis.recorded.has(statement)) (this.frames[depth] ??= new Map()).set(statement, result);
      const guard = this.analysis.guards.get(statement);
      if (guard) this.checkGuard(guard, this.frames[depth]!);
      return result;
    } catch (e) {
      if (typeof e === 'object' && e !== null && !this.failedAt.has(e)) {
        const at = this.blocks.at(-1);
        if (at) this.failedAt.set(e, at);
      }
      throw e;
    } finally {
      b.depth--;
      if (block) this.blocks.pop();
    }
  }

  /** `{% filter f %}…{% endfilter %}` as the library runs it, with its rendered body visible to the guards. */
  private filterStatement(statement: Node, scope: Scope, depth: number): Value {
    const node = statement as unknown as { body: Node[]; filter: Node };
    const self = this as unknown as InterpreterInternals;
    let rendered = self.evaluateBlock(node.body, scope);
    this.budget.size(rendered);
    if (this.analysis.guardMethods.has(statement) && isString(rendered)) rendered = guardMethods(rendered, this.budget);
    // The filter's arguments are evaluated one level deeper than this statement.
    if (this.analysis.recorded.has(statement)) (this.frames[depth + 1] ??= new Map()).set(statement, rendered);
    return self.applyFilter(rendered, node.filter, scope);
  }

  private checkGuard(g: SizeGuard, frame: Map<Node, Value>): void {
    const operand = frame.get(g.operand);
    if (!operand) return;
    const arg = (i: number, name: string): Value | undefined => {
      const node = g.positional[i] ?? g.keyword.get(name);
      return node ? frame.get(node) : undefined;
    };
    const b = this.budget;
    const size = b.size(operand);
    let bound = size.chars;
    if (g.kind === 'join') {
      const sep = arg(0, 'separator');
      const count = isString(operand) ? operand.value.length : isArray(operand) ? operand.value.length : 0;
      if (isString(sep)) bound = size.chars + count * sep.value.length;
    } else if (g.kind === 'indent') {
      const width = arg(0, 'width');
      if (isString(operand) && isInteger(width)) bound = operand.value.length + (countOf(operand.value, '\n') + 1) * Math.max(0, width.value);
    } else {
      const indent = g.keyword.has('indent') ? frame.get(g.keyword.get('indent')!) : undefined;
      const separators = g.keyword.has('separators') ? frame.get(g.keyword.get('separators')!) : undefined;
      const pad = isInteger(indent) ? Math.max(0, indent.value) * size.nesting + 1 : 0;
      const seps = isArray(separators) ? separators.value.reduce((s, x) => s + (isString(x) ? x.value.length : 0), 0) : 0;
      bound = size.chars + size.items * (pad + seps);
    }
    b.chars(bound, `the chat template's ${g.kind}() would make a string too long`);
  }
}

function countOf(s: string, sub: string): number {
  let n = 0;
  for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length)) n++;
  return n;
}

/**
 * A copy of a string value whose `replace` and `split` check the size of their result before running
 * (`s.replace('', s)` squares the length; `s.split('x')` makes an object per piece).
 */
function guardMethods(v: Value & { value: string }, budget: Budget): Value {
  const copy = new StringValue(v.value);
  let builtins: Map<string, Value> | undefined;
  const guarded = (name: string, check: (args: Value[]) => void) => {
    const original = builtins!.get(name);
    if (!original) return;
    const run = original.value as BuiltinFn;
    builtins!.set(
      name,
      new FunctionValue((args, scope) => {
        check(args);
        return run(args, scope);
      }),
    );
  };
  Object.defineProperty(copy, 'builtins', {
    get() {
      if (builtins) return builtins;
      builtins = new Map(v.builtins);
      const s = v.value;
      guarded('replace', ([from, to, count]) => {
        if (!isString(from) || !isString(to)) return; // the library's own error
        let n = from.value === '' ? s.length + 1 : countOf(s, from.value);
        const limit = isInteger(count) ? count.value : isObject(count) && isInteger(count.value.get('count')) ? (count.value.get('count')!.value as number) : -1;
        if (limit >= 0) n = Math.min(n, limit);
        budget.chars(s.length + n * Math.max(0, to.value.length - from.value.length), "the chat template's replace() would make a string too long");
      });
      guarded('split', ([sep, maxsplit]) => {
        let n = isString(sep) ? (sep.value === '' ? 0 : countOf(s, sep.value) + 1) : countWords(s, budget.limits.maxItems + 1);
        if (isInteger(maxsplit) && maxsplit.value >= 0) n = Math.min(n, maxsplit.value + 1);
        if (n > budget.limits.maxItems) budget.stop('items', n, "the chat template's split() would make a list too long");
      });
      return builtins;
    },
  });
  return copy;
}

/** Runs of non-space characters in s (split() without a separator), counted up to `upTo`. */
function countWords(s: string, upTo: number): number {
  let n = 0;
  for (const _ of s.matchAll(/\S+/g)) if (++n >= upTo) break;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Compiling: parse once per template text, with the line of a syntax error.

const TOKENIZE_OPTIONS = { lstrip_blocks: true, trim_blocks: true } as const;

/** A template parsed and analyzed, rendered any number of times. */
export class CompiledChatTemplate {
  readonly source: string;
  private readonly program: Program;
  private readonly analysis: Analysis;
  /** counters of the last render */
  lastStats: RenderStats = { steps: 0, maxDepth: 0 };
  /** renders so far */
  renders = 0;

  constructor(source: string) {
    this.source = source;
    if (source.length > MAX_TEMPLATE_CHARS) {
      throw templateError(DataErrorCode.templateSyntax, `the chat template is ${source.length.toLocaleString('en-US')} characters long, over the limit of ${MAX_TEMPLATE_CHARS.toLocaleString('en-US')}`);
    }
    this.program = parseTemplate(source);
    try {
      this.analysis = analyze(this.program);
    } catch (e) {
      throw this.toError(e, undefined);
    }
  }

  /**
   * Renders the template over `context` (messages, add_generation_prompt, special tokens, …) under the
   * budget. Throws a ChatTemplateError for every failure.
   */
  render(context: Record<string, unknown>, limits: Partial<ChatTemplateBudget> = {}, recordLine?: number): string {
    this.renders++;
    const budget = new Budget({ ...DEFAULT_CHAT_TEMPLATE_BUDGET, ...limits });
    const scope = new Environment();
    setupGlobals(scope, budget);
    for (const [key, value] of Object.entries(context)) scope.set(key, value);
    const interpreter = new BudgetedInterpreter(scope, this.analysis, budget);
    try {
      const out = interpreter.run(this.program);
      if (!isString(out)) throw new RenderFailure(DataErrorCode.templateRender, `the chat template rendered ${out.type}, not text`);
      budget.chars(out.value.length, 'the chat template rendered too long a text');
      return out.value;
    } catch (e) {
      throw this.toError(e, interpreter, recordLine);
    } finally {
      this.lastStats = { steps: budget.steps, maxDepth: budget.deepest };
    }
  }

  private toError(e: unknown, interpreter: BudgetedInterpreter | undefined, recordLine?: number): ChatTemplateError {
    const at = e !== null && typeof e === 'object' ? (interpreter?.failedAt.get(e) ?? (e instanceof RenderFailure ? e.node : undefined)) : undefined;
    const prefix = recordLine !== undefined && recordLine > 0 ? `record at line ${recordLine}: ` : '';
    if (e instanceof TemplateRaise) {
      const where = this.locateRaise(e.message) ?? this.locate(at);
      return templateError(DataErrorCode.templateRaised, `${prefix}the chat template refused this conversation: "${clipText(e.message)}"`, where);
    }
    if (e instanceof BudgetExceeded) return templateError(DataErrorCode.templateBudget, `${prefix}${e.message}`, this.locate(at), e.stop);
    if (e instanceof RenderFailure) return templateError(e.code, `${prefix}${e.message}`, this.locate(at));
    if (e instanceof RangeError && /call stack|string length|array length/i.test(e.message)) {
      // The JS engine's own limits, reached despite the budget: still the template's fault.
      const kind: BudgetKind = /call stack/i.test(e.message) ? 'depth' : /string/i.test(e.message) ? 'chars' : 'items';
      const stop = { kind, used: kind === 'depth' ? (interpreter?.budget.deepest ?? 0) : 0, limit: interpreter?.budget.limits[LIMIT_OF[kind]] ?? 0 };
      return templateError(DataErrorCode.templateBudget, `${prefix}the chat template hit a JavaScript limit (${e.message})`, this.locate(at), stop);
    }
    const message = e instanceof Error ? e.message : String(e);
    return templateError(DataErrorCode.templateRender, `${prefix}the chat template failed: ${clipText(message)}`, this.locate(at));
  }

  /** The source line of the raise_exception call with this message, when the template holds exactly one. */
  private locateRaise(message: string): Where | undefined {
    const lines = this.source.split('\n');
    const calls = lines.map((text, i) => ({ text, line: i + 1 })).filter((l) => l.text.includes('raise_exception'));
    const exact = calls.filter((l) => message !== '' && l.text.includes(message));
    const pick = exact.length === 1 ? exact[0] : calls.length === 1 ? calls[0] : undefined;
    return pick && { line: pick.line, text: pick.text };
  }

  /** The source line of a statement: found by its text with spacing, quotes and `-` markers ignored. */
  private locate(node: Node | undefined): Where | undefined {
    if (!node) return undefined;
    const snippet = headerOf(node);
    if (!snippet) return undefined;
    const key = normalize(snippet);
    if (key.length >= 4) {
      const hits = this.source
        .split('\n')
        .map((text, i) => ({ text, line: i + 1 }))
        .filter((l) => normalize(l.text).includes(key));
      if (hits.length === 1) return hits[0];
    }
    return { text: snippet };
  }
}

interface Where {
  line?: number;
  text: string;
}

function templateError(code: string, message: string, where?: Where, budget?: BudgetStop): ChatTemplateError {
  const place = where ? ` — at ${where.line !== undefined ? `template line ${where.line}: ` : ''}\`${clipText(where.text.trim(), 160)}\`` : '';
  return new ChatTemplateError(code, `${message}${place}`, HINTS[code] ?? FIX, { budget, templateLine: where?.line });
}

function clipText(text: string, max = 300): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

const normalize = (s: string) => s.replace(/[\s'"-]/g, '');

/** `{% for x in y %}` of a for loop (its body left out), `{{ expr }}` of an output, via the library's formatter. */
function headerOf(node: Node): string | undefined {
  const shallow: Record<string, unknown> = { ...(node as unknown as Record<string, unknown>) };
  for (const key of BODY_KEYS) if (Array.isArray(shallow[key])) shallow[key] = [];
  const program = { type: 'Program', body: [shallow] } as unknown as Program;
  try {
    const text = formatProgram(program);
    const firstTag = text.match(/^\s*(\{%-?[\s\S]*?-?%\}|\{\{-?[\s\S]*?-?\}\})/);
    return (firstTag?.[1] ?? text.split('\n')[0] ?? '').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The library's formatter (Template.prototype.format) over any program. */
function formatProgram(program: Program): string {
  return Template.prototype.format.call({ parsed: program } as Template);
}

/** Lexes and parses like `new Template(source)`, turning failures into E404 with the template line. */
function parseTemplate(source: string): Program {
  let tokens: ReturnType<typeof tokenize>;
  try {
    tokens = tokenize(source, TOKENIZE_OPTIONS);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw templateError(DataErrorCode.templateSyntax, `the chat template does not parse: ${clipText(message)}`, lexErrorLine(source, message));
  }
  // The parser keeps its position to itself; a proxy on the token list sees the furthest token it read.
  let furthest = -1;
  const watched = new Proxy(tokens, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) furthest = Math.max(furthest, Math.min(Number(key), target.length));
      return Reflect.get(target, key, receiver);
    },
  });
  try {
    return parse(watched);
  } catch (e) {
    // The parser reports an unclosed block as a TypeError at the end, or as an unknown `end…` statement
    // of the enclosing block: the block scan names the block and its opening line instead.
    const open = unclosedBlock(tokens);
    if (open) {
      const what = `{% ${open.name} %} is never closed (no {% end${open.name} %}${open.before ? ` before {% ${open.before} %}` : ''})`;
      throw templateError(DataErrorCode.templateSyntax, `the chat template does not parse: ${what}`, tokenWhere(source, open.index));
    }
    const raw = e instanceof Error ? e.message : String(e);
    const message = e instanceof RangeError ? 'the template nests too deeply' : e instanceof TypeError ? 'the template ends in the middle of a tag' : raw;
    throw templateError(DataErrorCode.templateSyntax, `the chat template does not parse: ${clipText(message)}`, tokenWhere(source, Math.max(0, furthest)));
  }
}

const BLOCKS = new Set(['if', 'for', 'macro', 'call', 'filter', 'set']);

/**
 * The first block left open: one whose `end…` is missing when another block's `end…` comes
 * ({% for %}{% if %}{% endfor %}), or the innermost still open at the end of the template.
 */
function unclosedBlock(tokens: ReturnType<typeof tokenize>): { name: string; index: number; before?: string } | undefined {
  const stack: { name: string; index: number }[] = [];
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (tokens[i]!.type !== 'OpenStatement' || tokens[i + 1]!.type !== 'Identifier') continue;
    const word = tokens[i + 1]!.value;
    if (word === 'set') {
      // `{% set x %}…{% endset %}` opens a block; `{% set x = … %}` does not.
      let j = i + 2;
      while (j < tokens.length && tokens[j]!.type !== 'CloseStatement' && tokens[j]!.type !== 'Equals') j++;
      if (tokens[j]?.type === 'Equals') continue;
    }
    if (BLOCKS.has(word)) stack.push({ name: word, index: i });
    else if (word.startsWith('end') && BLOCKS.has(word.slice(3))) {
      const top = stack.pop();
      if (top && top.name !== word.slice(3)) return { ...top, before: word };
    }
  }
  return stack.at(-1);
}

/** The line of token `index`: the first line whose prefix of the template lexes to more tokens. */
function tokenWhere(source: string, index: number): Where | undefined {
  const lines = source.split('\n');
  if (lines.length > 2000) return undefined;
  let prefix = '';
  for (let i = 0; i < lines.length; i++) {
    prefix += (i > 0 ? '\n' : '') + lines[i];
    let count: number;
    try {
      count = tokenize(`${prefix}\n`, TOKENIZE_OPTIONS).length;
    } catch {
      continue; // the prefix ends inside a string or a comment
    }
    if (count > index) return { line: i + 1, text: lines[i]! };
  }
  return undefined;
}

/** The first line at which a prefix of the template fails to lex with the same message. */
function lexErrorLine(source: string, message: string): Where | undefined {
  const lines = source.split('\n');
  if (lines.length > 2000) return undefined;
  let prefix = '';
  for (let i = 0; i < lines.length; i++) {
    prefix += (i > 0 ? '\n' : '') + lines[i];
    try {
      tokenize(`${prefix}\n`, TOKENIZE_OPTIONS);
    } catch (e) {
      if (e instanceof Error && e.message === message) return { line: i + 1, text: lines[i]! };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Globals: the library's (setupGlobals is not exported), with range() and raise_exception() replaced.

function setupGlobals(scope: Environment, budget: Budget): void {
  scope.set('false', false);
  scope.set('true', true);
  scope.set('none', null);
  scope.set('raise_exception', (message: unknown) => {
    throw new TemplateRaise(typeof message === 'string' ? message : String(message ?? ''));
  });
  scope.set('range', (...args: unknown[]) => budgetedRange(args, budget));
  scope.set('strftime_now', (format: unknown) => strftime(new Date(), String(format)));
  scope.set('True', true);
  scope.set('False', false);
  scope.set('None', null);
}

/** Python's range(stop) / range(start, stop[, step]), its length checked before anything is allocated. */
function budgetedRange(args: unknown[], budget: Budget): number[] {
  if (args.length < 1 || args.length > 3 || !args.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new RenderFailure(DataErrorCode.templateRender, `range() takes 1 to 3 finite numbers, got (${args.map((x) => typeof x).join(', ')})`);
  }
  const [start, stop, step] = args.length === 1 ? [0, args[0] as number, 1] : [args[0] as number, args[1] as number, (args[2] as number | undefined) ?? 1];
  if (step === 0) throw new RenderFailure(DataErrorCode.templateRender, 'range() step must not be zero');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (n > budget.limits.maxItems) budget.stop('items', n, `range(${args.join(', ')}) is too long`);
  budget.charge(Math.ceil(n / 16), `range(${args.join(', ')}) is too long`);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  return out;
}

/** The library's strftime_now (%Y %m %d %b %B %H %M %%), which Llama 3.1-style templates print. */
function strftime(date: Date, format: string): string {
  const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
  return format.replace(/%[YmdbBHM%]/g, (token) => {
    switch (token) {
      case '%Y':
        return `${date.getFullYear()}`;
      case '%m':
        return pad2(date.getMonth() + 1);
      case '%d':
        return pad2(date.getDate());
      case '%b':
        return new Intl.DateTimeFormat(undefined, { month: 'short' }).format(date);
      case '%B':
        return new Intl.DateTimeFormat(undefined, { month: 'long' }).format(date);
      case '%H':
        return pad2(date.getHours());
      case '%M':
        return pad2(date.getMinutes());
      default:
        return '%';
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The tokenizer side: which template, which special tokens.

const compiled = new Map<string, CompiledChatTemplate | ChatTemplateError>();

/** Parses a template once per text (a few are kept); a template that does not parse throws the same E404 each time. */
export function compileChatTemplate(source: string): CompiledChatTemplate {
  let hit = compiled.get(source);
  if (hit === undefined) {
    try {
      hit = new CompiledChatTemplate(source);
    } catch (e) {
      if (!(e instanceof ChatTemplateError)) throw e;
      hit = e;
    }
    if (compiled.size >= 8) compiled.delete(compiled.keys().next().value!);
    compiled.set(source, hit);
  }
  if (hit instanceof ChatTemplateError) throw hit;
  return hit;
}

/**
 * The template text transformers.js would use (its get_chat_template without tools): a string, or the
 * "default" one of named templates. null when the tokenizer has none.
 */
export function chatTemplateText(tokenizer: ChatTemplateTokenizer): string | null {
  const t = tokenizer.chat_template;
  if (t === undefined || t === null || t === '') return null;
  if (typeof t === 'string') return t;
  if (typeof t === 'object') {
    const named: Record<string, unknown> = {};
    if (Array.isArray(t)) {
      for (const x of t as { name?: unknown; template?: unknown }[]) if (typeof x?.name === 'string') named[x.name] = x.template;
    } else {
      Object.assign(named, t);
    }
    if (typeof named.default === 'string') return named.default;
    throw templateError(DataErrorCode.templateRender, `the tokenizer has several named chat templates (${Object.keys(named).sort().join(', ')}) and none is "default"`);
  }
  throw templateError(DataErrorCode.templateRender, `the tokenizer's chat_template is a ${typeof t}, not text`);
}

const SPECIAL_TOKENS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

/** bos_token, eos_token, … from tokenizer_config.json, as transformers.js passes them to the template. */
export function specialTokens(config: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof config !== 'object' || config === null) return out;
  for (const key of SPECIAL_TOKENS) {
    if (!Object.hasOwn(config, key)) continue;
    const item = (config as Record<string, unknown>)[key];
    if (!item) continue;
    if (typeof item === 'string') out[key] = item;
    else if (typeof item === 'object' && (item as { __type?: unknown }).__type === 'AddedToken' && typeof (item as { content?: unknown }).content === 'string') {
      out[key] = (item as { content: string }).content;
    }
  }
  return out;
}

/**
 * The tokenizer's chat template over `messages`, as transformers.js' apply_chat_template(messages,
 * { tokenize: false, add_generation_prompt, enable_thinking }) renders it — under the budget, with
 * every failure a ChatTemplateError.
 */
export function renderChatTemplate(tokenizer: ChatTemplateTokenizer, messages: readonly ChatTemplateMessage[], options: ChatTemplateRenderOptions): string {
  const text = chatTemplateText(tokenizer);
  if (text === null) throw templateError(DataErrorCode.templateRender, 'the tokenizer has no chat template');
  const context: Record<string, unknown> = {
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    add_generation_prompt: options.add_generation_prompt,
    tools: null,
    documents: null,
    ...specialTokens(tokenizer.config),
  };
  if (options.enable_thinking !== undefined) context.enable_thinking = options.enable_thinking;
  return compileChatTemplate(text).render(context, options.budget, options.recordLine);
}
