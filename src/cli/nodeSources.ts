import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { StudioError } from '../engine/errors';
import type { DirSourceOptions } from '../model/sources/dirSource';
import { dirSource as folderSource } from '../model/sources/dirSource';
import type { ModelSource } from '../model/sources/source';
import { urlSource } from '../model/sources/urlSource';
import { hubSource } from '../model/sources/hubSource';
import { CliErrorCode } from './errors';

/** A folder on disk in the Hub layout, named by its folder name (what adapters record). */
export function dirSource(dir: string, opts: Omit<DirSourceOptions, 'id'> = {}): ModelSource {
  return folderSource(dir, { ...opts, id: basename(resolve(dir)) });
}

/** A model argument: a folder, an http(s) base URL, or a Hub repo id (owner/name[@revision]). */
export function sourceFromArg(arg: string, opts: Omit<DirSourceOptions, 'id'> = {}): ModelSource {
  if (/^https?:\/\//.test(arg)) return urlSource(arg);
  if (existsSync(arg)) {
    if (statSync(arg).isDirectory()) return dirSource(arg, opts);
    throw new StudioError(CliErrorCode.badArgument, `'${arg}' is a file, not a model folder`, 'give the folder that holds config.json, the safetensors weights and tokenizer.json');
  }
  const m = /^([\w.-]+\/[\w.-]+)(?:@([\w./-]+))?$/.exec(arg);
  if (m) return hubSource(m[1]!, m[2] ?? 'main');
  throw new StudioError(CliErrorCode.badArgument, `'${arg}' is neither a folder, an http(s) URL nor a Hub repo id`, 'give a model folder, a base URL, or a repo id like HuggingFaceTB/SmolLM2-135M-Instruct');
}
