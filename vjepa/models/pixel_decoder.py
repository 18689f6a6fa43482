"""The light transformer decoder of the pixel-reconstruction baseline (VideoMAE-style).

The encoder sees only the visible tubelets; the decoder maps its outputs to a narrower width, appends one learned
mask token per masked position, adds fixed sin-cos positions to both, runs a few pre-norm blocks and regresses the
pixels of every masked tubelet with a linear head. It is the V-JEPA predictor's structure with a pixel head:
only the objective differs between the two methods.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vjepa.masks.ops import gather_tokens
from vjepa.models.encoder import EncoderConfig
from vjepa.models.layers import Block, init_weights_
from vjepa.models.pos_embed import interpolate_3d, sincos_3d


@dataclass(frozen=True)
class PixelDecoderConfig:
    embed_dim: int = 768
    """Encoder width (the decoder's input width)."""
    decoder_embed_dim: int = 384
    depth: int = 4
    num_heads: int = 6
    mlp_ratio: float = 4.0
    patch_dim: int = 1536
    """Values per tubelet: tubelet_size · patch_size² · channels (2 · 16² · 3 = 1536)."""
    grid: tuple[int, int, int] = (8, 14, 14)
    """Token grid (T', H', W') of the pretraining input."""
    qkv_bias: bool = True
    norm_eps: float = 1e-6
    uniform_power: bool = True
    attention: str = "auto"


def pixel_decoder_config(enc: EncoderConfig, *, depth: int = 4, embed_dim: int | None = None,
                         num_heads: int | None = None) -> PixelDecoderConfig:
    """The decoder for an encoder: width ``embed_dim`` or half the encoder's (VideoMAE), heads ``num_heads`` or
    the encoder's (as the V-JEPA predictor)."""
    return PixelDecoderConfig(
        embed_dim=enc.embed_dim, decoder_embed_dim=embed_dim or enc.embed_dim // 2, depth=depth,
        num_heads=num_heads or enc.num_heads, patch_dim=enc.tubelet_size * enc.patch_size**2 * enc.in_chans,
        grid=enc.grid, qkv_bias=enc.qkv_bias, norm_eps=enc.norm_eps, uniform_power=enc.uniform_power,
        attention=enc.attention,
    )


class PixelDecoder(nn.Module):
    def __init__(self, cfg: PixelDecoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        dd = cfg.decoder_embed_dim
        self.decoder_embed = nn.Linear(cfg.embed_dim, dd)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dd))
        self.register_buffer("decoder_pos_embed", sincos_3d(dd, cfg.grid, cfg.uniform_power).unsqueeze(0))
        self.decoder_blocks = nn.ModuleList(
            Block(dd, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps, cfg.attention) for _ in range(cfg.depth)
        )
        self.decoder_norm = nn.LayerNorm(dd, eps=cfg.norm_eps)
        self.decoder_head = nn.Linear(dd, cfg.patch_dim)
        init_weights_(self)
        nn.init.trunc_normal_(self.mask_token, std=0.02, a=-0.02, b=0.02)  # VideoMAE: trunc_normal_(std=.02)

    def forward(self, visible: torch.Tensor, vis_idx: torch.Tensor, mask_idx: torch.Tensor,
                grid: tuple[int, int, int] | None = None) -> torch.Tensor:
        """Reconstruct the masked tubelets.

        Args:
            visible: (B, K, D) encoder outputs at the visible positions.
            vis_idx: (B, K) int64 token indices of the visible tubelets.
            mask_idx: (B, M) int64 token indices of the masked tubelets.
            grid: token grid of the clip when it differs from the configured one (positions are interpolated).

        Returns:
            (B, M, patch_dim) predicted tubelet values, in the order of :func:`vjepa.pretrain.pixel_loss.patchify`.
        """
        pos = self.decoder_pos_embed
        if grid is not None and tuple(grid) != tuple(self.cfg.grid):
            pos = interpolate_3d(pos[0], self.cfg.grid, grid).unsqueeze(0)
        pos = pos.expand(visible.shape[0], -1, -1)  # (B, N, Dd)
        x = self.decoder_embed(visible) + gather_tokens(pos, vis_idx)  # (B, K, Dd)
        queries = self.mask_token + gather_tokens(pos, mask_idx)  # (B, M, Dd)
        x = torch.cat([x, queries], dim=1)  # (B, K + M, Dd)
        for block in self.decoder_blocks:
            x = block(x)
        x = self.decoder_norm(x)[:, visible.shape[1]:]  # (B, M, Dd): the masked positions only
        return self.decoder_head(x)
