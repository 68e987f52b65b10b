/**
 * Node entry point: the same engine, model and shadow code as the browser, on Dawn.
 *   npm run --silent cli -- info <model>
 *   npm run --silent cli -- generate <model> (--prompt "…" | --prompt-ids 1,2,3) [--max-new-tokens N] [--temperature T]
 *        [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S] [--no-cache] [--ignore-eos] [--json]
 *   npm run --silent cli -- dump --model <dir> --adapter <dir> --batch <batch.json> --out <file.safetensors>
 *        [--shadow-model <model> [--shadow-embeddings own|frozen|base]]   (an explicit shadow's adapter saved without its record)
 *   npm run --silent cli -- train --model <model> --data <file> --out <adapter-dir> [options: see src/cli/train.ts]
 * <model> is a folder in the Hub layout, an http(s) base URL serving one, or a Hub repo id.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireDevice } from '../engine/device';
import { isStudioError } from '../engine/errors';
import { Gpu, formatBytes } from '../engine/runtime';
import { parameterCount } from '../model/config';
import { cachedStepper, generate, uncachedStepper } from '../model/generate';
import { loadCausalLM, readModelConfig } from '../model/load';
import { encodeText, loadTokenizer } from '../model/tokenizer';
import { loadAdapter } from '../shadow/adapterIO';
import type { DumpBatch } from '../shadow/dump';
import { dumpStep } from '../shadow/dump';
import { sourceFromArg } from './nodeSources';
import { parseArgs } from './args';
import { explicitShadowFlags, runTrain, TRAIN_USAGE } from './train';

async function info(modelArg: string): Promise<void> {
  const source = sourceFromArg(modelArg);
  const c = await readModelConfig(source);
  const lines = [
    `model        ${source.id}`,
    `family       ${c.modelType}`,
    `layers       ${c.numLayers}`,
    `hidden       ${c.hiddenSize} (intermediate ${c.intermediateSize})`,
    `heads        ${c.numHeads} query, ${c.numKvHeads} key/value, head size ${c.headDim}`,
    `vocabulary   ${c.vocabSize}${c.tieWordEmbeddings ? ' (tied embeddings)' : ''}`,
    `rope         theta ${c.ropeTheta}${c.ropeScaling ? `, ${c.ropeScaling.type} scaling ×${c.ropeScaling.factor}` : ''}`,
    `parameters   ${parameterCount(c).toLocaleString('en-US')}`,
    `dtype        ${c.torchDtype}`,
  ];
  console.log(lines.join('\n'));
}

async function runGenerate(modelArg: string, flags: Record<string, string | boolean>): Promise<void> {
  const prompt = flags.prompt;
  const promptIds = flags['prompt-ids'];
  if (typeof prompt !== 'string' && typeof promptIds !== 'string') throw new Error('generate needs --prompt "text" or --prompt-ids 1,2,3');
  const source = sourceFromArg(modelArg);
  const { device, caps } = await acquireDevice();
  const gpu = new Gpu(device, caps);
  const model = await loadCausalLM(gpu, source);
  const tokenizer = await loadTokenizer(source);
  const ids = typeof promptIds === 'string' ? promptIds.split(',').map(Number) : encodeText(tokenizer, prompt as string);
  const maxNewTokens = Number(flags['max-new-tokens'] ?? 32);
  const stepper = flags['no-cache'] ? await uncachedStepper(model, ids.length + maxNewTokens) : await cachedStepper(model, ids.length + maxNewTokens);
  const r = await generate(stepper, ids, {
    maxNewTokens,
    temperature: Number(flags.temperature ?? 0),
    topK: flags['top-k'] === undefined ? undefined : Number(flags['top-k']),
    topP: flags['top-p'] === undefined ? undefined : Number(flags['top-p']),
    repetitionPenalty: flags['repetition-penalty'] === undefined ? undefined : Number(flags['repetition-penalty']),
    seed: Number(flags.seed ?? 0),
    stopTokenIds: flags['ignore-eos'] ? [] : model.config.eosTokenIds,
  });
  if (flags.json) {
    console.log(JSON.stringify({ prompt_ids: ids, tokens: r.tokens, text: tokenizer.decode(r.tokens), stopped_by: r.stoppedBy, ms_per_token: r.msPerToken, weights: formatBytes(model.weights.bytes) }));
  } else {
    console.log(`tokens: ${r.tokens.join(' ')}`);
    console.log(`text:   ${JSON.stringify(tokenizer.decode(r.tokens))}`);
  }
  gpu.destroy();
}

async function runDump(flags: Record<string, string | boolean>): Promise<void> {
  const need = (k: string) => {
    const v = flags[k];
    if (typeof v !== 'string') throw new Error(`dump needs --${k}`);
    return v;
  };
  const { device, caps } = await acquireDevice();
  const gpu = new Gpu(device, caps);
  const base = await loadCausalLM(gpu, sourceFromArg(need('model')));
  const adapterDir = need('adapter');
  const shadowModel = await explicitShadowFlags(flags);
  const { model } = await loadAdapter(
    base,
    {
      configJson: readFileSync(join(adapterDir, 'shadow_config.json'), 'utf8'),
      safetensors: new Uint8Array(readFileSync(join(adapterDir, 'shadow_adapter.safetensors'))),
    },
    { explicit: shadowModel?.explicit },
  );
  const batch = JSON.parse(readFileSync(need('batch'), 'utf8')) as DumpBatch;
  writeFileSync(need('out'), await dumpStep(model, batch));
  gpu.destroy();
}

async function main(): Promise<void> {
  const { positional, flags } = parseArgs(process.argv.slice(2));
  const [command, model] = positional;
  if (command === 'dump') return runDump(flags);
  if (command === 'train') return runTrain(flags);
  if (!command || !model || !['info', 'generate'].includes(command)) {
    console.error(`usage: cli info <model> | cli dump --model <dir> --adapter <dir> --batch <batch.json> --out <file.safetensors> [--shadow-model <model> [--shadow-embeddings own|frozen|base]] | cli generate <model> (--prompt "…" | --prompt-ids 1,2,3) [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S] [--no-cache] [--ignore-eos] [--json] | ${TRAIN_USAGE}`);
    process.exit(2);
  }
  if (command === 'info') await info(model);
  else await runGenerate(model, flags);
}

main().catch((e: unknown) => {
  console.error(isStudioError(e) ? e.message : e instanceof Error ? e.message : String(e));
  process.exit(1);
});
