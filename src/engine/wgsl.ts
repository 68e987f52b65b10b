import { WGSL_INCLUDES } from './kernels/shared';

/**
 * The one templating helper for WGSL sources, for what WGSL itself cannot express (storage element
 * type, vector width, optional bindings, shared pieces). Everything else is a WGSL `override` constant.
 *
 * - A line `#include NAME [KEY=value …]` is replaced by the shared piece `includes.NAME`
 *   (kernels/shared), with its `{{KEY}}`s set from the line; its other `{{…}}` and `#if`s are the
 *   kernel's own. Pieces may include pieces (not themselves).
 * - `{{NAME}}` is replaced by `vars.NAME` (an unknown name is an error, never left in the source).
 * - Lines `#if NAME`, `#elif NAME`, `#else`, `#endif` keep or drop blocks on the truthiness of
 *   `flags.NAME` (`#if !NAME` negates). Blocks nest.
 * - `{{PARAMS}}` is the generated `struct Params` of the kernel's parameter declaration.
 */
export function renderWgsl(source: string, vars: Record<string, string> = {}, flags: Record<string, boolean> = {}, includes: Readonly<Record<string, string>> = WGSL_INCLUDES): string {
  return expand(expandIncludes(source, includes, []), vars, flags);
}

function expandIncludes(source: string, includes: Readonly<Record<string, string>>, chain: string[]): string {
  return source
    .split('\n')
    .map((line) => {
      const m = /^\s*#include\s+(\w+)((?:\s+\w+=\S+)*)\s*$/.exec(line);
      if (!m) {
        if (/^\s*#include\b/.test(line)) throw new Error(`WGSL template: malformed include '${line.trim()}' (use #include NAME [KEY=value …])`);
        return line;
      }
      const [, name, argText] = m;
      const piece = includes[name!];
      if (piece === undefined) throw new Error(`WGSL template: no shared piece '${name}' to include (known: ${Object.keys(includes).join(', ')})`);
      if (chain.includes(name!)) throw new Error(`WGSL template: '${name}' includes itself (${[...chain, name].join(' → ')})`);
      const args = Object.fromEntries(argText!.trim().split(/\s+/).filter(Boolean).map((kv) => kv.split('=') as [string, string]));
      const filled = piece.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => args[key] ?? whole);
      return expandIncludes(filled.replace(/\n$/, ''), includes, [...chain, name!]);
    })
    .join('\n');
}

function expand(source: string, vars: Record<string, string>, flags: Record<string, boolean>): string {
  const out: string[] = [];
  // Each frame: is the enclosing block live, has a branch of this #if been taken, is this branch live.
  const stack: { parentLive: boolean; taken: boolean; live: boolean }[] = [];
  const live = () => (stack.length === 0 ? true : stack[stack.length - 1]!.live);
  const test = (expr: string) => {
    const name = expr.trim();
    if (name.startsWith('!')) return !flags[name.slice(1).trim()];
    return !!flags[name];
  };
  const lines = source.split('\n');
  lines.forEach((line, i) => {
    const m = /^\s*#(if|elif|else|endif)\b(.*)$/.exec(line);
    if (!m) {
      if (live()) out.push(line);
      return;
    }
    const [, directive, rest] = m;
    if (directive === 'if') {
      const parentLive = live();
      const ok = parentLive && test(rest!);
      stack.push({ parentLive, taken: ok, live: ok });
    } else {
      const top = stack[stack.length - 1];
      if (!top) throw new Error(`WGSL template: #${directive} without #if at line ${i + 1}`);
      if (directive === 'endif') stack.pop();
      else if (directive === 'else') {
        top.live = top.parentLive && !top.taken;
        top.taken = true;
      } else {
        const ok = top.parentLive && !top.taken && test(rest!);
        top.live = ok;
        top.taken ||= ok;
      }
    }
  });
  if (stack.length) throw new Error('WGSL template: unterminated #if');
  return out.join('\n').replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`WGSL template: no value for {{${name}}}`);
    return v;
  });
}
