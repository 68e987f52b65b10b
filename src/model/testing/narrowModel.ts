/**
 * A narrow random Llama beside a real model's tokenizer (Node tests only): the bundled model's
 * tokenizer and chat template, so real datasets tokenize to the lengths users see, with a network
 * small enough that a test can train hundreds of short runs on a software GPU. Served from memory
 * in the Hugging Face layout (config.json, model.safetensors, tokenizer files).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normal } from '../../engine/testing/random';
import { serializeSafetensors } from '../safetensors/serialize';
import type { TensorToWrite } from '../safetensors/serialize';
import type { ModelSource } from '../sources/source';

const BUNDLED = join(import.meta.dirname ?? '.', '../../../public/models/kjv-llama-3m');

export interface NarrowModelOptions {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  seed: number;
}

export const NARROW: NarrowModelOptions = { hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, seed: 7 };

export function narrowBundledModel(o: NarrowModelOptions = NARROW): ModelSource {
  const bundled = JSON.parse(readFileSync(join(BUNDLED, 'config.json'), 'utf8')) as Record<string, unknown>;
  const V = bundled.vocab_size as number;
  const headDim = o.hidden / o.heads;
  const config = { ...bundled, hidden_size: o.hidden, num_hidden_layers: o.layers, num_attention_heads: o.heads, num_key_value_heads: o.kvHeads, head_dim: headDim, intermediate_size: o.intermediate, tie_word_embeddings: true };
  let seed = o.seed;
  const tensor = (name: string, shape: number[], ones = false): TensorToWrite => {
    const n = shape.reduce((a, d) => a * d, 1);
    const values = ones ? new Float32Array(n).fill(1) : normal(n, seed++, 0.05);
    return { name, dtype: 'F32', shape, data: new Uint8Array(values.buffer) };
  };
  const tensors: TensorToWrite[] = [tensor('model.embed_tokens.weight', [V, o.hidden]), tensor('model.norm.weight', [o.hidden], true)];
  for (let l = 0; l < o.layers; l++) {
    const p = `model.layers.${l}.`;
    tensors.push(
      tensor(`${p}input_layernorm.weight`, [o.hidden], true),
      tensor(`${p}post_attention_layernorm.weight`, [o.hidden], true),
      tensor(`${p}self_attn.q_proj.weight`, [o.heads * headDim, o.hidden]),
      tensor(`${p}self_attn.k_proj.weight`, [o.kvHeads * headDim, o.hidden]),
      tensor(`${p}self_attn.v_proj.weight`, [o.kvHeads * headDim, o.hidden]),
      tensor(`${p}self_attn.o_proj.weight`, [o.hidden, o.heads * headDim]),
      tensor(`${p}mlp.gate_proj.weight`, [o.intermediate, o.hidden]),
      tensor(`${p}mlp.up_proj.weight`, [o.intermediate, o.hidden]),
      tensor(`${p}mlp.down_proj.weight`, [o.hidden, o.intermediate]),
    );
  }
  const files = new Map<string, Uint8Array>([
    ['config.json', new TextEncoder().encode(JSON.stringify(config))],
    ['model.safetensors', serializeSafetensors(tensors)],
  ]);
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) files.set(f, new Uint8Array(readFileSync(join(BUNDLED, f))));
  return {
    id: 'narrow-kjv-llama',
    revision: null,
    baseUrl: null,
    async readBytes(path) {
      return files.get(path) ?? null;
    },
  };
}
