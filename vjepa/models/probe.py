"""The attentive probe of frozen evaluation: a learnable query cross-attends to the frozen tokens, then a linear
head classifies it. Numerically equal to the official ``AttentiveClassifier`` and loads its weights by name.

Two variants share one set of parameter names (``pooler.blocks.i.*``, ``pooler.cross_attention_block.*``,
``linear.*``) and differ in where the ``depth - 1`` self-attention blocks run:

* ``vjepa1`` (facebookresearch/jepa): cross-attention first, then the blocks over the pooled queries; depth 1.
* ``vjepa2`` (facebookresearch/vjepa2 ``src/models/attentive_pooler.py``): the blocks over the frozen tokens
  first, then the cross-attention; depth 4 (``num_probe_blocks: 4``) in the V-JEPA 2 frozen evals. This is also
  the pooler of transformers' ``VJEPA2ForVideoClassification`` (``num_pooler_layers = depth - 1``).

With depth 1 the two are the same function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from vjepa.models.layers import Block, CrossAttentionBlock

VARIANTS = ("vjepa1", "vjepa2")


@dataclass(frozen=True)
class ProbeConfig:
    embed_dim: int = 1024
    num_heads: int = 16
    """Official: the encoder's number of heads."""
    num_classes: int = 400
    depth: int = 1
    """1 cross-attention block, plus depth - 1 self-attention blocks (over the queries or the tokens: ``variant``)."""
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    norm_eps: float = 1e-5
    """PyTorch's default eps, unlike the encoder's 1e-6 (official)."""
    num_queries: int = 1
    attention: str = "auto"
    variant: str = "vjepa1"
    """``vjepa1``: self-attention blocks after the cross-attention, over the queries; ``vjepa2``: before it, over
    the tokens (see the module docstring)."""

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"probe variant {self.variant!r}: use one of {', '.join(VARIANTS)}")

VJEPA2_PROBE_DEPTH = 4
"""``num_probe_blocks`` of the V-JEPA 2 frozen evals (configs/eval/vitl/*.yaml): 3 self-attention blocks + the
cross-attention block."""


def vjepa2_probe_config(embed_dim: int, num_heads: int, num_classes: int, **overrides: object) -> ProbeConfig:
    """The V-JEPA 2 frozen-eval probe: 4 blocks, 1 query, the encoder's heads (16 for ViT-L/H/g)."""
    return ProbeConfig(**{"embed_dim": embed_dim, "num_heads": num_heads, "num_classes": num_classes,
                          "depth": VJEPA2_PROBE_DEPTH, "variant": "vjepa2", **overrides})


class AttentivePooler(nn.Module):
    """(B, N, D) tokens -> (B, Q, D) pooled queries."""

    def __init__(self, cfg: ProbeConfig) -> None:
        super().__init__()
        self.tokens_first = cfg.variant == "vjepa2"
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
        """Official probe init: trunc-normal weights, zero biases, then output layers scaled down with depth
        (V-JEPA 1: the cross-attention block first; V-JEPA 2: the blocks first, the cross-attention MLP last)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=std, a=-2.0, b=2.0)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.query_tokens, std=std, a=-2.0, b=2.0)
        with torch.no_grad():
            if self.tokens_first:
                for j, block in enumerate(self.blocks, start=1):
                    block.attn.proj.weight.div_(math.sqrt(2.0 * j))
                    block.mlp.fc2.weight.div_(math.sqrt(2.0 * j))
                self.cross_attention_block.mlp.fc2.weight.div_(math.sqrt(2.0 * max(len(self.blocks), 1)))
                return
            self.cross_attention_block.xattn.proj.weight.div_(math.sqrt(2.0))
            self.cross_attention_block.mlp.fc2.weight.div_(math.sqrt(2.0))
            for j, block in enumerate(self.blocks, start=1):
                block.attn.proj.weight.div_(math.sqrt(2.0 * (j + 1)))
                block.mlp.fc2.weight.div_(math.sqrt(2.0 * (j + 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.query_tokens.expand(x.shape[0], -1, -1)  # (B, Q, D)
        if self.tokens_first:  # V-JEPA 2: (B, N, D) tokens through the blocks, then pooled
            for block in self.blocks:
                x = block(x)
            return self.cross_attention_block(q, x)
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
