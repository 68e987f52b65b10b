import type { ModelConfig } from './config';

/** One frozen weight of the base model: its Hugging Face name and torch-layout shape. */
export interface WeightSpec {
  name: string;
  shape: number[];
}

/**
 * Every weight of the model with its HF name and shape: the size table of the frozen weights. The
 * loader asserts each checkpoint tensor against it; the memory estimate sums it.
 */
export function weightSpecs(c: ModelConfig): WeightSpec[] {
  const C = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const specs: WeightSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, C] }];
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}.`;
    specs.push(
      { name: `${p}input_layernorm.weight`, shape: [C] },
      { name: `${p}self_attn.q_proj.weight`, shape: [q, C] },
      { name: `${p}self_attn.k_proj.weight`, shape: [kv, C] },
      { name: `${p}self_attn.v_proj.weight`, shape: [kv, C] },
      { name: `${p}self_attn.o_proj.weight`, shape: [C, q] },
    );
    if (c.qkvBias) {
      specs.push({ name: `${p}self_attn.q_proj.bias`, shape: [q] }, { name: `${p}self_attn.k_proj.bias`, shape: [kv] }, { name: `${p}self_attn.v_proj.bias`, shape: [kv] });
    }
    if (c.qkNorm) specs.push({ name: `${p}self_attn.q_norm.weight`, shape: [c.headDim] }, { name: `${p}self_attn.k_norm.weight`, shape: [c.headDim] });
    specs.push(
      { name: `${p}post_attention_layernorm.weight`, shape: [C] },
      { name: `${p}mlp.gate_proj.weight`, shape: [c.intermediateSize, C] },
      { name: `${p}mlp.up_proj.weight`, shape: [c.intermediateSize, C] },
      { name: `${p}mlp.down_proj.weight`, shape: [C, c.intermediateSize] },
    );
  }
  specs.push({ name: 'model.norm.weight', shape: [C] });
  if (!c.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocabSize, C] });
  return specs;
}

/**
 * Matrices are stored in the device's weight storage (half size when possible); 1-D weights (norms,
 * biases) stay f32 because the kernels that read them take f32.
 */
export function isMatrixWeight(spec: WeightSpec): boolean {
  return spec.shape.length === 2;
}

/**
 * Weights that may be split by rows when one storage binding cannot hold them: the vocabulary-sized
 * embedding and head (Qwen3's 151,936 × 1,024 table is 311 MB in bf16). Their users take a
 * RowSplitMatrix. Any other weight must fit one binding.
 */
export function isRowSplittable(name: string): boolean {
  return name === 'model.embed_tokens.weight' || name === 'lm_head.weight';
}

/** Rows per part so that each part fits `maxBindingBytes` and starts on a whole u32 word. */
export function rowsPerPart(cols: number, elementBytes: number, maxBindingBytes: number): number {
  const rowBytes = cols * elementBytes;
  let rows = Math.floor(maxBindingBytes / rowBytes);
  if ((rowBytes * rows) % 4 !== 0) rows -= 1; // packed halves: a part must end on a word
  return Math.max(1, rows);
}
