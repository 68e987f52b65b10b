"""
Pretrains the bundled base model on CPU. Run from the repository root (see README.md):
    /usr/bin/python3 tools/pretrain/train.py
Builds the corpus and the BPE tokenizer (cached under tools/pretrain/work/), then trains with AdamW and
a cosine schedule, writing a checkpoint every CHECKPOINT_EVERY steps; rerunning resumes from the last
checkpoint. The result is work/final.pt; export.py turns it into public/models/<name>/.
"""
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
import fast_model  # noqa: E402
import recipe as R  # noqa: E402
import reference_model as ref  # noqa: E402


def prepare_data():
    """Corpus split, tokenizer merges and token streams, cached in work/data.pt."""
    path = os.path.join(R.WORK, 'data.pt')
    if os.path.exists(path):
        return torch.load(path)
    t0 = time.time()
    chapters = corpus.read_chapters()
    train_text, held_text = corpus.split_texts(chapters)
    merges = bpe.train(train_text, R.VOCAB_SIZE)
    enc = bpe.Encoder(merges)
    train_ids, held_ids = enc.encode(train_text), enc.encode(held_text)
    assert enc.decode(train_ids) == train_text and enc.decode(held_ids) == held_text
    data = {'merges': merges, 'train': torch.tensor(train_ids, dtype=torch.int16),
            'held': torch.tensor(held_ids, dtype=torch.int16), 'held_text': held_text,
            'train_chars': len(train_text), 'packages': corpus.package_versions()}
    torch.save(data, path)
    print(f'data: {len(train_text)} chars -> {len(train_ids)} train tokens, {len(held_ids)} held-out tokens '
          f'({time.time() - t0:.0f} s)', flush=True)
    return data


def init_weights(cfg, gen):
    """HF Llama init: N(0, 0.02²) matrices, ones for norms; the two residual-branch outputs (o_proj,
    down_proj) scaled by 1/sqrt(2L) so the residual stream starts small (GPT-2's rule)."""
    std, L = cfg['initializer_range'], cfg['num_hidden_layers']
    w = {}
    for name, shape in ref.weight_shapes(cfg).items():
        if len(shape) == 1:
            w[name] = torch.ones(shape)
        else:
            s = std / math.sqrt(2 * L) if name.endswith(('o_proj.weight', 'down_proj.weight')) else std
            w[name] = s * torch.randn(shape, generator=gen)
    return w


def check_fast_forward(cfg, w):
    """The training forward must equal the float64 reference (the spec) on a short input."""
    ids = torch.randint(0, cfg['vocab_size'], (2, 40), generator=torch.Generator().manual_seed(7))
    fast = fast_model.forward(cfg, w, ids, fast_model.Tables(cfg, 40)).double()
    spec = ref.forward(cfg, {k: v.double() for k, v in w.items()}, input_ids=ids)['logits']
    err = (fast - spec).abs().max().item()
    assert err < 1e-4, f'fast forward differs from reference_model by {err}'
    return err


