"""
Writes the trained model to public/models/<name>/ in the Hugging Face layout, evaluates it with the
float64 reference model (tools/fixtures/reference_model.py, the spec the TypeScript engine is tested
against) and writes MODEL_CARD.md and eval.json. Run after train.py, from the repository root:
    /usr/bin/python3 tools/pretrain/export.py [--checkpoint]   (--checkpoint: export work/ckpt.pt)
"""
import hashlib
import json
import math
import os
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'fixtures'))

import torch  # noqa: E402

import bpe  # noqa: E402
import corpus  # noqa: E402
import recipe as R  # noqa: E402
import reference_model as ref  # noqa: E402
import safetensors_io as st  # noqa: E402

GREEDY_PROMPTS = ['Genesis 1\n', 'And the LORD spake unto Moses, saying,', 'Psalms 23\n', 'Blessed are the',
                  'Matthew 5\n']
GREEDY_NEW = 40
# Texts whose Python ids the TypeScript test compares with transformers.js (ASCII + a few edge cases).
TOKENIZER_CHECKS = [
    'In the beginning God created the heaven and the earth.',
    "And he said, Who art thou? I'm 42 -- it's   three  spaces,\n\nand\ttabs_and_underscores.",
    'Naïve café — “quoted” 2024! ✓',
]


SAMPLE_PROMPTS = ['Genesis 1\n', 'Psalms 23\n', 'John 3\n']
SAMPLE_NEW, SAMPLE_TEMPERATURE, SAMPLE_TOP_K = 60, 0.8, 40


def sample(cfg, w64, prompt_ids, n, seed):
    """Temperature + top-k sampling (uncached), seeded: for the model card only."""
    gen = torch.Generator().manual_seed(seed)
    ids = list(prompt_ids)
    for _ in range(n):
        last = ref.forward(cfg, w64, input_ids=torch.tensor([ids[-R.CONTEXT:]]))['logits'][0, -1]
        top = (last / SAMPLE_TEMPERATURE).topk(SAMPLE_TOP_K)
        ids.append(int(top.indices[torch.multinomial(top.values.softmax(-1), 1, generator=gen)]))
    return ids[len(prompt_ids):]


def write_json(path, obj, sort_keys=True):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=2, sort_keys=sort_keys, ensure_ascii=False)
        f.write('\n')


def windows(ids, T):
    """Non-overlapping T-token windows of ids; the last, shorter one kept if it predicts anything."""
    return [ids[i:i + T] for i in range(0, len(ids), T) if len(ids[i:i + T]) >= 2]


def evaluate(cfg, w64, ids, T=R.CONTEXT, batch=8):
    """float64 next-token NLL per window: [(predicted tokens, summed loss)]."""
    out = []
    wins = windows(ids, T)
    for i in range(0, len(wins), batch):
        group = wins[i:i + batch]
        full = [g for g in group if len(g) == T]
        rest = [g for g in group if len(g) != T]
        for part in ([full] if full else []) + [[g] for g in rest]:
            x = torch.tensor(part)
            logits = ref.forward(cfg, w64, input_ids=x)['logits']
            nll = torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, cfg['vocab_size']), x[:, 1:].reshape(-1), reduction='none')
            for row in nll.view(len(part), -1):
                out.append((row.numel(), row.sum().item()))
    return out


def mean_loss(per_window):
    return sum(s for _, s in per_window) / sum(n for n, _ in per_window)


def validation_text(held_text):
    chapters = held_text.split('\n\n')  # chapters have no blank line inside
    keep, size = [], 0
    for c in chapters:
        piece = c if c.endswith('\n') else c + '\n'
        if size + len(piece.encode('utf-8')) + 1 > R.VALIDATION_TXT_MAX_BYTES:
            break
        keep.append(piece)
        size += len(piece.encode('utf-8')) + 1
    return '\n'.join(keep)


