"""Reading the shards that scripts/gen-train-data.ts writes (see its header for the format), and
spawning it so that Python trains on exactly the sequences TypeScript generates."""
import json
import os
import subprocess

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
GEN = os.path.join(REPO, 'dist', 'scripts', 'gen-train-data.js')

CONTEXT, ANSWER, PAD = 0, 1, 2


def gen_args(out, length, count, seed, task=None, depth=None, extra=()):
    args = ['node', GEN, '--out', out, '--length', str(length), '--count', str(count), '--seed', str(seed)]
    if task is not None:
        args += ['--task', task]
    if depth is not None:
        args += ['--depth', str(depth)]
    return args + list(extra)


def generate(out, length, count, seed, task=None, depth=None, extra=()):
    """Runs the generator synchronously (needs `npm run build` first) and returns the loaded shard."""
    subprocess.run(gen_args(out, length, count, seed, task, depth, extra), check=True)
    return load(out)


def spawn(out, length, count, seed, task=None, depth=None, extra=()):
    """Starts the generator in the background; `load(out)` after `proc.wait()`."""
    return subprocess.Popen(gen_args(out, length, count, seed, task, depth, extra))


def load(out):
    with open(out + '.json') as f:
        head = json.load(f)
    n, t = head['count'], head['length']
    tokens = np.fromfile(out + '.tokens.u16', dtype='<u2').reshape(n, t).astype(np.int64)
    mask = np.fromfile(out + '.mask.u8', dtype=np.uint8).reshape(n, t)
    with open(out + '.jsonl') as f:
        samples = [json.loads(line) for line in f if line.strip()]
    assert len(samples) == n, f'{out}: {len(samples)} index lines for {n} sequences'
    return {'head': head, 'tokens': tokens, 'mask': mask, 'samples': samples}


def remove(out):
    for ext in ('.json', '.tokens.u16', '.mask.u8', '.jsonl'):
        try:
            os.remove(out + ext)
        except FileNotFoundError:
            pass
