"""A Llama exactly as Hugging Face's LlamaModel/LlamaForCausalLM computes it, small enough to train on a CPU.

RMSNorm (weight only, eps from the config, computed in float32 as HF does), rotary position embeddings
with `rope_theta` on the whole head (HF's rotate_half pairing: dim i with dim i + hd/2), grouped-query
attention (key/value head g serves query heads g·H/G .. (g+1)·H/G − 1, HF's repeat_kv), SwiGLU MLP
(down(silu(gate(x)) · up(x))), no biases anywhere, output projection tied to embed_tokens. Linear layers
have torch's [out, in] layout, which is also HF Llama's, so export only renames.

Same calling convention as tiny_gpt2.TinyGPT2 (forward(idx, pos_offset, past, want_probs, fused) →
logits, presents, probs), so the trainer, evaluate.py and export.py take either.
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class LlamaConfig:
    arch: str = 'llama'
    n_layer: int = 4
    n_head: int = 4
    n_kv_head: int = 2
    n_embd: int = 128
    head_dim: int = 32
    n_inner: int = 352
    n_positions: int = 2048
    vocab_size: int = 257
    rope_theta: float = 500000.0
    rms_norm_eps: float = 1e-5

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        h = x.to(torch.float32) if dtype != torch.float64 else x
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dtype)


def rope_cos_sin(c: LlamaConfig, positions, dtype):
    hd = c.head_dim
    inv_freq = 1.0 / (c.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.int64).to(torch.float64) / hd))
    freqs = positions.to(torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.H, self.G, self.hd = c.n_head, c.n_kv_head, c.head_dim
        self.q_proj = nn.Linear(c.n_embd, self.H * self.hd, bias=False)
        self.k_proj = nn.Linear(c.n_embd, self.G * self.hd, bias=False)
        self.v_proj = nn.Linear(c.n_embd, self.G * self.hd, bias=False)
        self.o_proj = nn.Linear(self.H * self.hd, c.n_embd, bias=False)

    def forward(self, x, cos, sin, past=None, want_probs=False, fused=True):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.H, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.G, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.G, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        kr = k.repeat_interleave(self.H // self.G, dim=1)
        vr = v.repeat_interleave(self.H // self.G, dim=1)
        probs = None
        if fused and past is None and not want_probs:
            y = F.scaled_dot_product_attention(q, kr, vr, is_causal=True)
        else:
            S = k.shape[2]
            att = (q @ kr.transpose(-2, -1)) / math.sqrt(self.hd)
            mask = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(diagonal=S - T)
            att = att.masked_fill(~mask, float('-inf'))
            probs = F.softmax(att, dim=-1)
            y = probs @ vr
        y = y.transpose(1, 2).contiguous().view(B, T, self.H * self.hd)
        return self.o_proj(y), (k, v), probs


class Block(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(c.n_embd, c.rms_norm_eps)
        self.attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.n_embd, c.rms_norm_eps)
        self.gate_proj = nn.Linear(c.n_embd, c.n_inner, bias=False)
        self.up_proj = nn.Linear(c.n_embd, c.n_inner, bias=False)
        self.down_proj = nn.Linear(c.n_inner, c.n_embd, bias=False)

    def forward(self, x, cos, sin, past=None, want_probs=False, fused=True):
        a, kv, probs = self.attn(self.input_layernorm(x), cos, sin, past, want_probs, fused)
        x = x + a
        h = self.post_attention_layernorm(x)
        x = x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))
        return x, kv, probs


class TinyLlama(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        assert c.n_head % c.n_kv_head == 0 and c.head_dim % 2 == 0
        self.config = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.n_embd)
        self.h = nn.ModuleList([Block(c) for _ in range(c.n_layer)])
        self.norm = RMSNorm(c.n_embd, c.rms_norm_eps)
        self.reset_parameters()

    def reset_parameters(self, emb_std=0.1, norm_gain=2.0):
        """HF Llama's init (normal, std 0.02) with GPT-2's residual scaling on o_proj and down_proj, and
        the same embedding fix as tiny_gpt2 (tied embeddings start at std 0.1, the final norm's gain at 2,
        so the logits get their scale without wte growing first). Positions live only in RoPE here, so
        nothing can drown them."""
        n = self.config.n_layer
        for name, p in self.named_parameters():
            if name.endswith('layernorm.weight') or name == 'norm.weight':
                nn.init.ones_(p)
            elif name.endswith('o_proj.weight') or name.endswith('down_proj.weight'):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * n))
            elif name == 'embed_tokens.weight':
                nn.init.normal_(p, std=emb_std)
            else:
                nn.init.normal_(p, std=0.02)
        with torch.no_grad():
            self.norm.weight.fill_(norm_gain)

    def forward(self, idx, pos_offset=0, past=None, want_probs=False, fused=True):
        """idx [B, T] → logits [B, T, V], new past (list of (k, v) per layer, k rotated), probs or None."""
        T = idx.shape[1]
        start = past[0][0].shape[2] if past is not None else 0
        pos = torch.arange(start + pos_offset, start + pos_offset + T, device=idx.device)
        x = self.embed_tokens(idx)
        cos, sin = rope_cos_sin(self.config, pos, x.dtype)
        presents, all_probs = [], []
        for i, block in enumerate(self.h):
            x, kv, probs = block(x, cos, sin, None if past is None else past[i], want_probs, fused)
            presents.append(kv)
            all_probs.append(probs)
        x = self.norm(x)
        logits = x @ self.embed_tokens.weight.T
        return logits, presents, (all_probs if want_probs else None)

    def param_groups(self, weight_decay):
        decay = [p for _, p in self.named_parameters() if p.dim() >= 2]
        no_decay = [p for _, p in self.named_parameters() if p.dim() < 2]
        return [{'params': decay, 'weight_decay': weight_decay}, {'params': no_decay, 'weight_decay': 0.0}]


def hf_config(c: LlamaConfig):
    """config.json in Hugging Face Llama style, plus the project's byte tokenizer keys."""
    return {
        'model_type': 'llama', 'architectures': ['LlamaForCausalLM'],
        'num_hidden_layers': c.n_layer, 'hidden_size': c.n_embd, 'intermediate_size': c.n_inner,
        'num_attention_heads': c.n_head, 'num_key_value_heads': c.n_kv_head, 'head_dim': c.head_dim,
        'max_position_embeddings': c.n_positions, 'vocab_size': c.vocab_size,
        'rms_norm_eps': c.rms_norm_eps, 'rope_theta': c.rope_theta, 'rope_scaling': None,
        'hidden_act': 'silu', 'attention_bias': False, 'mlp_bias': False, 'pretraining_tp': 1,
        'tie_word_embeddings': True, 'bos_token_id': 256, 'eos_token_id': 256,
        'tokenizer': 'byte', 'eot_token_id': 256, 'torch_dtype': 'float32',
    }


