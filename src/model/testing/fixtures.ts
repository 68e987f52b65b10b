/**
 * Access to the PyTorch fixtures of tools/fixtures (Node tests only): a ModelSource over a fixture
 * folder and the golden tensors. A fixture of another format version fails with how to regenerate.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSafetensors } from '../safetensors/parse';
import { toFloat32 } from '../safetensors/convert';
import type { ModelSource } from '../sources/source';
import { dirSource as folderSource } from '../sources/dirSource';

export const FIXTURE_FORMAT_VERSION = '1';
export const FIXTURES_DIR = join(import.meta.dirname ?? '.', '../../../tools/fixtures/out');

/** A source reading a folder from disk, laid out as the Hub lays out a repo (the CLI's folder source, with the folder as its id). */
export function dirSource(dir: string): ModelSource {
  return folderSource(dir, { id: dir });
}

export function fixtureSource(name: string): ModelSource {
  return dirSource(join(FIXTURES_DIR, name));
}

export interface Golden {
  tensors: Map<string, Float32Array>;
  shapes: Map<string, number[]>;
  json: Record<string, unknown>;
}

export function loadGolden(name: string): Golden {
  const dir = join(FIXTURES_DIR, name);
  const file = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'golden.safetensors'))), `${name}/golden.safetensors`);
  const version = file.metadata.format_version;
  if (version !== FIXTURE_FORMAT_VERSION) {
    throw new Error(`fixture ${name} has format version ${version}, the tests expect ${FIXTURE_FORMAT_VERSION}: regenerate with python3 tools/fixtures/make_models.py`);
  }
  const tensors = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  for (const [k, t] of file.tensors) {
    tensors.set(k, toFloat32(t.data, t.dtype));
    shapes.set(k, t.shape);
  }
  const json = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as Record<string, unknown>;
  return { tensors, shapes, json };
}