def lr_at(step):
    if step < R.WARMUP:
        return R.LR * (step + 1) / R.WARMUP
    progress = (step - R.WARMUP) / max(1, R.STEPS - R.WARMUP)
    return R.LR * (R.MIN_LR_FRACTION + (1 - R.MIN_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def eval_windows(cfg, w, ids, n_windows, T=R.CONTEXT):
    """Mean next-token loss over the first n_windows non-overlapping T-token windows of ids."""
    tables = fast_model.Tables(cfg, T)
    n = min(n_windows, len(ids) // T)
    x = ids[:n * T].long().view(n, T)
    total, count = 0.0, 0
    for i in range(0, n, 8):
        lg = fast_model.forward(cfg, w, x[i:i + 8], tables)
        total += torch.nn.functional.cross_entropy(
            lg[:, :-1].reshape(-1, cfg['vocab_size']), x[i:i + 8, 1:].reshape(-1), reduction='sum').item()
        count += lg.shape[0] * (T - 1)
    return total / count


def main():
    torch.set_num_threads(R.THREADS)
    os.makedirs(R.WORK, exist_ok=True)
    data = prepare_data()
    cfg = R.CONFIG
    ckpt_path = os.path.join(R.WORK, 'ckpt.pt')
    log_path = os.path.join(R.WORK, 'train_log.jsonl')

    torch.manual_seed(R.SEED)
    w = init_weights(cfg, torch.Generator().manual_seed(R.SEED))
    print(f'parameters: {sum(v.numel() for v in w.values())}; fast forward vs reference max |diff| '
          f'{check_fast_forward(cfg, w):.2e}', flush=True)
    for v in w.values():
        v.requires_grad_(True)
    decay = [v for v in w.values() if v.dim() == 2]
    no_decay = [v for v in w.values() if v.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': R.WEIGHT_DECAY},
                             {'params': no_decay, 'weight_decay': 0.0}], lr=R.LR, betas=R.BETAS)
    batch_gen = torch.Generator().manual_seed(R.SEED + 1)
    step, elapsed = 0, 0.0
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        with torch.no_grad():
            for k in w:
                w[k].copy_(ck['weights'][k])
        opt.load_state_dict(ck['optimizer'])
        batch_gen.set_state(ck['batch_gen'])
        step, elapsed = ck['step'], ck['elapsed']
        print(f'resumed at step {step} ({elapsed:.0f} s trained)', flush=True)
        if os.path.exists(log_path):  # drop the records of steps after the checkpoint
            kept = [line for line in open(log_path) if json.loads(line)['step'] <= step]
            with open(log_path, 'w') as f:
                f.writelines(kept)

    train = data['train'].long()
    held = data['held'].long()
    tables = {}
    t_last = time.time()
    while step < R.STEPS:
        B, T = R.phase_of(step)
        if T not in tables:
            tables[T] = fast_model.Tables(cfg, T)
        starts = torch.randint(0, len(train) - T, (B,), generator=batch_gen)
        x = torch.stack([train[s:s + T] for s in starts.tolist()])
        lr = lr_at(step)
        for g in opt.param_groups:
            g['lr'] = lr
        logits = fast_model.forward(cfg, w, x, tables[T])
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, cfg['vocab_size']), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(w.values(), R.GRAD_CLIP).item()
        opt.step()
        step += 1
        now = time.time()
        elapsed += now - t_last
        t_last = now
        rec = {'step': step, 'loss': round(loss.item(), 4), 'lr': lr, 'grad_norm': round(gnorm, 3),
               'window': T, 'elapsed_s': round(elapsed, 1)}
        if step % R.EVAL_EVERY == 0 or step == R.STEPS:
            rec['held_out_loss_16w'] = round(eval_windows(cfg, w, held, R.EVAL_WINDOWS), 4)
            t_last = time.time()  # evaluation time is not training time
        if step % 10 == 0 or 'held_out_loss_16w' in rec:
            print(json.dumps(rec), flush=True)
        with open(log_path, 'a') as f:
            f.write(json.dumps(rec) + '\n')
        if step % R.CHECKPOINT_EVERY == 0 or step == R.STEPS:
            ck = {'weights': {k: v.detach().clone() for k, v in w.items()}, 'optimizer': opt.state_dict(),
                  'batch_gen': batch_gen.get_state(), 'step': step, 'elapsed': elapsed}
            torch.save(ck, ckpt_path + '.tmp')
            os.replace(ckpt_path + '.tmp', ckpt_path)
    torch.save({'weights': {k: v.detach().clone() for k, v in w.items()}, 'step': step, 'elapsed': elapsed},
               os.path.join(R.WORK, 'final.pt'))
    print(f'done: {step} steps, {elapsed:.0f} s', flush=True)


if __name__ == '__main__':
    main()
