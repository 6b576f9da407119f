"""N-gram-match initialisation (`--init match`): wires a circuit that finds the earlier place where the
last ~10 tokens occurred and copies the token that followed, before training starts. Everything else
keeps GPT-2's random init and nothing is frozen; the architecture stays plain GPT-2.

Why: multi-key needle-in-a-haystack asks "... for KEY is:" where four needles read "... for KEY' is:
VALUE". A one-token induction head (induction_init.py) matches every needle on " is:"; the key letters
are 4–10 tokens back. The model trained from that start learned key matching at 256 tokens but not at
1,024 and beyond (issue #4's notes), so this start wires the longer match directly.

Residual layout at init (d = 128, head_dim 32):
  [0, 32)   u(x): a matching code, a random unit vector for letters and digits, 0 for everything else
            (spaces and punctuation would make every needle look alike)
  [32, 64)  w(x): a random code for every token, what the match head copies (tied unembedding reads it)
  [64, 96)  the bag: sum over offsets k = 1..9 of R^k u(x_{t-k}), R a random rotation, so offsets stay
            apart and bag·bag counts tokens that agree at the same offset
  [96, 128) position: 16 sin/cos pairs (frequencies 0.3..3.1 rad/token) where rot^k maps t to t − k
Layer 0, heads 0–3: attend at offsets 1–4 (rot^k on the query) and write R^k u into the bag.
Layer 1, head 0: attends at offset 5 and adds R^5 (u + bag) there: offsets 5–9.
Layer 2, head 0: query u(x_t) + bag(t), key R^-1 bag(s) = the bag of s − 1 in the query's frame, value
  w(x_s): at the end of "for KEY is:" it attends to the needle whose "KEY is:" precedes, and copies.
Gains are set from the LayerNorm scales measured on sample sequences, so each stage has the intended size.
"""

import torch

from induction_init import sinusoid_positions
from tiny_gpt2 import TinyGPT2

