import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR, fixtureSource, loadGolden } from '../../model/testing/fixtures';
import type { AdapterFiles } from '../adapterIO';
import type { ExplicitShadow } from '../explicitShadow';
import { readExplicitShadow } from '../explicitShadow';

/** The two official files of a ShadowPEFT fixture (tools/fixtures/out/shadow-*), Node tests only. */
export function fixtureAdapterFiles(name: string, adapter = 'shadow_adapter.safetensors'): AdapterFiles {
  const dir = join(FIXTURES_DIR, name);
  return { configJson: readFileSync(join(dir, 'shadow_config.json'), 'utf8'), safetensors: new Uint8Array(readFileSync(join(dir, adapter))) };
}

/**
 * The explicit shadow a fixture was made with, read from its model folder (as the Python package needs
 * shadow_model=), or undefined for an implicit fixture.
 */
export async function fixtureExplicitShadow(name: string): Promise<ExplicitShadow | undefined> {
  const e = loadGolden(name).json.explicit_shadow as { model: string; own_embeddings: boolean } | null | undefined;
  return e ? readExplicitShadow(fixtureSource(e.model), { ownEmbeddings: e.own_embeddings }) : undefined;
}
