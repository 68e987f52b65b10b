// Registers wgsl-hooks.mjs; used as `node --import ./tools/node/register.mjs` (tsx adds TypeScript).
import { register } from 'node:module';
register('./wgsl-hooks.mjs', import.meta.url);
