"""Plain-PyTorch greedy evaluation of a tiny GPT-2 or Llama on task samples from gen-train-data (full KV cache),
for the developer's own monitoring; the project's official evaluation is a TypeScript command.

Per sample: prefill BOS · context; then
  'prompt' placement: feed question₁ as one chunk (same function as prefilling it with the context),
  'decode' placement: feed question₁ one token at a time;
then greedy-decode up to maxAnswerTokens, stopping at STOP ("\n") or EOT (all three read from the shard's
header, which scripts/gen-train-data.ts writes from shared/tasks: no copies here). Further queries feed the model's
own answer tokens and then their question, as a decoder would. A query is right when the decoded text up
to STOP equals the reference (shared/tasks score()). Wilson 95 % intervals per cell.

On passkey it also records, per layer and averaged over heads and decode steps, the attention mass that
the top 10 % (and top 6 %) of keys receive and the mass on the needle tokens.
"""
import json
import math
import os
import tempfile
import time

import torch
from safetensors.torch import load_file

import data
import tiny_gpt2
import tiny_llama
from tiny_gpt2 import Config, TinyGPT2
from tiny_llama import LlamaConfig, TinyLlama


def build_model(cfg):
    """A model from a config object or a checkpoint's config dict (Llama's carries arch = 'llama')."""
    if isinstance(cfg, dict):
        cfg = LlamaConfig(**cfg) if cfg.get('arch') == 'llama' else Config(**cfg)
    return TinyLlama(cfg) if isinstance(cfg, LlamaConfig) else TinyGPT2(cfg)


def load_model(path):
    """A model directory (config.json + model.safetensors, GPT-2 or Llama) or a run directory (ckpt.pt)."""
    if os.path.exists(os.path.join(path, 'model.safetensors')):
        with open(os.path.join(path, 'config.json')) as f:
            c = json.load(f)
        sd = load_file(os.path.join(path, 'model.safetensors'))
        if c.get('model_type') == 'llama':
            model = TinyLlama(tiny_llama.config_from_hf(c))
            tiny_llama.load_hf_state_dict(model, sd)
        else:
            cfg = Config(c['n_layer'], c['n_head'], c['n_embd'], c['n_positions'], c['vocab_size'], c['layer_norm_epsilon'])
            model = TinyGPT2(cfg)
            tiny_gpt2.load_hf_state_dict(model, sd)
    else:
        ck = torch.load(os.path.join(path, 'ckpt.pt'), weights_only=False)
        model = build_model(ck['config'])
        model.load_state_dict(ck['model'])
    return model.eval()