def config_from_hf(c):
    return LlamaConfig(n_layer=c['num_hidden_layers'], n_head=c['num_attention_heads'],
                       n_kv_head=c.get('num_key_value_heads', c['num_attention_heads']), n_embd=c['hidden_size'],
                       head_dim=c.get('head_dim') or c['hidden_size'] // c['num_attention_heads'],
                       n_inner=c['intermediate_size'], n_positions=c['max_position_embeddings'],
                       vocab_size=c['vocab_size'], rope_theta=c['rope_theta'], rms_norm_eps=c['rms_norm_eps'])


def hf_state_dict(model: TinyLlama):
    """Tensors under Hugging Face LlamaForCausalLM names (no lm_head: tied), float32, contiguous."""
    out = {'model.embed_tokens.weight': model.embed_tokens.weight, 'model.norm.weight': model.norm.weight}
    for i, b in enumerate(model.h):
        p = f'model.layers.{i}.'
        out[p + 'input_layernorm.weight'] = b.input_layernorm.weight
        out[p + 'post_attention_layernorm.weight'] = b.post_attention_layernorm.weight
        for n in ('q_proj', 'k_proj', 'v_proj', 'o_proj'):
            out[p + f'self_attn.{n}.weight'] = getattr(b.attn, n).weight
        for n in ('gate_proj', 'up_proj', 'down_proj'):
            out[p + f'mlp.{n}.weight'] = getattr(b, n).weight
    return {k: v.detach().to(torch.float32).contiguous().clone() for k, v in out.items()}


def load_hf_state_dict(model: TinyLlama, sd):
    """Inverse of hf_state_dict."""
    own = {}
    for k, v in sd.items():
        name = k.removeprefix('model.').replace('layers.', 'h.').replace('self_attn.', 'attn.').replace('mlp.', '')
        own[name] = v
    model.load_state_dict(own, strict=True)
