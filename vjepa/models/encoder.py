"""The video ViT encoder of V-JEPA: tubelet embedding, fixed 3-D sin-cos positions, pre-norm blocks, final norm.

Numerically equal to the official ``VisionTransformer`` (facebookresearch/jepa) and loads its weights by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from vjepa.masks.ops import gather_tokens
from vjepa.models.layers import Block, init_weights_, run_block
from vjepa.models.pos_embed import interpolate_3d, sincos_3d


@dataclass(frozen=True)
class EncoderConfig:
    embed_dim: int = 1024
    depth: int = 24
    num_heads: int = 16
    mlp_ratio: float = 4.0
    patch_size: int = 16
    tubelet_size: int = 2
    num_frames: int = 16
    img_size: int = 224
    in_chans: int = 3
    qkv_bias: bool = True
    norm_eps: float = 1e-6
    uniform_power: bool = True
    attention: str = "auto"

    @property
    def grid(self) -> tuple[int, int, int]:
        """Token grid (T', H', W') at the configured input size."""
        side = self.img_size // self.patch_size
        return (self.num_frames // self.tubelet_size, side, side)

    @property
    def num_tokens(self) -> int:
        t, h, w = self.grid
        return t * h * w


class PatchEmbed3D(nn.Module):
    """Conv3d over tubelets: (B, C, T, H, W) -> (B, N, D), tokens in t-major, then h, then w order."""

    def __init__(self, in_chans: int, embed_dim: int, patch_size: int, tubelet_size: int) -> None:
        super().__init__()
        kernel = (tubelet_size, patch_size, patch_size)
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=kernel, stride=kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, D, T', H', W') -> (B, N, D)


class VideoEncoder(nn.Module):
    """Video ViT. ``pos_embed`` is a fixed table kept as a buffer (in the state dict, never trained)."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.patch_embed = PatchEmbed3D(cfg.in_chans, cfg.embed_dim, cfg.patch_size, cfg.tubelet_size)
        self.register_buffer("pos_embed", sincos_3d(cfg.embed_dim, cfg.grid, cfg.uniform_power).unsqueeze(0))
        self.blocks = nn.ModuleList(
            Block(cfg.embed_dim, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps, cfg.attention)
            for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        self.grad_checkpointing = False
        """Recompute each block's activations in the backward pass instead of storing them (less memory, about
        a third more compute); set by ``run.activation_checkpointing``. Numerically the same."""
        init_weights_(self)

    @property
    def embed_dim(self) -> int:
        return self.cfg.embed_dim

    def token_grid(self, video: torch.Tensor) -> tuple[int, int, int]:
        """(T', H', W') for a (B, C, T, H, W) input."""
        _, _, T, H, W = video.shape
        c = self.cfg
        if T % c.tubelet_size or H % c.patch_size or W % c.patch_size:
            raise ValueError(
                f"input of {T}x{H}x{W} is not divisible into {c.tubelet_size}x{c.patch_size}x{c.patch_size} tubelets"
            )
        return (T // c.tubelet_size, H // c.patch_size, W // c.patch_size)

    def embed(self, video: torch.Tensor) -> torch.Tensor:
        """Tubelet embedding plus positions (interpolated for other sizes): (B, C, T, H, W) -> (B, N, D)."""
        grid = self.token_grid(video)
        pos = interpolate_3d(self.pos_embed[0], self.cfg.grid, grid)  # (N, D)
        return self.patch_embed(video) + pos

    def run_blocks(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = run_block(block, x, self.grad_checkpointing)
        return self.norm(x)

    def forward(self, video: torch.Tensor, keep_idx: torch.Tensor | None = None) -> torch.Tensor:
        """Encode a clip, or only its context tokens.

        Args:
            video: (B, C, T, H, W).
            keep_idx: optional (B, K) int64 indices of the tokens to keep (the context); positions are added
                before the tokens are dropped, as in the official code.

        Returns:
            (B, N, D), or (B, K, D) with ``keep_idx``; layer-normed.
        """
        x = self.embed(video)
        if keep_idx is not None:
            x = gather_tokens(x, keep_idx)
        return self.run_blocks(x)

    def forward_masked(self, video: torch.Tensor, keep_idx: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """One output per mask configuration, embedding the clip once: list of (B, K_i, D)."""
        x = self.embed(video)
        return [self.run_blocks(gather_tokens(x, idx)) for idx in keep_idx]

    def forward_intermediates(
        self, video: torch.Tensor, layers: Sequence[int], keep_idx: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """LayerNorm-ed outputs of the listed blocks (0-based; negative counts from the end): list of (B, N, D).

        Uses the final ``norm`` module on each, as the official ``out_layers`` option does.
        """
        depth = len(self.blocks)
        wanted = sorted({layer % depth for layer in layers})
        if any(not -depth <= layer < depth for layer in layers):
            raise ValueError(f"layers {list(layers)} out of range for a {depth}-block encoder")
        x = self.embed(video)
        if keep_idx is not None:
            x = gather_tokens(x, keep_idx)
        outputs = {}
        for i, block in enumerate(self.blocks[: wanted[-1] + 1]):
            x = block(x)
            if i in wanted:
                outputs[i] = self.norm(x)
        return [outputs[layer % depth] for layer in layers]
