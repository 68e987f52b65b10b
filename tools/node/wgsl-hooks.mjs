// Node module hooks so that `import src from './x.wgsl?raw'` works outside Vite (CLI, benchmarks),
// exactly as Vite resolves it in the app and in Vitest: the file's text as the default export.
import { readFile } from 'node:fs/promises';

export async function load(url, context, nextLoad) {
  if (url.includes('.wgsl?raw') || url.endsWith('.wgsl')) {
    const text = await readFile(new URL(url.replace(/\?raw$/, '')), 'utf8');
    return { format: 'module', shortCircuit: true, source: `export default ${JSON.stringify(text)};` };
  }
  return nextLoad(url, context);
}