def main():
    torch.set_num_threads(R.THREADS)
    data = torch.load(os.path.join(R.WORK, 'data.pt'))
    src = 'ckpt.pt' if '--checkpoint' in sys.argv else 'final.pt'
    ck = torch.load(os.path.join(R.WORK, src))
    cfg = R.CONFIG
    enc = bpe.Encoder(data['merges'])
    os.makedirs(R.MODEL_DIR, exist_ok=True)
    D = R.MODEL_DIR

    weights = {k: v.detach().to(torch.float32).contiguous() for k, v in ck['weights'].items()}
    assert set(weights) == set(ref.weight_shapes(cfg)), 'weight names differ from the HF Llama layout'
    st.save(os.path.join(D, 'model.safetensors'), weights, {'format': 'pt'})
    back, _ = st.load(os.path.join(D, 'model.safetensors'))
    assert all(torch.equal(back[k], weights[k]) for k in weights)
    n_params = sum(v.numel() for v in weights.values())
    write_json(os.path.join(D, 'config.json'), cfg)
    write_json(os.path.join(D, 'generation_config.json'),
               {'bos_token_id': bpe.BOS_ID, 'eos_token_id': [bpe.EOS_ID, bpe.IM_END_ID], 'pad_token_id': bpe.PAD_ID})
    write_json(os.path.join(D, 'tokenizer.json'), bpe.tokenizer_json(data['merges']), sort_keys=False)
    write_json(os.path.join(D, 'tokenizer_config.json'), bpe.tokenizer_config_json(R.CONTEXT))

    val_text = validation_text(data['held_text'])
    with open(os.path.join(D, 'validation.txt'), 'w', encoding='utf-8') as f:
        f.write(val_text)
    val_ids = enc.encode(val_text)
    assert enc.decode(val_ids) == val_text

    w64 = {k: v.double() for k, v in back.items()}
    t0 = time.time()
    val_windows = evaluate(cfg, w64, val_ids)
    held_windows = evaluate(cfg, w64, data['held'].tolist())
    val_loss, held_loss = mean_loss(val_windows), mean_loss(held_windows)
    print(f'validation.txt loss {val_loss:.4f}, held-out loss {held_loss:.4f} ({time.time() - t0:.0f} s)', flush=True)

    greedy = []
    for p in GREEDY_PROMPTS:
        prompt_ids = enc.encode(p)
        new, step_logits, gap = ref.greedy_uncached(cfg, w64, prompt_ids, GREEDY_NEW)
        top2 = step_logits.topk(2, dim=-1).values
        greedy.append({'prompt': p, 'prompt_ids': prompt_ids, 'new_ids': new, 'min_top2_gap': round(gap, 6),
                       # per step: top-1 minus top-2 logit; an f32 engine may flip a step whose gap is tiny
                       'top2_gaps': [round(float(g), 6) for g in top2[:, 0] - top2[:, 1]],
                       'text': enc.decode(new)})
        print(repr(p + enc.decode(new)), flush=True)
    sampled = [(p, enc.decode(sample(cfg, w64, enc.encode(p), SAMPLE_NEW, seed=k))) for k, p in enumerate(SAMPLE_PROMPTS)]

    by_step = {}  # a resumed run rewrites the steps after its checkpoint: keep the last record of each
    for line in open(os.path.join(R.WORK, 'train_log.jsonl')):
        r = json.loads(line)
        by_step[r['step']] = r
    log = [by_step[s] for s in sorted(by_step) if s <= ck['step']]
    evals = {
        'model': R.NAME,
        'computed_with': 'tools/fixtures/reference_model.py in float64 from the stored float32 weights',
        'protocol': ('ids = tokenizer.encode(text) without special tokens; non-overlapping windows of '
                     '`window` tokens from the start (a last shorter window is kept if it has >= 2 tokens), '
                     'each run independently from position 0; loss = summed next-token NLL / predicted tokens'),
        'window': R.CONTEXT,
        'validation_file': 'validation.txt',
        'tokens': len(val_ids),
        'validation_ids_sha256': hashlib.sha256(','.join(map(str, val_ids)).encode()).hexdigest(),
        'predicted_tokens': sum(n for n, _ in val_windows),
        'validation_loss': val_loss,
        'validation_perplexity': math.exp(val_loss),
        'window_losses': [{'predicted_tokens': n, 'loss': s / n} for n, s in val_windows],
        'held_out': {'chapters': 'every 20th chapter (index % 20 == 10), 5 % of the corpus',
                     'tokens': len(data['held']), 'loss': held_loss, 'perplexity': math.exp(held_loss)},
        'greedy': greedy,
        'tokenizer_check': [{'text': t, 'ids': enc.encode(t)} for t in TOKENIZER_CHECKS],
    }
    write_json(os.path.join(D, 'eval.json'), evals, sort_keys=False)
    write_model_card(data, ck, n_params, evals, log, sampled)
    total = sum(os.path.getsize(os.path.join(D, f)) for f in os.listdir(D))
    print(f'wrote {D} ({total / 1e6:.1f} MB)')
    assert total <= 25e6


def quote(prompt, text):
    """One markdown quote line: the prompt in bold, newlines shown as ⏎."""
    nl = '⏎ ' if prompt.endswith('\n') else ''
    return '> **' + prompt.rstrip('\n').replace('\n', '⏎ ') + '**' + nl + text.replace('\n', '⏎ ')


