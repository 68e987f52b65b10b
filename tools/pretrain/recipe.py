"""The whole recipe in one place: model shape, tokenizer size, optimisation, schedule, seeds, paths."""
import os

NAME = 'kjv-llama-3m'
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORK = os.path.join(HERE, 'work')  # caches and checkpoints (git-ignored)
MODEL_DIR = os.path.join(ROOT, 'public', 'models', NAME)
DATASETS_DIR = os.path.join(ROOT, 'public', 'datasets')

VOCAB_SIZE = 1024
CONTEXT = 256  # max_position_embeddings: the longest window trained on

CONFIG = {
    'architectures': ['LlamaForCausalLM'], 'model_type': 'llama',
    'hidden_size': 256, 'intermediate_size': 688, 'num_hidden_layers': 4,
    'num_attention_heads': 8, 'num_key_value_heads': 4, 'head_dim': 32,
    'vocab_size': VOCAB_SIZE, 'max_position_embeddings': CONTEXT,
    'rms_norm_eps': 1e-5, 'rope_theta': 10000.0, 'rope_scaling': None,
    'tie_word_embeddings': True, 'attention_bias': False, 'mlp_bias': False, 'hidden_act': 'silu',
    'attention_dropout': 0.0, 'initializer_range': 0.02, 'pretraining_tp': 1, 'use_cache': True,
    'torch_dtype': 'float32', 'bos_token_id': 1, 'eos_token_id': 2, 'pad_token_id': 0,
}

SEED = 1234
THREADS = 2
# Two phases with the same tokens per step (4096): short windows first (cheaper attention), then the
# full context so every position up to CONTEXT is trained.
PHASES = [  # (steps, batch, window)
    (450, 32, 128),
    (200, 16, CONTEXT),
]
STEPS = sum(p[0] for p in PHASES)
LR, MIN_LR_FRACTION, WARMUP = 2e-3, 0.1, 50
BETAS, WEIGHT_DECAY, GRAD_CLIP = (0.9, 0.95), 0.1, 1.0
CHECKPOINT_EVERY, EVAL_EVERY, EVAL_WINDOWS = 50, 100, 16
VALIDATION_TXT_MAX_BYTES = 48_000  # validation.txt: held-out chapters, in order, up to this size


def phase_of(step):
    """(batch, window) used at 0-based step."""
    for n, batch, window in PHASES:
        if step < n:
            return batch, window
        step -= n
    raise ValueError('step past the schedule')
