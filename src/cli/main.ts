/**
 * Node entry point: the same engine, model and shadow code as the browser, on Dawn.
 *   npm run --silent cli -- info <model>
 *   npm run --silent cli -- generate <model> (--prompt "…" | --prompt-ids 1,2,3) [--max-new-tokens N] [--temperature T]
 *        [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S] [--no-cache] [--ignore-eos] [--json]
 *   npm run --silent cli -- dump --model <dir> --adapter <dir> --batch <batch.json> --out <file.safetensors>
 *        [--shadow-model <model> [--shadow-embeddings own|frozen|base]]   (an explicit shadow's adapter saved without its record)
 *   npm run --silent cli -- train --model <model> --data <file> --out <adapter-dir> [options: see src/cli/train.ts]
 * <model> is a folder in the Hub layout, an http(s) base URL serving one, or a Hub repo id.
 * Unknown flags are refused. Every failure prints one line `E### message — hint` and exits non-zero
 * (2 for a usage error); the commands live in commands.ts.
 */
import { errorLine, runCli } from './commands';

// The last resort, never the path of a bad input (commands.ts turns those into coded errors): an
// exception thrown outside the command's own promise still ends in the one message shape.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (e: unknown) => {
    console.error(errorLine(e));
    process.exit(1);
  });
}

void runCli(process.argv.slice(2)).then((code) => {
  if (code !== 0) process.exit(code);
});
