"""The attentive probe of frozen evaluation: a learnable query cross-attends to the frozen tokens, then a linear
head classifies it. Numerically equal to the official ``AttentiveClassifier`` and loads its weights by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from vjepa.models.layers import Block, CrossAttentionBlock


@dataclass(frozen=True)
class ProbeConfig:
    embed_dim: int = 1024
    num_heads: int = 16
    """Official: the encoder's number of heads."""
    num_classes: int = 400
    depth: int = 1
    """1 cross-attention block, plus depth - 1 self-attention blocks over the queries."""
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    norm_eps: float = 1e-5
    """PyTorch's default eps, unlike the encoder's 1e-6 (official)."""
    num_queries: int = 1
    attention: str = "auto"


class AttentivePooler(nn.Module):
    """(B, N, D) tokens -> (B, Q, D) pooled queries."""

    def __init__(self, cfg: ProbeConfig) -> None:
        super().__init__()
        d = cfg.embed_dim
        self.query_tokens = nn.Parameter(torch.zeros(1, cfg.num_queries, d))
        self.cross_attention_block = CrossAttentionBlock(
            d, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps, cfg.attention
        )
        self.blocks = nn.ModuleList(
            Block(d, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps, cfg.attention)
            for _ in range(cfg.depth - 1)
        )
        self._init_weights()

    def _init_weights(self, std: float = 0.02) -> None:
        """Official probe init: trunc-normal weights, zero biases, then output layers scaled down with depth."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=std, a=-2.0, b=2.0)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.query_tokens, std=std, a=-2.0, b=2.0)
        with torch.no_grad():
            self.cross_attention_block.xattn.proj.weight.div_(math.sqrt(2.0))
            self.cross_attention_block.mlp.fc2.weight.div_(math.sqrt(2.0))
            for j, block in enumerate(self.blocks, start=1):
                block.attn.proj.weight.div_(math.sqrt(2.0 * (j + 1)))
                block.mlp.fc2.weight.div_(math.sqrt(2.0 * (j + 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.query_tokens.expand(x.shape[0], -1, -1)  # (B, Q, D)
        q = self.cross_attention_block(q, x)
        for block in self.blocks:
            q = block(q)
        return q


class AttentiveClassifier(nn.Module):
    """Attentive pooler with one query, then ``linear``: (B, N, D) -> (B, num_classes) logits."""

    def __init__(self, cfg: ProbeConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.pooler = AttentivePooler(cfg)
        self.linear = nn.Linear(cfg.embed_dim, cfg.num_classes)
        nn.init.trunc_normal_(self.linear.weight, std=0.02, a=-2.0, b=2.0)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.pooler(x)[:, 0])
