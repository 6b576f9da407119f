"""Builds shared/tasks/data/devil.txt: a cleaned excerpt of Ambrose Bierce's *The Devil's Dictionary*
(1911, public domain; the Debian package `dict-devil` notes "A Public Domain Text, Copyright Expired").

Why an excerpt: the task haystacks and the natural-text part of the training mixture need some real
English prose at run time, but ~100 KB is plenty and keeps the repository small.

Usage (developer only, offline):
  cd /tmp && apt-get download dict-devil && dpkg -x dict-devil_*.deb devil
  python3 scripts/train/clean_devil.py /tmp/devil/usr/share/dictd/devil.dict.dz shared/tasks/data/devil.txt
Output: one prose paragraph per line, printable ASCII, whitespace collapsed, verse dropped.
"""
import gzip
import re
import sys

TARGET_BYTES = 100_000


def blocks(text):
    start = text.find('ABASEMENT, n.')
    body = text[start:]
    return [b for b in re.split(r'\n\s*\n', body) if b.strip()]


def is_verse(block):
    lines = [l for l in block.split('\n') if l.strip()]
    indented = sum(1 for l in lines if l.startswith('    '))
    # Dictionary prose wraps at ~70 columns and starts flush left or with one indented first line.
    return indented > max(1, len(lines) // 2)


def clean(block):
    # Rejoin words hyphenated across a line break ("cannon-\nshot").
    block = re.sub(r'(?<=[a-z])-\n\s*(?=[a-z])', '-', block)
    s = ' '.join(block.split())
    s = s.replace('_', '').replace('--', '-')
    s = s.encode('ascii', 'ignore').decode('ascii')
    return s


def main(src, dst):
    text = gzip.open(src, 'rt', encoding='latin-1').read()
    paras = [clean(b) for b in blocks(text) if not is_verse(b)]
    paras = [p for p in paras if len(p) >= 60 and not re.search(r'[0-9]{3,}', p)]
    # Evenly spaced paragraphs so every letter of the dictionary is represented.
    total = sum(len(p) + 1 for p in paras)
    step = max(1.0, total / TARGET_BYTES)
    out, acc, next_at = [], 0.0, 0.0
    for p in paras:
        if acc >= next_at:
            out.append(p)
            next_at += step * (len(p) + 1)
        acc += len(p) + 1
    with open(dst, 'w', encoding='ascii') as f:
        f.write('\n'.join(out) + '\n')
    print(f'{len(out)} paragraphs, {sum(len(p) + 1 for p in out)} bytes of {len(paras)} / {total}')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
