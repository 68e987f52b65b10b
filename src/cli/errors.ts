/**
 * Error codes of the command line (E6xx). The CLI prints every failure as `E### message — hint` and
 * exits non-zero; the codes of the layers below pass through unchanged.
 */
export const CliErrorCode = {
  /** An unknown command, flag or positional argument, or a flag without its value. */
  usage: 'E601',
  /** A flag's or argument's value is not what the command takes (the message names it). */
  badArgument: 'E602',
  /** A file named on the command line cannot be read (missing, a directory, not UTF-8 JSON, too large). */
  badFile: 'E603',
  /** Not a bad input: an exception the CLI did not expect. The message says it is a bug. */
  internal: 'E699',
} as const;
