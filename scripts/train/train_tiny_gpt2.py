"""Trains the project's embedded models (tiny GPT-2 or, with --arch llama, tiny Llama; byte tokenizer) on
the synthetic long-context tasks of shared/tasks plus public-domain prose; exports them; evaluates them.

  python scripts/train/train_tiny_gpt2.py --run /work/train-runs/r1            # train (or --resume)
  python scripts/train/train_tiny_gpt2.py --run /work/train-runs/r1 --export   # → models/tiny-gpt2/
  python scripts/train/train_tiny_gpt2.py --eval models/tiny-gpt2 --n 200      # greedy accuracy table
  python scripts/train/train_tiny_gpt2.py --arch llama --run /work/train-runs/l1  # → models/tiny-llama/

Needs `npm run build` first (data comes from dist/scripts/gen-train-data.js). See README.md here.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
from evaluate import build_model  # noqa: E402
from tiny_gpt2 import Config  # noqa: E402
from tiny_llama import LlamaConfig  # noqa: E402

TASKS = ['passkey', 'niah', 'mqar', 'vartrack']


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--run', help='run directory (checkpoints, logs, shards), outside the repository')
    p.add_argument('--resume', action='store_true')
    p.add_argument('--init-from', metavar='CKPT', default=None,
                   help='fine-tune: start from this checkpoint\'s weights (fresh optimizer, step 0)')
    p.add_argument('--export', action='store_true', help='export the run\'s checkpoint to --out')
    p.add_argument('--eval', metavar='MODEL', help='evaluate a model dir (model.safetensors) or a run dir')
    p.add_argument('--arch', choices=['gpt2', 'llama'], default='gpt2',
                   help='gpt2: tiny_gpt2.py (HF GPT-2); llama: tiny_llama.py (HF Llama: RMSNorm, RoPE, SwiGLU, GQA)')
    p.add_argument('--out', default=None, help='--export: model directory (default models/tiny-gpt2 or models/tiny-llama)')
    p.add_argument('--stages', default='256:300,512:300,1024:300,2048:200',
                   help='length:steps[:batch_tokens],…')
    p.add_argument('--batch-tokens', type=int, default=8192)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--min-lr-frac', type=float, default=0.1)
    p.add_argument('--warmup', type=int, default=50)
    p.add_argument('--weight-decay', type=float, default=0.1)
    p.add_argument('--clip', type=float, default=1.0)
    p.add_argument('--lm-weight', type=float, default=0.5, help='weight of the mean loss on context tokens')
    p.add_argument('--answer-weight', type=float, default=1.0, help='weight of the mean loss on answer tokens')
    p.add_argument('--z-loss', type=float, default=1e-4, help='penalty on logsumexp² keeps logits small')
    p.add_argument('--pos-offset-prob', type=float, default=0.5,
                   help='fraction of short batches placed at a random position offset')
    p.add_argument('--shard-tokens', type=int, default=2_000_000)
    p.add_argument('--mix', default='niah=30,passkey=20,mqar=15,copy=10,vartrack=10,text=15',
                   help='task mixture for gen-train-data at lengths >= 256')
    p.add_argument('--warm-mix', default='copy=40,mqar=30,passkey=30',
                   help='mixture below 256 tokens, where NIAH and variable tracking do not fit')
    p.add_argument('--seed', type=int, default=1234)
    p.add_argument('--ckpt-minutes', type=float, default=5.0)
    p.add_argument('--eval-every', type=int, default=250)
    p.add_argument('--monitor-n', type=int, default=32, help='samples per task and length in the monitor')
    p.add_argument('--init', choices=['match', 'induction', 'gpt2', 'random'], default='match',
                   help='match: wire an n-gram match-and-copy circuit before training (match_init.py, for Llama '
                        'llama_match_init.py); induction: a previous-token and a one-token induction head '
                        '(induction_init.py, GPT-2 only); random (gpt2 is its GPT-2 name): the architecture\'s random init only')
    p.add_argument('--pin-wired', action=argparse.BooleanOptionalAction, default=True,
                   help='--init match: keep the wired attention weights fixed (match_init.wired_slices)')
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads; on the shared 2-vCPU machine 2 threads ran 4-6x slower than 1 under load')
    p.add_argument('--n-layer', type=int, default=4)
    p.add_argument('--n-head', type=int, default=4)
    p.add_argument('--n-embd', type=int, default=128)
    p.add_argument('--n-positions', type=int, default=2048)
    p.add_argument('--n-kv-head', type=int, default=2, help='llama: key/value heads (grouped-query attention)')
    p.add_argument('--n-inner', type=int, default=352, help='llama: SwiGLU width')
    p.add_argument('--head-dim', type=int, default=64,
                   help='llama: head width (64 = 2 × n_embd / n_head: room for rotary pairs by offset and by content)')
    p.add_argument('--rope-theta', type=float, default=1e16,
                   help='llama: RoPE base (1e16 at head_dim 64: pair i turns 10^(-i/2) rad per token, llama_match_init.py)')
    # evaluation
    p.add_argument('--n', type=int, default=200, help='--eval: samples per cell')
    p.add_argument('--lengths', default='1024,2048')
    p.add_argument('--tasks', default=','.join(TASKS))
    p.add_argument('--eval-out', default=None, help='--eval: write the results JSON here')
    p.add_argument('--perturb', type=float, default=0.0,
                   help='--eval: round weights to 2^-16 and add this relative noise to every Linear/LayerNorm output')
    p.add_argument('--placements', default='prompt,decode', help='--eval: which placements to run')
    a = p.parse_args(argv)
    if a.arch == 'llama' and a.init == 'induction':
        p.error('--init induction wires learned GPT-2 positions; Llama takes --init match or random')
    if a.out is None:
        a.out = os.path.join(data.REPO, 'models', 'tiny-gpt2' if a.arch == 'gpt2' else 'tiny-llama')
    return a


def new_config(a):
    if a.arch == 'llama':
        return LlamaConfig(n_layer=a.n_layer, n_head=a.n_head, n_kv_head=a.n_kv_head, n_embd=a.n_embd,
                           head_dim=a.head_dim,
                           n_inner=a.n_inner, n_positions=a.n_positions, rope_theta=a.rope_theta)
    return Config(n_layer=a.n_layer, n_head=a.n_head, n_embd=a.n_embd, n_positions=a.n_positions)


def parse_stages(s, batch_tokens):
    """'T:steps[:batch_tokens],…' → [(T, steps, batch_tokens)]."""
    out = []
    for x in s.split(','):
        f = [int(v) for v in x.split(':')]
        out.append((f[0], f[1], f[2] if len(f) > 2 else batch_tokens))
    return out


def lr_at(step, total, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    frac = min(1.0, (step - a.warmup) / max(1, total - a.warmup))
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * frac)))


def loss_fn(model, tokens, mask, a, pos_offset=0):
    x, y, m = tokens[:, :-1], tokens[:, 1:], mask[:, 1:]
    logits, _, _ = model(x, pos_offset=pos_offset)
    V = logits.shape[-1]
    ce = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1), reduction='none').view_as(y)
    ctx, ans = (m == data.CONTEXT).float(), (m == data.ANSWER).float()
    lm = (ce * ctx).sum() / ctx.sum().clamp(min=1)
    an = (ce * ans).sum() / ans.sum().clamp(min=1)
    z = (torch.logsumexp(logits, dim=-1) ** 2 * (m != data.PAD)).mean()
    return a.lm_weight * lm + a.answer_weight * an + a.z_loss * z, lm.item(), an.item()


@torch.no_grad()
def teacher_forced_accuracy(model, shard, batch=8):
    """Fraction of queries whose whole answer (+ STOP) is the argmax under teacher forcing: equal to
    greedy exact match for the first query, a cheap stand-in for the others."""
    model.eval()
    toks = torch.from_numpy(shard['tokens'])
    right = total = 0
    for i in range(0, len(toks), batch):
        logits, _, _ = model(toks[i:i + batch])
        pred = logits.argmax(-1)
        for j, s in enumerate(shard['samples'][i:i + batch]):
            for _, a0, a1, _ in s['queries']:
                total += 1
                right += int(torch.equal(pred[j, a0 - 1:a1 - 1], toks[i + j, a0:a1]))
    model.train()
    return right / max(1, total)


def monitor_sets(a, run, lengths):
    sets = {}
    for T in lengths:
        for task in TASKS:
            extra = ['--num-distractors', '1'] if (task == 'niah' and T < 512) else []
            out = os.path.join(run, 'monitor', f'{task}-{T}')
            if not os.path.exists(out + '.json'):
                os.makedirs(os.path.dirname(out), exist_ok=True)
                data.generate(out, T, a.monitor_n, 900_000 + T, task, 'stratified', extra)
            sets[(task, T)] = data.load(out)
    return sets


def save_ckpt(path, state):
    tmp = path + '.tmp'
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(a):
    run = a.run
    os.makedirs(run, exist_ok=True)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    np.random.seed(a.seed)
    stages = parse_stages(a.stages, a.batch_tokens)
    total = sum(s for _, s, _ in stages)
    cfg = new_config(a)
    model = build_model(cfg)
    ckpt_path = os.path.join(run, 'ckpt.pt')
    if a.init == 'induction':
        from induction_init import induction_init
        induction_init(model, seed=a.seed)
    elif a.init == 'match' and not a.init_from and not (a.resume and os.path.exists(ckpt_path)):
        from llama_match_init import llama_match_init
        from match_init import match_init
        wire = llama_match_init if a.arch == 'llama' else match_init
        calib_out = os.path.join(run, 'calib')  # LayerNorm/RMSNorm scales are measured on 8 NIAH sequences
        calib = data.generate(calib_out, 1024, 8, a.seed, 'niah')
        data.remove(calib_out)
        print('match init', json.dumps(wire(model, torch.from_numpy(calib['tokens']), seed=a.seed)), flush=True)
    opt = torch.optim.AdamW(model.param_groups(a.weight_decay), lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    if a.init_from and not (a.resume and os.path.exists(ckpt_path)):
        model.load_state_dict(torch.load(a.init_from, weights_only=False)['model'])
        print(f'weights from {a.init_from}', flush=True)
    st = {'step': 0, 'tokens': 0, 'elapsed': 0.0, 'curve': [], 'evals': []}
    if a.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
        st = ck['state']
        torch.set_rng_state(ck['torch_rng'])
        print(f'resumed at step {st["step"]}', flush=True)
    with open(os.path.join(run, 'args.json'), 'w') as f:
        json.dump(vars(a), f, indent=2)
    pins = []
    if a.pin_wired and a.init == 'match':
        from llama_match_init import wired_slices as llama_wired
        from match_init import wired_slices as gpt2_wired
        wired_slices = llama_wired if a.arch == 'llama' else gpt2_wired
        pins = [(p, idx, p.detach()[idx].clone()) for p, idx in wired_slices(model)]
    monitor = monitor_sets(a, run, sorted({T for T, _, _ in stages if T >= 256} | {1024, 2048}))
    shard_dir = os.path.join(run, 'shards')
    os.makedirs(shard_dir, exist_ok=True)

    def stage_of(step):
        acc = 0
        for T, n, _ in stages:
            if step < acc + n:
                return T
            acc += n
        return stages[-1][0]

    batch_of = {T: bt for T, _, bt in stages}

    def shard_for(T, k):
        out = os.path.join(shard_dir, f'T{T}-{k}')
        count = max(64, a.shard_tokens // T)
        extra = ['--mix', a.mix if T >= 256 else a.warm_mix]
        return out, data.spawn(out, T, count, a.seed * 1_000_003 + T * 10_007 + k, extra=extra)

    t0, last_ckpt = time.time() - st['elapsed'], time.time()
    k = st['step']  # shard counter: fresh, reproducible data after a resume
    T = stage_of(st['step'])
    cur_out, proc = shard_for(T, k)
    pending = None
    model.train()
    while st['step'] < total:
        T = stage_of(st['step'])
        proc.wait()
        shard = data.load(cur_out)
        if shard['head']['length'] != T:  # stage changed while the shard was generating
            data.remove(cur_out)
            cur_out, proc = shard_for(T, k)
            k += 1
            continue
        k += 1
        pending = shard_for(T, k)  # generate the next shard while training on this one
        B = max(1, batch_of[T] // T)
        order = np.random.permutation(len(shard['tokens']))
        for i in range(0, len(order) - B + 1, B):
            if st['step'] >= total or stage_of(st['step']) != T:
                break
            idx = order[i:i + B]
            tokens = torch.from_numpy(shard['tokens'][idx])
            mask = torch.from_numpy(shard['mask'][idx])
            off = 0
            if T < a.n_positions and random.random() < a.pos_offset_prob:
                off = random.randint(0, a.n_positions - T)
            lr = lr_at(st['step'], total, a)
            for g in opt.param_groups:
                g['lr'] = lr
            loss, lm, an = loss_fn(model, tokens, mask, a, off)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip).item()
            opt.step()
            with torch.no_grad():
                for p, idx, val in pins:
                    p[idx] = val
            st['step'] += 1
            st['tokens'] += tokens.numel()
            st['elapsed'] = time.time() - t0
            row = {'step': st['step'], 'tokens': st['tokens'], 'T': T, 'loss': round(loss.item(), 4),
                   'lm': round(lm, 4), 'ans': round(an, 4), 'lr': lr, 'gnorm': round(gnorm, 3),
                   'sec': round(st['elapsed'], 1)}
            st['curve'].append(row)
            if st['step'] % 25 == 0:
                print(json.dumps(row), flush=True)
            if st['step'] % a.eval_every == 0 or st['step'] == total:
                res = {f'{task}@{L}': round(teacher_forced_accuracy(model, sh), 3)
                       for (task, L), sh in monitor.items() if L <= max(T * 2, 512)}
                ev = {'step': st['step'], 'tokens': st['tokens'], 'sec': round(st['elapsed'], 1), 'acc': res}
                st['evals'].append(ev)
                print('EVAL ' + json.dumps(ev), flush=True)
                with open(os.path.join(run, 'evals.jsonl'), 'a') as f:
                    f.write(json.dumps(ev) + '\n')
            if time.time() - last_ckpt > a.ckpt_minutes * 60 or st['step'] == total:
                save_ckpt(ckpt_path, {'model': model.state_dict(), 'opt': opt.state_dict(), 'state': st,
                                      'torch_rng': torch.get_rng_state(), 'config': cfg.to_dict(), 'args': vars(a)})
                with open(os.path.join(run, 'curve.json'), 'w') as f:
                    json.dump(st['curve'], f)
                last_ckpt = time.time()
        data.remove(cur_out)
        cur_out, proc = pending
    proc.wait()
    data.remove(cur_out)
    print('done', json.dumps({'step': st['step'], 'tokens': st['tokens'], 'sec': st['elapsed']}), flush=True)


def main():
    a = parse_args()
    if a.eval:
        import evaluate
        evaluate.run_eval(a)
    elif a.export:
        import export
        export.run_export(a)
    else:
        if not a.run:
            sys.exit('--run is required for training')
        train(a)


if __name__ == '__main__':
    main()
