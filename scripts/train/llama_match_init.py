"""N-gram-match initialisation for the tiny Llama (`--arch llama --init match`): match_init.py's circuit
rebuilt for rotary positions and grouped-query attention. It finds the earlier place where the last ~10
tokens occurred and copies the token that followed, before training starts; the architecture stays
plain HF Llama.

Why a wired start: see match_init.py and README.md (random init sat on the plateau: a plain random-init
Llama run here, lr 2e-3, answered nothing at 256–512 tokens after 250 steps either).

What RoPE changes. There are no position embeddings: a head attends by offset only through q·R(t−s)·k.
With a constant q and k (from a constant residual dim) the score is Σ_i A_i cos(θ_i (t − s − k)) over
rotary pairs i, which peaks at offset k. RoPE's frequencies are geometric (θ_i = rope_theta^(−2i/hd)),
so only the first pairs tell neighbours apart; OFFSET_AMPS are the amplitudes on the pairs with
θ_i = 10^(−i/2), i = 0..7, that maximise the margin between the peak and every other offset up to 2,048
(a linear programme, solved once with scipy: margin 0.205 of the peak, which the gain turns into ~12
nats). Content matching needs the opposite, pairs that do not turn over 2,048 tokens. A first layout
with head_dim 32 (rope_theta 1e8: 8 pairs for offsets, 8 for content) gave 16-dim match codes, and
chance overlaps of prose bags scored as high as the true match (2,048 tokens: 67 % of answer tokens
right before training, the false peaks ~24 nats against ~23 for the needle). Hence head_dim 64 with
rope_theta 1e16: pairs 0–7 have the same frequencies as before, and pairs 16–31 (head dims 16–31 and
48–63) turn by less than 1e-4 rad over 2,048 tokens, room for 32-dim codes as in match_init.py.

Residual layout at init (d = 128, head_dim 64):
  [0, 32)   u(x): matching code, a random unit vector for letters and digits, 0 for everything else
  [32, 64)  w(x): copy code of every token (norm W_NORM), what the match head copies (tied unembedding)
  [64, 96)  the bag: sum over offsets k = 1..9 of R^k u(x_{t−k}), R a random 32×32 rotation
  96        a constant (CONST) in every token: drives the offset heads' q and k
  97        1 for tokens without a matching code, so every embedding row has the same norm
            (RMSNorm then divides every position by the same amount)
  [98, 128) zero (free for the rest of the network)
Layer 0, heads 0–3 (both key/value heads: k constant, v = u): offsets 1–4; o_proj writes R^k·v
  into the bag. Layer 1, head 0 (key/value head 0: k constant, v = u + bag): offset 5, o_proj R^5
  into the bag, so it spans offsets 1–9. Layer 2, head 0: q = u + bag (content pairs), key/value head
  0: k = R^−1 bag, v = w; o_proj copies into w. Query heads 1 of layers 1 and 2 share the wired
  key/value head and keep their own q and o_proj. Gains come from the RMS measured on sample sequences.
"""
import math

import torch

from tiny_llama import TinyLlama

ALNUM = [ord(ch) for ch in 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ']
OFFSET_AMPS = [0.432, 0.123, 0.136, 0.084, 0.079, 0.059, 0.088, 0.0]  # pairs 0–7, θ_i = 10^(−i/2) (LP above)
OFFSET_GAIN = 60.0   # peak score (nats) of an offset head; × margin 0.205 ≈ 12 nats over any other offset
CONST = 4.0          # the constant dim: dominates each position's RMS, so offset scores vary little
W_NORM = 1.1         # copy code norm (match_init: ~1.1 over 32 dims)
BAG_TERM = 1.0
MATCH_GAIN = 6.0     # q and k scale of the match head: 36/√64 = 4.5 nats per agreeing token
COPY_GAIN = 30.0     # value scale into the copy code (as match_init)
CODE = 32
U, W, BAG, C, PAD = slice(0, 32), slice(32, 64), slice(64, 96), 96, 97
HD = 64
CONTENT = list(range(16, 32)) + list(range(48, 64))  # head dims of rotary pairs 16–31


def offset_margin(theta, hd=HD, span=2048):
    """1 − the largest score at a wrong offset, relative to the peak (what OFFSET_AMPS were chosen for)."""
    th = theta ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)[:len(OFFSET_AMPS)]
    d = torch.arange(-9, span, dtype=torch.float64)
    f = torch.cos(d[:, None] * th[None]) @ torch.tensor(OFFSET_AMPS, dtype=torch.float64)
    return float(1 - f[d != 0].max() / f[d == 0][0])


