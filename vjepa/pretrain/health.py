"""Training-health metrics: signs that the representation is collapsing to a constant or to a few directions."""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Below these, the target features are considered collapsed (a warning is logged).
MIN_FEATURE_STD = 1e-2
MIN_RANK_FRACTION = 0.01


@dataclass
class Health:
    feature_std: float
    """Mean over feature channels of the std over all tokens of the batch."""
    rankme: float
    """Effective rank (RankMe, Garrido et al. 2023): exp of the entropy of the normalised singular values."""
    collapsed: bool


@torch.no_grad()
def feature_health(features: torch.Tensor, max_rows: int = 4096) -> Health:
    """Health of (B, N, D) features (the target encoder's output on a batch).

    Rows are sub-sampled evenly to at most ``max_rows`` tokens so the SVD stays cheap.
    """
    x = features.detach().float().reshape(-1, features.shape[-1])  # (B·N, D)
    if x.shape[0] > max_rows:
        x = x[torch.linspace(0, x.shape[0] - 1, max_rows).long()]
    std = x.std(dim=0).mean().item()
    s = torch.linalg.svdvals(x)
    p = s / s.sum().clamp_min(1e-12) + 1e-7
    rank = torch.exp(-(p * p.log()).sum()).item()
    collapsed = std < MIN_FEATURE_STD or rank < max(1.5, MIN_RANK_FRACTION * min(x.shape))
    return Health(std, rank, collapsed)
