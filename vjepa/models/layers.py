"""Transformer building blocks shared by the encoder, the predictor and the attentive probe.

Parameter names (``qkv``, ``proj``, ``fc1``, ``norm1`` ...) match the official state dicts, so official weights
load by name.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from vjepa.models.rope import apply_rope

Rope = tuple[torch.Tensor, torch.Tensor]
"""Cosine and sine tables of :func:`vjepa.models.rope.rope_tables`, (1 or B, 1, N, 3c) each."""

ATTENTION_IMPLS = ("auto", "sdpa", "manual")
_SCORE_CHUNK_BYTES = 8 << 20  # bytes of attention scores computed at once by the manual implementation


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, impl: str = "auto") -> torch.Tensor:
    """Softmax attention with scale 1/sqrt(head_dim) and no mask.

    Args:
        q: (B, heads, Nq, hd); k, v: (B, heads, Nk, hd).
        impl: ``sdpa`` (fused kernel), ``manual`` (matmul + softmax, over chunks of query rows when the scores
            would exceed 8 MiB) or ``auto``: manual under bf16 autocast on CPU, where PyTorch's SDPA kernel is
            1.5-1.9x slower than plain matmuls (docs/cpu-performance.md), SDPA everywhere else.

    Returns:
        (B, heads, Nq, hd).
    """
    if impl == "auto":
        impl = "manual" if q.device.type == "cpu" and torch.is_autocast_enabled("cpu") else "sdpa"
    if impl == "sdpa":
        return F.scaled_dot_product_attention(q, k, v)
    B, H, Nq, _ = q.shape
    scale, kt = q.shape[-1] ** -0.5, k.transpose(-2, -1)
    # Query rows in chunks whose scores fit in cache: on the project CPU this makes a ViT-S/224 attention 1.7x
    # (forward) and 1.3x (forward + backward) faster than one (B, heads, 1568, 1568) score tensor. Each row's
    # softmax sees all keys, so the result is the same function.
    rows = max(64, _SCORE_CHUNK_BYTES // (B * H * k.shape[-2] * q.element_size()))
    if rows >= Nq:
        return ((q * scale) @ kt).softmax(dim=-1) @ v  # scores (B, heads, Nq, Nk)
    return torch.cat([((q[:, :, i : i + rows] * scale) @ kt).softmax(dim=-1) @ v for i in range(0, Nq, rows)], dim=2)


class Attention(nn.Module):
    """Multi-head self-attention; ``qkv`` rows are laid out [q of all heads | k | v]."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True, impl: str = "auto") -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"width {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.impl = impl
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, rope: Rope | None = None) -> torch.Tensor:
        """x: (B, N, D) -> (B, N, D); ``rope`` rotates queries and keys (V-JEPA 2), None adds nothing (V-JEPA 1)."""
        B, N, D = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, D // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, heads, N, hd)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        x = attention(q, k, v, self.impl)
        return self.proj(x.transpose(1, 2).reshape(B, N, D))


class Mlp(nn.Module):
    """fc1 -> exact (erf) GELU -> fc2."""

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x + Attn(LN(x)), then x + MLP(LN(x)). No layer-scale.

    ``drop_path`` (stochastic depth, set by fine-tuning; 0 in pretraining, as official) drops each residual branch
    per sample with that probability in training mode, scaling the kept ones by 1 / (1 − p)."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        norm_eps: float = 1e-6,
        attn_impl: str = "auto",
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = Attention(dim, num_heads, qkv_bias, attn_impl)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = 0.0  # a plain float, not in the state dict

    def forward(self, x: torch.Tensor, rope: Rope | None = None) -> torch.Tensor:
        if self.drop_path > 0 and self.training:
            x = x + stochastic_depth(self.attn(self.norm1(x), rope), self.drop_path)
            return x + stochastic_depth(self.mlp(self.norm2(x)), self.drop_path)
        x = x + self.attn(self.norm1(x), rope)
        return x + self.mlp(self.norm2(x))


def stochastic_depth(x: torch.Tensor, p: float) -> torch.Tensor:
    """Stochastic depth: zero each sample's (B, ...) branch with probability p, scale the rest by 1 / (1 − p)."""
    keep = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device).bernoulli_(1.0 - p)
    return x * keep.div_(1.0 - p).to(x.dtype)


def run_block(block: nn.Module, x: torch.Tensor, checkpointed: bool = False, rope: Rope | None = None
              ) -> torch.Tensor:
    """``block(x, rope)``; with ``checkpointed`` and gradients enabled, through activation checkpointing (the
    block's activations are recomputed in the backward pass instead of stored)."""
    if checkpointed and torch.is_grad_enabled():
        return checkpoint(block, x, rope, use_reentrant=False)
    return block(x, rope)


class CrossAttention(nn.Module):
    """Queries attend to a token sequence. ``kv`` rows are laid out [k | v].

    ``proj`` exists only so that official probe checkpoints load: the official module never applies it, and
    the released probe weights expect it not to be applied (spec §10.1), so neither do we.
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True, impl: str = "auto") -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"width {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.impl = impl
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)  # loaded, never applied (see class docstring)

    def forward(self, queries: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """queries: (B, Q, D); x: (B, N, D) -> (B, Q, D)."""
        B, Q, D = queries.shape
        N = x.shape[1]
        hd = D // self.num_heads
        q = self.q(queries).reshape(B, Q, self.num_heads, hd).transpose(1, 2)  # (B, heads, Q, hd)
        k, v = self.kv(x).reshape(B, N, 2, self.num_heads, hd).permute(2, 0, 3, 1, 4)  # each (B, heads, N, hd)
        out = attention(q, k, v, self.impl)
        return out.transpose(1, 2).reshape(B, Q, D)


class CrossAttentionBlock(nn.Module):
    """q + CrossAttn(q, LN(x)), then q + MLP(LN(q)). Only the key/value input is normalised, not the query."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        norm_eps: float = 1e-5,
        attn_impl: str = "auto",
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.xattn = CrossAttention(dim, num_heads, qkv_bias, attn_impl)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, queries: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        queries = queries + self.xattn(queries, self.norm1(x))
        return queries + self.mlp(self.norm2(queries))


def init_weights_(module: nn.Module, std: float = 0.02) -> None:
    """Official V-JEPA initialisation (net effect of init_video_model): N(0, std²) for Linear and Conv weights
    (truncated at ±2 absolute, i.e. effectively untruncated), zero biases, LayerNorm 1/0, no depth rescaling."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.Conv3d)):
            nn.init.trunc_normal_(m.weight, std=std, a=-2.0, b=2.0)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