def write_model_card(data, ck, n_params, ev, log, sampled):
    c = R.CONFIG
    pk = data['packages']
    last = log[-1]
    curve = [r for r in log if 'held_out_loss_16w' in r]
    phases = ', then '.join(f'{n} steps of {b} x {t} tokens' for n, b, t in R.PHASES)
    lines = [
        f'# {R.NAME}',
        '',
        'A tiny Llama-architecture base model pretrained from scratch on the King James Bible, bundled so that',
        'ShadowPEFT Studio works offline. It writes recognisably KJV-styled English (archaic grammar, verse',
        'per line, "Book chapter" headings) but has no knowledge worth trusting: it is a demo and test model.',
        '',
        '## Recipe',
        '',
        f'- Corpus: the King James Version from Debian packages `bible-kjv-text` {pk["bible-kjv-text"]} (text) and',
        f'  `bible-kjv` {pk["bible-kjv"]} (the `bible` reader, `bible -f gen1:1-rev22:21`); public domain.',
        '  One document per chapter: a `Book N` heading line, then one verse per line (no verse numbers);',
        '  a blank line between chapters. Every 20th chapter (index % 20 == 10) is held out: 5 %.',
        f'- Tokenizer: byte-level BPE (GPT-2 pre-tokenizer, no prefix space) trained on the training split,',
        f'  vocabulary {R.VOCAB_SIZE} = 5 special tokens (`<|pad|>` 0, `<|bos|>` 1, `<|eos|>` 2, `<|im_start|>` 3,',
        f'  `<|im_end|>` 4) + 256 bytes + {R.VOCAB_SIZE - 261} merges; {data["train_chars"] / len(data["train"]):.2f} characters per token.',
        '  Nothing is added on encode. Chat template: ChatML (`<|im_start|>role\\ncontent<|im_end|>\\n`); the',
        '  special tokens were never seen in pretraining, so chat behaviour comes only from fine-tuning.',
        f'- Model: Llama, hidden {c["hidden_size"]}, {c["num_hidden_layers"]} layers, {c["num_attention_heads"]} query heads /'
        f' {c["num_key_value_heads"]} kv heads (head size {c["head_dim"]}),',
        f'  MLP {c["intermediate_size"]} (SwiGLU), RMSNorm eps {c["rms_norm_eps"]}, RoPE θ {c["rope_theta"]:g}, context {c["max_position_embeddings"]},',
        f'  tied embeddings, no biases. **{n_params:,} parameters**, stored as float32.',
        f'- Training: PyTorch {torch.__version__} on CPU ({R.THREADS} threads), float32, seed {R.SEED}; {phases}',
        f'  (random windows of the training token stream, {len(data["train"]):,} tokens);',
        f'  AdamW β {R.BETAS}, weight decay {R.WEIGHT_DECAY} on matrices, peak LR {R.LR:g}, {R.WARMUP} warm-up steps,',
        f'  cosine decay to {R.MIN_LR_FRACTION:g} × peak, gradient clip {R.GRAD_CLIP}. Init N(0, 0.02²), o/down',
        '  projections / sqrt(2L).',
        f'- Steps: {ck["step"]} ({ck["step"] * 4096:,} tokens, {ck["step"] * 4096 / len(data["train"]):.1f} epochs); training wall time'
        f' {ck["elapsed"] / 60:.1f} min (sum of step times; last training loss {last["loss"]}).',
        '  Measured on a 2-core machine shared with other jobs, where a step took 1-8 s; uncontended, a',
        '  32 x 128 step takes about 1.2 s and a 16 x 256 step about 2 s (about 16 min in all).',
        '- Reproduce: `tools/pretrain/README.md`.',
        '',
        '## Evaluation',
        '',
        'Computed in float64 by `tools/fixtures/reference_model.py` from the stored weights; non-overlapping',
        f'{R.CONTEXT}-token windows, mean next-token loss (nats per token).',
        '',
        '| split | tokens | loss | perplexity |',
        '|---|---|---|---|',
        f'| held-out 5 % (all held-out chapters) | {ev["held_out"]["tokens"]:,} | {ev["held_out"]["loss"]:.4f} | {ev["held_out"]["perplexity"]:.2f} |',
        f'| `validation.txt` (first held-out chapters, ≤ {R.VALIDATION_TXT_MAX_BYTES // 1000} KB) | {ev["tokens"]:,} | {ev["validation_loss"]:.4f} | {ev["validation_perplexity"]:.2f} |',
        '',
        '`eval.json` holds these numbers, the per-window losses of `validation.txt`, greedy continuations',
        '(ids) and tokenizer checks, so the engine can be tested against them.',
        '',
        'Held-out loss during training (first 16 windows):',
        '',
        '| step | ' + ' | '.join(str(r['step']) for r in curve) + ' |',
        '|---|' + '---|' * len(curve),
        '| loss | ' + ' | '.join(f'{r["held_out_loss_16w"]:.3f}' for r in curve) + ' |',
        '',
        f'## Greedy samples ({GREEDY_NEW} new tokens, prompt in bold)',
        '',
    ]
    for g in ev['greedy']:
        lines += [quote(g['prompt'], g['text']), '']
    lines += ['(⏎ marks a newline.) Greedy decoding of a model this small soon repeats itself; sampling reads better:',
              '',
              f'## Sampled (temperature {SAMPLE_TEMPERATURE}, top-k {SAMPLE_TOP_K}, seed = prompt index, {SAMPLE_NEW} new tokens)',
              '']
    for p, text in sampled:
        lines += [quote(p, text), '']
    with open(os.path.join(R.MODEL_DIR, 'MODEL_CARD.md'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines))


if __name__ == '__main__':
    main()
