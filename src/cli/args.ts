import { parseArgs } from 'node:util';
import { StudioError } from '../engine/errors';
import { CliErrorCode } from './errors';

export type Flags = Record<string, string | boolean>;

/** The flags of one command: each takes a value ('string') or is a switch ('boolean'). */
export type FlagKinds = Readonly<Record<string, 'string' | 'boolean'>>;

/**
 * `argv` of one command, strictly (node:util parseArgs): an unknown flag, a switch given a value, a
 * flag without its value, or a positional argument the command does not take is E601, listing the
 * command's valid flags. Values may be written `--flag value` or `--flag=value` (needed for values that
 * start with '-': `--seed=-1`).
 */
export function parseCommandArgs(command: string, argv: readonly string[], kinds: FlagKinds, positionals: readonly string[], usage: string): { positional: string[]; flags: Flags } {
  const valid = Object.entries(kinds)
    .map(([name, kind]) => (kind === 'string' ? `--${name} <value>` : `--${name}`))
    .join(', ');
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: Object.fromEntries(Object.entries(kinds).map(([name, type]) => [name, { type }])), strict: true, allowPositionals: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const what = err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `unknown flag ${/'([^']+)'/.exec(err.message)?.[1] ?? ''}`.trim() : err.message.split('\n')[0]!;
    throw new StudioError(CliErrorCode.usage, `cli ${command}: ${what}; valid flags: ${valid || 'none'}`, usage);
  }
  const positional = parsed.positionals;
  if (positional.length > positionals.length) {
    throw new StudioError(CliErrorCode.usage, `cli ${command}: unexpected argument '${positional[positionals.length]}'${positionals.length ? ` (it takes ${positionals.map((p) => `<${p}>`).join(' ')})` : ' (it takes flags only)'}; valid flags: ${valid || 'none'}`, usage);
  }
  if (positional.length < positionals.length) {
    throw new StudioError(CliErrorCode.usage, `cli ${command}: missing <${positionals[positional.length]}>`, usage);
  }
  const flags: Flags = {};
  for (const [k, v] of Object.entries(parsed.values)) if (typeof v === 'string' || typeof v === 'boolean') flags[k] = v;
  return { positional, flags };
}
