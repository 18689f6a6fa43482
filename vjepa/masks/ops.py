"""Gathering tokens by index (the official ``apply_masks``)."""

from __future__ import annotations

import torch


def gather_tokens(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Rows of ``x`` at ``idx``, per sample.

    Args:
        x: (B, N, D) tokens.
        idx: (B, K) int64 token indices (index = t·H'·W' + h·W' + w).

    Returns:
        (B, K, D) with out[b, k] = x[b, idx[b, k]].
    """
    if idx.ndim != 2 or idx.shape[0] != x.shape[0]:
        raise ValueError(f"indices of shape {tuple(idx.shape)} do not fit tokens of shape {tuple(x.shape)}")
    return torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
