"""Induction-circuit initialisation: wires head 0 of layer 0 as a previous-token head and head 0 of
layer 1 as an induction head before training starts; everything else keeps GPT-2's random init.

Why: on this CPU budget a randomly initialised model sat on the classic induction plateau (no copying at
all after ~1,000 steps on copy data, §README); every retrieval task needs exactly this circuit, and
training moves on from it (nothing is frozen). The architecture and the trained weights stay plain
GPT-2.

Residual layout at init (d = 128): token embedding in [0, d/2), previous-token slot in [d/2, 3d/4),
position in [3d/4, d) as 16 sin/cos pairs with frequencies 0.3..3.1 rad/token, where a fixed rotation
maps position t to t − 1 (so q·k peaks at the previous key; sidelobes ≤ 8.7 of 16 up to 2,048 back).
"""
import math

import torch

from tiny_gpt2 import TinyGPT2

# Gains chosen so that after each LayerNorm the wired scores have margins of ~10 nats (see README).
POS_GAIN = 1.5    # previous-token head: q/k scale
PREV_GAIN = 0.28   # previous-token head: value scale into the residual slot
IND_GAIN = 2.5     # induction head: q/k scale
COPY_GAIN = 1.0    # induction head: value scale back into the token space
TOK_STD = 0.1 * math.sqrt(2)  # token rows: norm ~1.1 in their 64 dims, as reset_parameters' wte
POS_NORM = 2.0     # position rows, as reset_parameters' wpe


def frequencies(n):
    f = torch.arange(n, dtype=torch.float64)
    return 0.3 + (3.1 - 0.3) * f / (n - 1) + 0.013 * torch.sin(f * 7.3)


@torch.no_grad()
def sinusoid_positions(model: TinyGPT2, pos: slice, hd: int):
    """Writes hd/2 sin/cos pairs at `frequencies` into wpe's `pos` dims (the rest 0, rows of norm
    POS_NORM) and returns the float64 [hd, hd] rotation that maps position t's pairs to t − 1's."""
    w = frequencies(hd // 2)
    p = torch.arange(model.config.n_positions, dtype=torch.float64)[:, None]
    pe = torch.zeros(model.config.n_positions, hd, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(p * w), torch.cos(p * w)
    model.wpe.weight.zero_()
    model.wpe.weight[:, pos] = (pe * POS_NORM / pe[0].norm()).float()
    rot = torch.zeros(hd, hd, dtype=torch.float64)
    for i, om in enumerate(w.tolist()):
        cs, sn = math.cos(om), math.sin(om)
        rot[2 * i:2 * i + 2, 2 * i:2 * i + 2] = torch.tensor([[cs, -sn], [sn, cs]], dtype=torch.float64)
    return rot


@torch.no_grad()
def induction_init(model: TinyGPT2, seed=0):
    c = model.config
    d, H = c.n_embd, c.n_head
    hd = d // H
    tok, prev, pos = slice(0, d // 2), slice(d // 2, 3 * d // 4), slice(3 * d // 4, d)
    assert hd == d // 4, 'the wiring needs head_dim = n_embd / 4'
    g = torch.Generator().manual_seed(seed)
    # Orthonormal rows: a 32-dim fingerprint of each token, shared by value and query projections.
    P = torch.linalg.qr(torch.randn(d // 2, d // 2, generator=g, dtype=torch.float64))[0][:hd].float()

    model.wte.weight.normal_(0, TOK_STD, generator=g)
    model.wte.weight[:, d // 2:] = 0
    rot = sinusoid_positions(model, pos, hd)

    q, k, v = slice(0, hd), slice(d, d + hd), slice(2 * d, 2 * d + hd)  # head 0 rows of c_attn
    # Layer 0, head 0: previous-token head.
    a0 = model.h[0].attn
    for rows in (q, k, v):
        a0.c_attn.weight[rows] = 0
        a0.c_attn.bias[rows] = 0
    a0.c_attn.weight[q, pos] = POS_GAIN * rot.float()
    a0.c_attn.weight[k, pos] = POS_GAIN * torch.eye(hd)
    a0.c_attn.weight[v, tok] = PREV_GAIN * P
    a0.c_proj.weight[:, 0:hd] = 0
    a0.c_proj.weight[prev, 0:hd] = torch.eye(hd)
    # Layer 1, head 0: induction head (query: my token; key: the key's previous token; value: its token).
    a1 = model.h[1].attn
    for rows in (q, k, v):
        a1.c_attn.weight[rows] = 0
        a1.c_attn.bias[rows] = 0
    a1.c_attn.weight[q, tok] = IND_GAIN * P
    a1.c_attn.weight[k, prev] = IND_GAIN * torch.eye(hd)
    a1.c_attn.weight[v, tok] = COPY_GAIN * P
    a1.c_proj.weight[:, 0:hd] = 0
    a1.c_proj.weight[tok, 0:hd] = P.T