ALNUM = [ord(ch) for ch in 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789']
W_STD = 0.2        # copy code: norm ~1.1 over 32 dims
POS_GAIN = 1.5     # offset heads: q/k scale, as induction_init's previous-token head (at layer 0's scale)
BAG_TERM = 1.0     # size of each R^k u term in the bag
MATCH_GAIN = 5.0   # match head: q/k scale (≈ 4.4 nats per agreeing token)
COPY_GAIN = 30.0   # match head: value scale into the copy code (measured: 6 copies ~30 % of digits, 15 ~90 %, 30 ~98 %)


def _heads(a, h, hd):
    d = a.c_attn.weight.shape[1]
    return [slice(j * d + h * hd, j * d + (h + 1) * hd) for j in range(3)]


@torch.no_grad()
def _ln_std(model, layer, tokens):
    """Mean per-position std of the residual entering `layer` (what ln_1 divides by)."""
    x = model.wte(tokens) + model.wpe(torch.arange(tokens.shape[1]))[None]
    for i in range(layer):
        x, _, _ = model.h[i](x)
    return x.std(dim=-1, unbiased=False).mean().item()


def _wire_offset(a, h, hd, k, rot, pos, gain):
    q, kk, v = _heads(a, h, hd)
    for rows in (q, kk, v):
        a.c_attn.weight[rows] = 0
        a.c_attn.bias[rows] = 0
    a.c_attn.weight[q, pos] = gain * torch.linalg.matrix_power(rot, k).float()
    a.c_attn.weight[kk, pos] = gain * torch.eye(hd)
    return v


@torch.no_grad()
def match_init(model: TinyGPT2, tokens, seed=0):
    """`tokens`: [B, T] sample sequences (for the LayerNorm scales)."""
    c = model.config
    d, H = c.n_embd, c.n_head
    hd = d // H
    assert d == 128 and H == 4 and c.n_layer >= 3, 'the wiring is laid out for d = 128, 4 heads, >= 3 layers'
    u, w, bag, pos = slice(0, 32), slice(32, 64), slice(64, 96), slice(96, 128)
    g = torch.Generator().manual_seed(seed)
    R = torch.linalg.qr(torch.randn(hd, hd, generator=g, dtype=torch.float64))[0]

    model.wte.weight.zero_()
    codes = torch.randn(len(ALNUM), hd, generator=g, dtype=torch.float64)
    model.wte.weight[ALNUM, u] = (codes / codes.norm(dim=1, keepdim=True)).float()
    model.wte.weight[:, w] = W_STD * torch.randn(c.vocab_size, hd, generator=g)
    rot = sinusoid_positions(model, pos, hd)

    # Layer 0: offsets 1..4 into the bag. Each head's output lands in the bag dims; other heads' c_proj
    # columns are left random (small).
    s0 = _ln_std(model, 0, tokens)
    a0 = model.h[0].attn
    for h in range(4):
        v = _wire_offset(a0, h, hd, h + 1, rot, pos, POS_GAIN)
        a0.c_attn.weight[v, u] = (BAG_TERM * s0 * torch.linalg.matrix_power(R, h + 1)).float()
        a0.c_proj.weight[:, h * hd:(h + 1) * hd] = 0
        a0.c_proj.weight[bag, h * hd:(h + 1) * hd] = torch.eye(hd)
    a0.c_proj.bias.zero_()

    # Layer 1, head 0: offset 5, copies R^5 (u + bag): the bag now spans offsets 1..9.
    s1 = _ln_std(model, 1, tokens)
    a1 = model.h[1].attn
    v = _wire_offset(a1, 0, hd, 5, rot, pos, POS_GAIN * s1 / s0)
    R5 = torch.linalg.matrix_power(R, 5)
    a1.c_attn.weight[v, u] = (BAG_TERM * s1 * R5).float()
    a1.c_attn.weight[v, bag] = (s1 * R5).float()
    a1.c_proj.weight[:, 0:hd] = 0
    a1.c_proj.weight[bag, 0:hd] = torch.eye(hd)

    # Layer 2, head 0: the match.
    s2 = _ln_std(model, 2, tokens)
    a2 = model.h[2].attn
    q, k, v = _heads(a2, 0, hd)
    for rows in (q, k, v):
        a2.c_attn.weight[rows] = 0
        a2.c_attn.bias[rows] = 0
    a2.c_attn.weight[q, u] = MATCH_GAIN * s2 * BAG_TERM * torch.eye(hd)
    a2.c_attn.weight[q, bag] = MATCH_GAIN * s2 * torch.eye(hd)
    a2.c_attn.weight[k, bag] = (MATCH_GAIN * s2 * R.T).float()
    a2.c_attn.weight[v, w] = COPY_GAIN * s2 / 5.0 * torch.eye(hd)
    a2.c_proj.weight[:, 0:hd] = 0
    a2.c_proj.weight[w, 0:hd] = torch.eye(hd)
    return {'ln_std': [s0, s1, s2]}


def wired_slices(model: TinyGPT2):
    """The attention weights the wiring sets, as (parameter, index) pairs. Training with --pin-wired
    writes their wired values back after every optimizer step: Adam's per-weight steps are as large for
    the small bag-code weights as for any other, and in a probe run (200 steps at 256 tokens, lr 1e-3)
    they moved by ~55 % of their norm, blurring the match (first-digit accuracy 97 % → 75–84 %)."""
    hd = model.config.n_embd // model.config.n_head
    d = model.config.n_embd
    head0 = torch.cat([torch.arange(j * d, j * d + hd) for j in range(3)])
    out = []
    a0 = model.h[0].attn
    out += [(a0.c_attn.weight, (slice(None),)), (a0.c_attn.bias, (slice(None),)),
            (a0.c_proj.weight, (slice(None), slice(0, 4 * hd)))]
    for layer in (1, 2):
        a = model.h[layer].attn
        out += [(a.c_attn.weight, (head0,)), (a.c_attn.bias, (head0,)), (a.c_proj.weight, (slice(None), slice(0, hd)))]
    return out