def _offset_qk(theta, k, hd=HD):
    """The wired (q, k) head vectors of an offset-k head before the gain: k real, q turned by −kθ_i."""
    th = theta ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    amp = torch.zeros(hd // 2, dtype=torch.float64)
    amp[:len(OFFSET_AMPS)] = torch.tensor(OFFSET_AMPS, dtype=torch.float64).sqrt()
    kv = torch.cat([amp, torch.zeros(hd // 2, dtype=torch.float64)])
    q = torch.cat([amp * torch.cos(k * th), -amp * torch.sin(k * th)])
    return q, kv


@torch.no_grad()
def _rms(model, layer, tokens):
    """Mean RMS of the residual entering `layer` (what its input RMSNorm divides by)."""
    from tiny_llama import rope_cos_sin
    x = model.embed_tokens(tokens)
    cos, sin = rope_cos_sin(model.config, torch.arange(tokens.shape[1]), x.dtype)
    for i in range(layer):
        x, _, _ = model.h[i](x, cos, sin)
    return x.pow(2).mean(-1).sqrt().mean().item()


def _wire_offset(a, hd, head, kv_head, k, theta, s, set_k=True):
    """Query head `head` attends at offset k (key/value head `kv_head` gets the constant key)."""
    q, kk = _offset_qk(theta, k, hd)
    g = math.sqrt(OFFSET_GAIN * math.sqrt(hd))  # q·k/√hd = OFFSET_GAIN at the peak (Σ amps = 1)
    a.q_proj.weight[head * hd:(head + 1) * hd] = 0
    a.q_proj.weight[head * hd:(head + 1) * hd, C] = (g * s / CONST * q).float()
    if set_k:
        a.k_proj.weight[kv_head * hd:(kv_head + 1) * hd] = 0
        a.k_proj.weight[kv_head * hd:(kv_head + 1) * hd, C] = (g * s / CONST * kk).float()


@torch.no_grad()
def llama_match_init(model: TinyLlama, tokens, seed=0):
    """`tokens`: [B, T] sample sequences (for the RMS gains)."""
    c = model.config
    hd = c.head_dim
    assert (c.n_embd, c.n_head, c.n_kv_head, hd) == (128, 4, 2, HD) and c.n_layer >= 3, 'laid out for d 128, 4/2 heads of 64'
    assert c.rope_theta == 1e16, 'the offset amplitudes are for θ_i = 10^(−i/2): rope_theta 1e16 at head_dim 64'
    assert offset_margin(c.rope_theta) > 0.2
    g = torch.Generator().manual_seed(seed)
    R = torch.linalg.qr(torch.randn(CODE, CODE, generator=g, dtype=torch.float64))[0]
    Rk = [torch.linalg.matrix_power(R, k) for k in range(10)]

    E = model.embed_tokens.weight
    E.zero_()
    codes = torch.randn(len(ALNUM), CODE, generator=g, dtype=torch.float64)
    E[ALNUM, U] = (codes / codes.norm(dim=1, keepdim=True)).float()
    w = torch.randn(c.vocab_size, 32, generator=g)
    E[:, W] = W_NORM * w / w.norm(dim=1, keepdim=True)
    E[:, C] = CONST
    E[[t for t in range(c.vocab_size) if t not in ALNUM], PAD] = 1.0

    # Layer 0: all four query heads at offsets 1–4; both key/value heads carry the constant key and v = u.
    s0 = _rms(model, 0, tokens)
    a0 = model.h[0].attn
    for kv in range(2):
        a0.v_proj.weight[kv * hd:(kv + 1) * hd] = 0
        a0.v_proj.weight[kv * hd:kv * hd + CODE, U] = BAG_TERM * s0 * torch.eye(CODE)
    a0.o_proj.weight.zero_()
    for h in range(4):
        _wire_offset(a0, hd, h, h // 2, h + 1, c.rope_theta, s0, set_k=(h % 2 == 0))
        a0.o_proj.weight[BAG, h * hd:h * hd + CODE] = Rk[h + 1].float()

    # Layer 1, head 0 on key/value head 0: offset 5, v = u + bag, written back rotated by R^5.
    s1 = _rms(model, 1, tokens)
    a1 = model.h[1].attn
    _wire_offset(a1, hd, 0, 0, 5, c.rope_theta, s1)
    a1.v_proj.weight[0:hd] = 0
    a1.v_proj.weight[0:CODE, U] = BAG_TERM * s1 * torch.eye(CODE)
    a1.v_proj.weight[0:CODE, BAG] = s1 * torch.eye(CODE)
    a1.o_proj.weight[:, 0:hd] = 0
    a1.o_proj.weight[BAG, 0:CODE] = Rk[5].float()

    # Layer 2, head 0 on key/value head 0: the match (content pairs only) and the copy.
    s2 = _rms(model, 2, tokens)
    a2 = model.h[2].attn
    a2.q_proj.weight[0:hd] = 0
    a2.k_proj.weight[0:hd] = 0
    a2.v_proj.weight[0:hd] = 0
    a2.q_proj.weight[CONTENT, U] = MATCH_GAIN * s2 * BAG_TERM * torch.eye(CODE)
    a2.q_proj.weight[CONTENT, BAG] = MATCH_GAIN * s2 * torch.eye(CODE)
    a2.k_proj.weight[CONTENT, BAG] = (MATCH_GAIN * s2 * R.T).float()
    a2.v_proj.weight[0:32, W] = COPY_GAIN * s2 / 5.0 * torch.eye(32)
    a2.o_proj.weight[:, 0:hd] = 0
    a2.o_proj.weight[W, 0:32] = torch.eye(32)
    return {'rms': [s0, s1, s2], 'offset_margin': offset_margin(c.rope_theta)}


def wired_slices(model: TinyLlama):
    """The attention weights the wiring sets, as (parameter, index) pairs, for --pin-wired (match_init.py
    says why: Adam's steps blur the small code weights)."""
    hd = model.config.head_dim
    a0 = model.h[0].attn
    out = [(p.weight, (slice(None),)) for p in (a0.q_proj, a0.k_proj, a0.v_proj, a0.o_proj)]
    for layer in (1, 2):
        a = model.h[layer].attn
        rows = (slice(0, hd),)
        out += [(a.q_proj.weight, rows), (a.k_proj.weight, rows), (a.v_proj.weight, rows),
                (a.o_proj.weight, (slice(None), slice(0, hd)))]
    return out
