"""
Writes the demo fine-tuning datasets to public/datasets/ (+ index.json), from Debian packages:
  kjv-modern-english.jsonl  chat: "Say this in modern English" -> the verse with archaic forms replaced
                            by rule (thou/thee -> you, hath -> has, -eth -> -s, unto -> to, ...)
  kjv-testament.jsonl       classification: a verse -> "Old Testament" / "New Testament"
  fortunes-quotes.txt       plain text: quotations from the `fortunes` package (wisdom, humorists,
                            literature), a different domain and layout ("-- Author" lines)
Only training-split chapters are used, so the model's validation text stays unseen.
Deterministic (random.Random(SEED)). Run from the repository root:
    /usr/bin/python3 tools/pretrain/make_datasets.py
"""
import json
import os
import random
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import corpus  # noqa: E402
import recipe as R  # noqa: E402

SEED = 4321
MODERN_EXAMPLES, TESTAMENT_PER_LABEL = 1500, 1000
FORTUNE_FILES = ['wisdom', 'humorists', 'literature']
FORTUNE_DIR = '/usr/share/games/fortunes'
FIRST_NT_BOOK = 'Matthew'

# Whole-word replacements (lower case; capitalisation of the original is kept).
WORDS = {
    'thou': 'you', 'thee': 'you', 'ye': 'you', 'thy': 'your', 'thine': 'your', 'thyself': 'yourself',
    'hath': 'has', 'doth': 'does', 'saith': 'says', 'unto': 'to', 'spake': 'spoke', 'art': 'are',
    'shalt': 'shall', 'wilt': 'will', 'hast': 'have', 'didst': 'did', 'dost': 'do', 'canst': 'can',
    'wast': 'were', 'shouldest': 'should', 'wouldest': 'would', 'couldest': 'could', 'mayest': 'may',
    'yea': 'yes', 'nay': 'no', 'verily': 'truly', 'behold': 'look', 'lo': 'look', 'begat': 'fathered',
    'whither': 'where', 'hither': 'here', 'thither': 'there', 'whence': 'from where', 'thereof': 'of it',
    'wherefore': 'therefore', 'peradventure': 'perhaps', 'ere': 'before', 'brethren': 'brothers',
}
SUPERLATIVES = {'fairest', 'greatest', 'highest', 'dearest', 'chiefest', 'best', 'least', 'most'}  # not "thou ...est" verbs
_WORD = re.compile(r"[A-Za-z]+")


def modernise(verse, known):
    """Rule-based modern English: WORDS, "-eth" verbs -> "-s", "thou ...est" -> bare verb. `known` is the
    set of lower-case words of the corpus, used to find the verb stem ("loveth" -> "love" -> "loves")."""
    out, prev, last = [], '', 0
    for m in _WORD.finditer(verse):
        word, low = m.group(0), m.group(0).lower()
        new = WORDS.get(low)
        if new is None and low == word and low.endswith('eth') and len(low) > 4:
            stem = low[:-3]
            if stem.endswith(('o', 'i', 's', 'sh', 'ch', 'x', 'z')) and (stem in known or stem[-1] in 'oi'):
                new = stem + 'es'  # goeth -> goes, crieth -> cries, teacheth -> teaches
            elif stem + 'e' in known:
                new = stem + 'es'  # loveth -> loves, seeth -> sees
            elif stem in known:
                new = stem + 's'  # walketh -> walks
            elif len(stem) > 2 and stem[-1] == stem[-2] and stem[:-1] in known:
                new = stem[:-1] + 's'  # sitteth -> sits
        elif new is None and prev == 'thou' and low.endswith('est') and len(low) > 4 and low not in SUPERLATIVES:
            stem = low[:-3]
            new = stem if stem in known else stem + 'e' if stem + 'e' in known else None  # knowest -> know
        if new is not None and word[0].isupper():
            new = new[0].upper() + new[1:]
        out.append(verse[last:m.start()] + (new if new is not None else word))
        last, prev = m.end(), low
    out.append(verse[last:])
    return ''.join(out)


def fortunes_text():
    quotes = []
    for name in FORTUNE_FILES:
        with open(os.path.join(FORTUNE_DIR, name), encoding='utf-8') as f:
            raw = f.read()
        raw = re.sub('.\x08', '', raw)  # overstrike (bold/underline) sequences
        raw = re.sub('[\x00-\x08\x0b-\x1f\x7f]', '', raw)
        quotes += [q.strip('\n') for q in raw.split('\n%\n') if q.strip('%\n ')]
    return '\n\n'.join(quotes) + '\n'


