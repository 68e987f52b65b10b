"""
The pretraining corpus: the King James Bible as Debian ships it (package `bible-kjv-text`, read with the
`bible` program from package `bible-kjv`). Public domain text (1611/1769 KJV; see
/usr/share/doc/bible-kjv-text/copyright).

Layout of the text the model sees: one document per chapter,
    "<Book> <chapter>\n<verse>\n<verse>\n...\n"
with a blank line between chapters (so "\n\n" separates documents). No verse numbers.

Split (deterministic, no randomness): chapter k (0-based, in canonical order, 1189 chapters) is held out
for validation iff k % 20 == 10, i.e. every 20th chapter: 5 % of the chapters.
"""
import re
import subprocess

PACKAGES = ('bible-kjv-text', 'bible-kjv')  # data, and the reader program

# Canonical book order; `bible -f` prints its own abbreviations in this order.
BOOKS = [
    'Genesis', 'Exodus', 'Leviticus', 'Numbers', 'Deuteronomy', 'Joshua', 'Judges', 'Ruth', '1 Samuel',
    '2 Samuel', '1 Kings', '2 Kings', '1 Chronicles', '2 Chronicles', 'Ezra', 'Nehemiah', 'Esther', 'Job',
    'Psalms', 'Proverbs', 'Ecclesiastes', 'Song of Solomon', 'Isaiah', 'Jeremiah', 'Lamentations', 'Ezekiel',
    'Daniel', 'Hosea', 'Joel', 'Amos', 'Obadiah', 'Jonah', 'Micah', 'Nahum', 'Habakkuk', 'Zephaniah', 'Haggai',
    'Zechariah', 'Malachi', 'Matthew', 'Mark', 'Luke', 'John', 'Acts', 'Romans', '1 Corinthians',
    '2 Corinthians', 'Galatians', 'Ephesians', 'Philippians', 'Colossians', '1 Thessalonians',
    '2 Thessalonians', '1 Timothy', '2 Timothy', 'Titus', 'Philemon', 'Hebrews', 'James', '1 Peter', '2 Peter',
    '1 John', '2 John', '3 John', 'Jude', 'Revelation']
HELD_OUT_EVERY, HELD_OUT_PHASE = 20, 10

_REF = re.compile(r'^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$')


def package_versions():
    """{package: version} from dpkg-query, for the model card."""
    out = subprocess.run(['dpkg-query', '-W', *PACKAGES], check=True, capture_output=True, text=True).stdout
    return dict(line.split('\t') for line in out.strip().splitlines())


def read_chapters():
    """[(book name, chapter number, [verse text, ...])] for the whole Bible, in order."""
    # -f turns pretty-printing off: one "AbbrC:V text" line per verse.
    raw = subprocess.run(['bible', '-f', 'gen1:1-rev22:21'], check=True, capture_output=True, text=True).stdout
    chapters, abbrevs = [], []
    for line in raw.splitlines():
        m = _REF.match(line)
        if not m:
            raise ValueError(f'unexpected line from bible: {line[:80]!r}')
        abbr, chap, text = m.group(1), int(m.group(2)), m.group(4).strip()
        if not abbrevs or abbrevs[-1] != abbr:
            abbrevs.append(abbr)
        book = BOOKS[len(abbrevs) - 1]
        if not chapters or chapters[-1][0] != book or chapters[-1][1] != chap:
            chapters.append((book, chap, []))
        chapters[-1][2].append(' '.join(text.split()))
    if len(abbrevs) != len(BOOKS) or len(chapters) != 1189 or sum(len(c[2]) for c in chapters) != 31102:
        raise ValueError(f'unexpected corpus shape: {len(abbrevs)} books, {len(chapters)} chapters')
    return chapters


def chapter_text(chapter):
    book, num, verses = chapter
    return f'{book} {num}\n' + '\n'.join(verses) + '\n'


def is_held_out(k):
    return k % HELD_OUT_EVERY == HELD_OUT_PHASE


def split_texts(chapters):
    """(train text, held-out text): chapters joined with a blank line between them."""
    train = [chapter_text(c) for k, c in enumerate(chapters) if not is_held_out(k)]
    held = [chapter_text(c) for k, c in enumerate(chapters) if is_held_out(k)]
    return '\n'.join(train), '\n'.join(held)