def perturb(model, rel, frac_bits=16, seed=0):
    """Fixed-point stress test: rounds every weight to a multiple of 2^-frac_bits and multiplies the output
    of every Linear and LayerNorm by (1 + rel·N(0, 1)) at run time. Returns the hook handles."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.round(p * 2 ** frac_bits) / 2 ** frac_bits)

    def hook(_mod, _inp, out):
        return out * (1 + rel * torch.randn(out.shape, generator=g, dtype=out.dtype))

    return [m.register_forward_hook(hook) for m in model.modules()
            if isinstance(m, (torch.nn.Linear, torch.nn.LayerNorm))]


@torch.no_grad()
def activation_ranges(model, tokens):
    """Largest magnitudes on one sequence: residual stream, attention scores, MLP pre-activation, logits
    (GPT-2; for Llama the logits only)."""
    if isinstance(model, TinyLlama):
        return {'logit': round(model(torch.tensor([tokens]))[0].abs().max().item(), 3)}
    r = {'residual': 0.0, 'attn_score': 0.0, 'mlp_pre': 0.0, 'logit': 0.0}
    x = torch.tensor([tokens])
    h = model.wte(x) + model.wpe(torch.arange(x.shape[1]))[None]
    for b in model.h:
        r['residual'] = max(r['residual'], h.abs().max().item())
        a = b.ln_1(h)
        q, k, _ = b.attn.c_attn(a).split(model.config.n_embd, dim=2)
        H, hd = model.config.n_head, model.config.n_embd // model.config.n_head
        q = q.view(1, -1, H, hd).transpose(1, 2)
        k = k.view(1, -1, H, hd).transpose(1, 2)
        r['attn_score'] = max(r['attn_score'], ((q @ k.transpose(-2, -1)) / math.sqrt(hd)).tril().abs().max().item())
        h = h + b.attn(a, fused=False)[0]
        r['mlp_pre'] = max(r['mlp_pre'], b.c_fc(b.ln_2(h)).abs().max().item())
        h = h + b.c_proj(torch.nn.functional.gelu(b.c_fc(b.ln_2(h)), approximate='tanh'))
    r['residual'] = max(r['residual'], h.abs().max().item())
    r['logit'] = (model.ln_f(h) @ model.wte.weight.T).abs().max().item()
    return {k: round(v, 3) for k, v in r.items()}


def wilson(k, n, z=1.96):
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


class Sparsity:
    """Accumulates per-layer attention statistics over decode steps."""

    def __init__(self, n_layer):
        self.sums = {k: [0.0] * n_layer for k in ('top10', 'top6', 'needle', 'needle_max_head')}
        self.steps = 0

    def add(self, probs, needle):
        # probs: per layer [1, H, 1, S] for one decode step.
        for l, p in enumerate(probs):
            p = p[0, :, -1, :].double()
            S = p.shape[-1]
            srt = p.sort(dim=-1, descending=True).values
            self.sums['top10'][l] += srt[:, :math.ceil(0.10 * S)].sum(-1).mean().item()
            self.sums['top6'][l] += srt[:, :math.ceil(0.06 * S)].sum(-1).mean().item()
            nm = p[:, needle[0]:needle[1]].sum(-1)
            self.sums['needle'][l] += nm.mean().item()
            self.sums['needle_max_head'][l] += nm.max().item()
        self.steps += 1

    def result(self):
        return {k: [round(v / max(1, self.steps), 4) for v in vs] for k, vs in self.sums.items()} | {'steps': self.steps}


@torch.no_grad()
def step(model, past, toks, stats=None, needle=None):
    """Feeds tokens; with `stats` (a list of Sparsity) records single-token decode steps."""
    # Prefill (no cache yet) may use the fused kernel: same maths, less memory and time.
    logits, past, probs = model(torch.tensor([toks]), past=past, want_probs=bool(stats), fused=past is None)
    if stats and len(toks) == 1:
        for st in stats:
            st.add(probs, needle)
    return logits[0, -1], past


@torch.no_grad()
def run_sample(model, tokens, sample, placement, max_answer, ends, stats=None):
    """Decoded answers (token lists, up to and including STOP) for every query of one sample.
    ends: the tokens that end an answer (STOP, EOT); stats: optional {'all': Sparsity, 'answer': Sparsity}
    (decode steps / answer-generation steps)."""
    P = model.config.n_positions
    q = sample['queries']
    needle = (sample['meta']['needleToken'], sample['meta']['needleToken'] + sample['meta']['needleTokens'])
    feed_stats = [stats['all']] if stats else None
    gen_stats = [stats['all'], stats['answer']] if stats else None
    logits, past = step(model, None, tokens[:q[0][0]])
    outs = []
    for i, (feed, a0, _, _) in enumerate(q):
        question = tokens[feed:a0]
        if placement == 'prompt' and i == 0:
            logits, past = step(model, past, question)
        else:
            for t in question:
                if past[0][0].shape[2] >= P:
                    break
                logits, past = step(model, past, [t], feed_stats, needle)
        out = []
        while True:
            t = int(logits.argmax())
            out.append(t)
            if t in ends or len(out) >= max_answer or past[0][0].shape[2] >= P:
                break
            logits, past = step(model, past, [t], gen_stats, needle)
        if i + 1 < len(q) and past[0][0].shape[2] < P:
            logits, past = step(model, past, [out[-1]], feed_stats, needle)  # the decoder feeds its last token
        outs.append(out)
    return outs


def answer_text(toks, ends):
    end = next((i for i, t in enumerate(toks) if t in ends), len(toks))
    return bytes(toks[:end]).decode('utf-8', errors='replace').strip()


def run_eval(a):
    torch.set_num_threads(a.threads)
    model = load_model(a.eval)
    if a.perturb:
        perturb(model, a.perturb)
    lengths = [int(x) for x in a.lengths.split(',')]
    tasks = a.tasks.split(',')
    results, sparsity, ranges = [], {}, {}
    tmp = tempfile.mkdtemp(prefix='tiny-model-eval-')
    for T in lengths:
        for ti, task in enumerate(tasks):
            out = os.path.join(tmp, f'{task}-{T}')
            shard = data.generate(out, T, a.n, 5_000_000 + 1000 * T + ti, task, 'stratified')
            head = shard['head']
            ends, max_answer = (head['stop'], head['eot']), head['maxAnswerTokens']
            ranges[f'{task}@{T}'] = activation_ranges(model, shard['tokens'][0].tolist())
            for placement in a.placements.split(','):
                stats = None
                if task == 'passkey' and placement == 'decode':
                    stats = {k: Sparsity(model.config.n_layer) for k in ('all', 'answer')}
                right = total = 0
                by_depth = [[0, 0] for _ in range(5)]
                t0 = time.time()
                for n, s in enumerate(shard['samples']):
                    toks = shard['tokens'][n].tolist()
                    outs = run_sample(model, toks, s, placement, max_answer, ends, stats)
                    for (_, _, _, ref), o in zip(s['queries'], outs):
                        ok = int(answer_text(o, ends) == ref.strip())
                        right += ok
                        total += 1
                        b = min(4, int(s['meta']['depth'] * 5))
                        by_depth[b][0] += ok
                        by_depth[b][1] += 1
                lo, hi = wilson(right, total)
                row = {'task': task, 'length': T, 'placement': placement, 'n': total, 'samples': len(shard['samples']),
                       'acc': round(right / total, 4), 'ci95': [round(lo, 4), round(hi, 4)],
                       'acc_by_depth_quintile': [round(r / max(1, c), 3) for r, c in by_depth],
                       'sec': round(time.time() - t0, 1)}
                results.append(row)
                print(json.dumps(row), flush=True)
                if stats is not None:
                    sparsity[str(T)] = {k: v.result() for k, v in stats.items()}
                    print('SPARSITY', T, json.dumps(sparsity[str(T)]), flush=True)
            data.remove(out)
    report = {'model': os.path.abspath(a.eval), 'n_per_cell': a.n, 'perturb': a.perturb, 'results': results,
              'attention_sparsity_passkey': sparsity, 'activation_max_abs': ranges,
              'command': f'python scripts/train/train_tiny_gpt2.py --eval {a.eval} --n {a.n} --lengths {a.lengths} --tasks {a.tasks}' + (f' --perturb {a.perturb}' if a.perturb else '')}
    print_table(results)
    if a.eval_out:
        with open(a.eval_out, 'w') as f:
            json.dump(report, f, indent=2)
    return report


def print_table(results):
    print(f'{"task":9} {"length":>6} {"placement":9} {"n":>5} {"acc":>6}  95% CI')
    for r in results:
        print(f'{r["task"]:9} {r["length"]:>6} {r["placement"]:9} {r["n"]:>5} {r["acc"]:>6.3f}  [{r["ci95"][0]:.3f}, {r["ci95"][1]:.3f}]')
