"""GPT-2 exactly as Hugging Face's GPT2Model/GPT2LMHeadModel computes it, small enough to train on a CPU.

Learned absolute positions, pre-LayerNorm (eps 1e-5), causal self-attention scaled by 1/sqrt(head_dim),
GeLU with the tanh approximation ("gelu_new"), MLP width 4d, final ln_f, biases everywhere, output
projection tied to wte. Linear layers keep torch's [out, in] layout internally; `hf_state_dict`
transposes them into GPT-2's Conv1D [in, out] layout for export.

Two attention paths: fused scaled_dot_product_attention for training, and an explicit one (optionally
returning the attention probabilities) with a KV cache for evaluation, fixtures and sparsity statistics.
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    n_positions: int = 2048
    vocab_size: int = 257
    layer_norm_epsilon: float = 1e-5

    def to_dict(self):
        return asdict(self)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head, self.d = c.n_head, c.n_embd
        self.c_attn = nn.Linear(c.n_embd, 3 * c.n_embd)
        self.c_proj = nn.Linear(c.n_embd, c.n_embd)

    def forward(self, x, past=None, want_probs=False, fused=True):
        B, T, _ = x.shape
        hd = self.d // self.n_head
        q, k, v = self.c_attn(x).split(self.d, dim=2)
        q, k, v = (t.view(B, T, self.n_head, hd).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        probs = None
        if fused and past is None and not want_probs:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            S = k.shape[2]
            att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
            # Query t (absolute position S - T + t) sees keys 0 .. S - T + t.
            mask = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(diagonal=S - T)
            att = att.masked_fill(~mask, float('-inf'))
            probs = F.softmax(att, dim=-1)
            y = probs @ v
        y = y.transpose(1, 2).contiguous().view(B, T, self.d)
        return self.c_proj(y), (k, v), probs


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c.n_embd, eps=c.layer_norm_epsilon)
        self.attn = Attention(c)
        self.ln_2 = nn.LayerNorm(c.n_embd, eps=c.layer_norm_epsilon)
        self.c_fc = nn.Linear(c.n_embd, 4 * c.n_embd)
        self.c_proj = nn.Linear(4 * c.n_embd, c.n_embd)

    def forward(self, x, past=None, want_probs=False, fused=True):
        a, kv, probs = self.attn(self.ln_1(x), past, want_probs, fused)
        x = x + a
        x = x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))
        return x, kv, probs


class TinyGPT2(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.config = c
        self.wte = nn.Embedding(c.vocab_size, c.n_embd)
        self.wpe = nn.Embedding(c.n_positions, c.n_embd)
        self.h = nn.ModuleList([Block(c) for _ in range(c.n_layer)])
        self.ln_f = nn.LayerNorm(c.n_embd, eps=c.layer_norm_epsilon)
        self.reset_parameters()

    def reset_parameters(self, emb_std=0.1, pos_norm=2.0, ln_f_gain=2.0):
        """GPT-2's init, except the embeddings. Tied embeddings must grow until the logits have a useful
        scale; with GPT-2's std 0.02 for both wte and wpe, wte grew ~13x in a few hundred steps and after
        ln_1 the position signal all but vanished, so no head could attend by position (no previous-token
        head, no induction: the plateau seen in our first runs). Starting wte at std 0.1 and the positions
        at a comparable norm keeps position visible from the start."""
        c = self.config
        for name, p in self.named_parameters():
            if name.endswith('bias'):
                nn.init.zeros_(p)
            elif 'ln' in name:
                nn.init.ones_(p)
            elif name.endswith('c_proj.weight'):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * c.n_layer))  # GPT-2's residual scaling
            elif name == 'wte.weight':
                nn.init.normal_(p, std=emb_std)
            else:
                nn.init.normal_(p, std=0.02)
        # Sinusoidal start for the learned positions: a linear map of them gives relative offsets, which
        # the previous-token and induction heads need, and positions not yet reached by the length
        # curriculum still start with that structure.
        pos = torch.arange(c.n_positions, dtype=torch.float32)[:, None]
        freq = torch.exp(-math.log(10000.0) * torch.arange(0, c.n_embd, 2, dtype=torch.float32) / c.n_embd)
        pe = torch.zeros(c.n_positions, c.n_embd)
        pe[:, 0::2] = torch.sin(pos * freq)
        pe[:, 1::2] = torch.cos(pos * freq)
        with torch.no_grad():
            self.wpe.weight.copy_(pe * pos_norm / pe[0].norm())
            self.ln_f.weight.fill_(ln_f_gain)  # logit scale from the final gain rather than from growing wte

    def forward(self, idx, pos_offset=0, past=None, want_probs=False, fused=True):
        """idx [B, T] → logits [B, T, V], new past (list of (k, v) per layer), probs per layer or None."""
        T = idx.shape[1]
        start = past[0][0].shape[2] if past is not None else 0
        pos = torch.arange(start + pos_offset, start + pos_offset + T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)[None]
        presents, all_probs = [], []
        for i, block in enumerate(self.h):
            x, kv, probs = block(x, None if past is None else past[i], want_probs, fused)
            presents.append(kv)
            all_probs.append(probs)
        x = self.ln_f(x)
        logits = x @ self.wte.weight.T
        return logits, presents, (all_probs if want_probs else None)

    def param_groups(self, weight_decay):
        # No decay on wpe: until some head uses positions nothing holds them up, and decayed positions
        # fade out of ln_1's input (see reset_parameters).
        decay = [p for n, p in self.named_parameters() if p.dim() >= 2 and n != 'wpe.weight']
        no_decay = [p for n, p in self.named_parameters() if p.dim() < 2 or n == 'wpe.weight']
        return [{'params': decay, 'weight_decay': weight_decay}, {'params': no_decay, 'weight_decay': 0.0}]


def hf_state_dict(model: TinyGPT2):
    """Tensors under Hugging Face GPT2Model names, Conv1D weights as [in, out], float32, contiguous."""
    out = {'wte.weight': model.wte.weight, 'wpe.weight': model.wpe.weight}
    for i, b in enumerate(model.h):
        p = f'h.{i}.'
        out[p + 'ln_1.weight'], out[p + 'ln_1.bias'] = b.ln_1.weight, b.ln_1.bias
        out[p + 'attn.c_attn.weight'], out[p + 'attn.c_attn.bias'] = b.attn.c_attn.weight.T, b.attn.c_attn.bias
        out[p + 'attn.c_proj.weight'], out[p + 'attn.c_proj.bias'] = b.attn.c_proj.weight.T, b.attn.c_proj.bias
        out[p + 'ln_2.weight'], out[p + 'ln_2.bias'] = b.ln_2.weight, b.ln_2.bias
        out[p + 'mlp.c_fc.weight'], out[p + 'mlp.c_fc.bias'] = b.c_fc.weight.T, b.c_fc.bias
        out[p + 'mlp.c_proj.weight'], out[p + 'mlp.c_proj.bias'] = b.c_proj.weight.T, b.c_proj.bias
    out['ln_f.weight'], out['ln_f.bias'] = model.ln_f.weight, model.ln_f.bias
    return {k: v.detach().to(torch.float32).contiguous().clone() for k, v in out.items()}


def load_hf_state_dict(model: TinyGPT2, sd):
    """Inverse of hf_state_dict (used by --eval on an exported model.safetensors)."""
    own = {}
    for k, v in sd.items():
        name = k.replace('.mlp.', '.')
        if k.endswith('c_attn.weight') or k.endswith('c_proj.weight') or k.endswith('c_fc.weight'):
            v = v.T
        own[name] = v
    model.load_state_dict(own, strict=True)
