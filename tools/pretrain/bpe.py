"""
A byte-level BPE tokenizer (GPT-2 style) trained from scratch, written as a Hugging Face `tokenizers`
tokenizer.json that transformers.js loads: ByteLevel pre-tokenizer (GPT-2 split regex, no prefix space)
+ BPE model + ByteLevel decoder, no normalizer, no post-processor (nothing is added on encode).

ids: the special tokens first (SPECIALS, ids 0..4), then the 256 byte symbols in byte order, then one
token per learned merge in merge order; vocab_size = len(SPECIALS) + 256 + number of merges.

`encode` is the Python mirror used for training; it equals the `tokenizers`/transformers.js result for
any text whose letters and digits are ASCII (Python's `re` has no \\p{L}/\\p{N}, so the split regex below
uses ASCII-exact stand-ins; the corpus is pure ASCII).
"""
import collections
import re

SPECIALS = ['<|pad|>', '<|bos|>', '<|eos|>', '<|im_start|>', '<|im_end|>']
PAD_ID, BOS_ID, EOS_ID, IM_START_ID, IM_END_ID = range(len(SPECIALS))
FIRST_BYTE_ID = len(SPECIALS)

# GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
# [^\W\d_] = letters; \d = digits; (?:[^\s\w]|_) = neither space, letter nor digit (underscore included).
_SPLIT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map (as in tokenizers' ByteLevel)."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_CHAR = bytes_to_unicode()
CHAR_BYTE = {c: b for b, c in BYTE_CHAR.items()}


def pre_tokenize(text):
    """text -> list of pre-tokens, each as a string of byte symbols."""
    return [''.join(BYTE_CHAR[b] for b in piece.encode('utf-8')) for piece in _SPLIT.findall(text)]


def train(text, vocab_size):
    """Learns vocab_size - len(SPECIALS) - 256 merges on text. Returns the merges [(a, b), ...] in order.
    Ties in pair frequency are broken by the smaller (a, b) string pair, so training is deterministic."""
    n_merges = vocab_size - len(SPECIALS) - 256
    if n_merges < 0:
        raise ValueError('vocab_size too small')
    word_counts = collections.Counter(pre_tokenize(text))
    words = [list(w) for w in word_counts]  # each word as a list of symbols
    counts = [word_counts[w] for w in word_counts]
    pair_count = collections.Counter()
    pair_words = collections.defaultdict(set)  # pair -> indices of words containing it
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += counts[i]
            pair_words[(a, b)].add(i)
    merges = []
    for _ in range(n_merges):
        if not pair_count:
            break
        top = max(pair_count.values())
        best = min(p for p, c in pair_count.items() if c == top)
        merges.append(best)
        a, b = best
        merged = a + b
        for i in sorted(pair_words.pop(best)):
            w, c = words[i], counts[i]
            for x, y in zip(w, w[1:]):  # remove this word's old pairs
                pair_count[(x, y)] -= c
                if pair_count[(x, y)] == 0:
                    del pair_count[(x, y)]
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == a and w[j + 1] == b:
                    out.append(merged)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for x, y in zip(out, out[1:]):  # add the new ones
                pair_count[(x, y)] += c
                pair_words[(x, y)].add(i)
        pair_count.pop(best, None)
    return merges


def vocab_of(merges):
    """token string -> id (specials, bytes, merges)."""
    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for b in range(256):
        vocab[BYTE_CHAR[b]] = FIRST_BYTE_ID + b
    for a, b in merges:
        vocab[a + b] = len(vocab)
    return vocab


class Encoder:
    """Python mirror of the tokenizer for plain text (special-token markup is not parsed)."""

    def __init__(self, merges):
        self.ranks = {pair: r for r, pair in enumerate(merges)}
        self.vocab = vocab_of(merges)
        self.inverse = {i: t for t, i in self.vocab.items()}
        self.cache = {}

    def _bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        syms = list(word)
        while len(syms) > 1:
            # merge the lowest-ranked adjacent pair, all its occurrences left to right
            pairs = set(zip(syms, syms[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float('inf')))
            if best not in self.ranks:
                break
            out, j = [], 0
            while j < len(syms):
                if j + 1 < len(syms) and (syms[j], syms[j + 1]) == best:
                    out.append(syms[j] + syms[j + 1])
                    j += 2
                else:
                    out.append(syms[j])
                    j += 1
            syms = out
        ids = [self.vocab[s] for s in syms]
        self.cache[word] = ids
        return ids

    def encode(self, text):
        return [i for w in pre_tokenize(text) for i in self._bpe(w)]

    def decode(self, ids):
        """Special tokens are written as their markup; byte symbols are joined and UTF-8 decoded."""
        out, buf = [], []
        for i in ids:
            if i < FIRST_BYTE_ID:
                out.append(bytes(buf).decode('utf-8', errors='replace'))
                buf = []
                out.append(SPECIALS[i])
            else:
                buf.extend(CHAR_BYTE[ch] for ch in self.inverse[i])
        out.append(bytes(buf).decode('utf-8', errors='replace'))
        return ''.join(out)


# Qwen-style ChatML markup (the app applies chat templates to instruction data).
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def tokenizer_json(merges):
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [
            {'id': i, 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False,
             'normalized': False, 'special': True}
            for i, t in enumerate(SPECIALS)
        ],
        'normalizer': None,
        'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
        'post_processor': None,
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
        'model': {
            'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
            'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
            'vocab': vocab_of(merges),
            'merges': [f'{a} {b}' for a, b in merges],
        },
    }


def tokenizer_config_json(model_max_length):
    return {
        'tokenizer_class': 'PreTrainedTokenizerFast',
        'bos_token': SPECIALS[BOS_ID],
        'eos_token': SPECIALS[EOS_ID],
        'pad_token': SPECIALS[PAD_ID],
        'unk_token': None,
        'add_bos_token': False,
        'add_eos_token': False,
        'add_prefix_space': False,
        'clean_up_tokenization_spaces': False,
        'model_max_length': model_max_length,
        'additional_special_tokens': [SPECIALS[IM_START_ID], SPECIALS[IM_END_ID]],
        'chat_template': CHAT_TEMPLATE,
        'added_tokens_decoder': {
            str(i): {'content': t, 'lstrip': False, 'normalized': False, 'rstrip': False, 'single_word': False,
                     'special': True}
            for i, t in enumerate(SPECIALS)
        },
    }
