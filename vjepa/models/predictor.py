"""The V-JEPA predictor: a narrow ViT that maps context features plus mask tokens at the target positions to
predictions of the target features. Numerically equal to the official ``VisionTransformerPredictor`` (V-JEPA 1
with sin-cos positions; V-JEPA 2 with ``use_rope``) and loads its weights by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from vjepa.masks.ops import gather_tokens
from vjepa.models.layers import Block, init_weights_, run_block
from vjepa.models.pos_embed import interpolate_3d, sincos_3d
from vjepa.models.rope import ROPE_LAYOUTS, rope_tables


@dataclass(frozen=True)
class PredictorConfig:
    embed_dim: int = 1024
    """Encoder width (input and output width of the predictor)."""
    predictor_embed_dim: int = 384
    depth: int = 12
    num_heads: int = 16
    """Official: the encoder's number of heads."""
    mlp_ratio: float = 4.0
    num_mask_tokens: int = 2
    """One learnable mask token per mask configuration."""
    zero_init_mask_tokens: bool = True
    grid: tuple[int, int, int] = (8, 14, 14)
    """Token grid (T', H', W') of the pretraining input."""
    qkv_bias: bool = True
    norm_eps: float = 1e-6
    uniform_power: bool = True
    attention: str = "auto"
    use_rope: bool = False
    """V-JEPA 2: 3-D RoPE in every block, tokens sorted by position; no sin-cos table."""
    rope_layout: str = "tiled"


class Predictor(nn.Module):
    def __init__(self, cfg: PredictorConfig) -> None:
        super().__init__()
        if cfg.rope_layout not in ROPE_LAYOUTS:
            raise ValueError(f"rope_layout {cfg.rope_layout!r}: use one of {', '.join(ROPE_LAYOUTS)}")
        self.cfg = cfg
        dp = cfg.predictor_embed_dim
        self.predictor_embed = nn.Linear(cfg.embed_dim, dp)
        self.mask_tokens = nn.ParameterList(nn.Parameter(torch.zeros(1, 1, dp)) for _ in range(cfg.num_mask_tokens))
        pos = None if cfg.use_rope else sincos_3d(dp, cfg.grid, cfg.uniform_power).unsqueeze(0)
        self.register_buffer("predictor_pos_embed", pos)
        self.predictor_blocks = nn.ModuleList(
            Block(dp, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps, cfg.attention) for _ in range(cfg.depth)
        )
        self.predictor_norm = nn.LayerNorm(dp, eps=cfg.norm_eps)
        self.predictor_proj = nn.Linear(dp, cfg.embed_dim)
        self.grad_checkpointing = False
        """As :attr:`VideoEncoder.grad_checkpointing`."""
        init_weights_(self)
        if not cfg.zero_init_mask_tokens:
            for token in self.mask_tokens:
                nn.init.trunc_normal_(token, std=0.02, a=-2.0, b=2.0)

    def forward(
        self,
        context: torch.Tensor,
        ctx_idx: torch.Tensor,
        tgt_idx: torch.Tensor,
        mask_index: int = 0,
        grid: tuple[int, int, int] | None = None,
    ) -> torch.Tensor:
        """Predict the target features of one mask configuration.

        Args:
            context: (B, K, D) encoder outputs at the context positions.
            ctx_idx: (B, K) int64 token indices of the context.
            tgt_idx: (B, M) int64 token indices to predict.
            mask_index: which mask token to use (mask configuration i uses token i mod num_mask_tokens).
            grid: token grid of the clip when it differs from the configured one (positions are interpolated).

        Returns:
            (B, M, D) predictions in the encoder's width.
        """
        if self.cfg.use_rope:
            return self._forward_rope(context, ctx_idx, tgt_idx, mask_index, grid or self.cfg.grid)
        pos = self.predictor_pos_embed
        if grid is not None and tuple(grid) != tuple(self.cfg.grid):
            pos = interpolate_3d(pos[0], self.cfg.grid, grid).unsqueeze(0)
        pos = pos.expand(context.shape[0], -1, -1)  # (B, N, Dp)
        x = self.predictor_embed(context) + gather_tokens(pos, ctx_idx)  # (B, K, Dp)
        token = self.mask_tokens[mask_index % len(self.mask_tokens)]  # (1, 1, Dp)
        queries = token + gather_tokens(pos, tgt_idx)  # (B, M, Dp)
        # Context first, then the queries: no re-ordering, positions come only from the sin-cos rows.
        x = torch.cat([x, queries], dim=1)
        for block in self.predictor_blocks:
            x = run_block(block, x, self.grad_checkpointing)
        x = self.predictor_norm(x[:, context.shape[1] :])  # only the queries: LayerNorm is per token
        return self.predictor_proj(x)

    def _forward_rope(self, context: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor, mask_index: int,
                      grid: tuple[int, int, int]) -> torch.Tensor:
        """V-JEPA 2: positions enter only through RoPE; tokens run sorted by position, as the official predictor."""
        num_ctx = context.shape[1]
        x = self.predictor_embed(context)  # (B, K, Dp)
        token = self.mask_tokens[mask_index % len(self.mask_tokens)]  # (1, 1, Dp)
        queries = token.expand(context.shape[0], tgt_idx.shape[1], -1)  # (B, M, Dp)
        x = torch.cat([x, queries.to(x.dtype)], dim=1)  # (B, K+M, Dp)
        pos = torch.cat([ctx_idx, tgt_idx], dim=1)  # (B, K+M)
        order = pos.argsort(dim=1)
        x, pos = gather_tokens(x, order), torch.gather(pos, 1, order)
        rope = rope_tables(pos, tuple(grid), self.cfg.predictor_embed_dim // self.cfg.num_heads, self.cfg.rope_layout)
        for block in self.predictor_blocks:
            x = run_block(block, x, self.grad_checkpointing, rope)
        x = gather_tokens(self.predictor_norm(x), order.argsort(dim=1))[:, num_ctx:]  # unsorted; the queries only
        return self.predictor_proj(x)

    def forward_masked(
        self,
        contexts: Sequence[torch.Tensor],
        ctx_idx: Sequence[torch.Tensor],
        tgt_idx: Sequence[torch.Tensor],
        grid: tuple[int, int, int] | None = None,
    ) -> list[torch.Tensor]:
        """One prediction per mask configuration i, with mask token i: list of (B, M_i, D)."""
        if not len(contexts) == len(ctx_idx) == len(tgt_idx):
            raise ValueError("contexts, context masks and target masks must have one entry per mask configuration")
        return [self.forward(z, c, t, i, grid) for i, (z, c, t) in enumerate(zip(contexts, ctx_idx, tgt_idx))]