def package_version(name):
    return subprocess.run(['dpkg-query', '-W', '-f', '${Version}', name], check=True, capture_output=True,
                          text=True).stdout


def main():
    rng = random.Random(SEED)
    chapters = corpus.read_chapters()
    train = [c for k, c in enumerate(chapters) if not corpus.is_held_out(k)]
    known = {w.lower() for c in train for v in c[2] for w in _WORD.findall(v)}
    nt_start = next(i for i, c in enumerate(train) if c[0] == FIRST_NT_BOOK)
    verses = [(i >= nt_start, v) for i, c in enumerate(train) for v in c[2]]
    os.makedirs(R.DATASETS_DIR, exist_ok=True)
    kjv = f'Debian packages bible-kjv-text {package_version("bible-kjv-text")} / bible-kjv {package_version("bible-kjv")}'

    # (a) chat style transfer: verses where the rules change at least 3 words, 40-220 characters
    pairs = []
    for _, v in verses:
        if 40 <= len(v) <= 220:
            m = modernise(v, known)
            changed = sum(a != b for a, b in zip(_WORD.findall(v), _WORD.findall(m)))
            if changed >= 3:
                pairs.append((v, m))
    rng.shuffle(pairs)
    with open(os.path.join(R.DATASETS_DIR, 'kjv-modern-english.jsonl'), 'w', encoding='utf-8') as f:
        for v, m in pairs[:MODERN_EXAMPLES]:
            rec = {'messages': [{'role': 'user', 'content': f'Say this in modern English:\n{v}'},
                                {'role': 'assistant', 'content': m}]}
            f.write(json.dumps(rec, ensure_ascii=False) + '\n')

    # (b) classification: balanced Old / New Testament verses, 60-200 characters
    by_label = {False: [], True: []}
    for nt, v in verses:
        if 60 <= len(v) <= 200:
            by_label[nt].append(v)
    rows = []
    for nt, vs in by_label.items():
        rows += [(v, 'New Testament' if nt else 'Old Testament') for v in rng.sample(vs, TESTAMENT_PER_LABEL)]
    rng.shuffle(rows)
    with open(os.path.join(R.DATASETS_DIR, 'kjv-testament.jsonl'), 'w', encoding='utf-8') as f:
        for v, label in rows:
            f.write(json.dumps({'text': v, 'label': label}, ensure_ascii=False) + '\n')

    # (c) plain text in another domain
    with open(os.path.join(R.DATASETS_DIR, 'fortunes-quotes.txt'), 'w', encoding='utf-8') as f:
        f.write(fortunes_text())

    index = [
        {'file': 'kjv-modern-english.jsonl', 'title': 'KJV → modern English (chat)', 'format': 'chat',
         'examples': min(MODERN_EXAMPLES, len(pairs)),
         'description': ('Chat pairs: the user asks "Say this in modern English:" with a King James verse; '
                         'the assistant answers with the same verse after rule-based modernisation (thou/thee '
                         '→ you, hath → has, unto → to, -eth → -s, …). A few hundred steps teach '
                         f'{R.NAME} the ChatML turn format, to stop at <|im_end|>, and to drop archaic forms. '
                         f'Built from the training chapters of the {kjv} text (public domain).')},
        {'file': 'kjv-testament.jsonl', 'title': 'Old or New Testament? (classification)',
         'format': 'classification', 'examples': 2 * TESTAMENT_PER_LABEL,
         'description': ('Text/label records: a King James verse labelled "Old Testament" or "New Testament", '
                         f'{TESTAMENT_PER_LABEL} of each. Accuracy starts near chance and rises within a few '
                         f'hundred steps. Training chapters of the {kjv} text (public domain).')},
        {'file': 'fortunes-quotes.txt', 'title': 'Fortune-cookie quotations (plain text)', 'format': 'plain_text',
         'description': ('Plain text in a new domain: quotations and jokes with "-- Author" lines, from the '
                         f'wisdom, humorists and literature files of the Debian package fortunes '
                         f'{package_version("fortunes")} (BSD-licensed collection; see '
                         '/usr/share/doc/fortunes/copyright). Continued pretraining moves the model from KJV '
                         'verses to modern aphorisms with attributions.')},
    ]
    with open(os.path.join(R.DATASETS_DIR, 'index.json'), 'w', encoding='utf-8') as f:
        json.dump(index, f, indent=2, ensure_ascii=False)
        f.write('\n')
    for e in index:
        size = os.path.getsize(os.path.join(R.DATASETS_DIR, e['file']))
        assert size <= 1_000_000, e['file']
        print(f'{e["file"]}: {size / 1e3:.0f} KB')


if __name__ == '__main__':
    main()
