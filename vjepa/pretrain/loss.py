"""The V-JEPA objective: predict layer-normed target-encoder features at the target positions, with an L1 loss."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from vjepa.masks.ops import gather_tokens
from vjepa.models.encoder import VideoEncoder


@torch.no_grad()
def target_features(target_encoder: VideoEncoder, video: torch.Tensor) -> torch.Tensor:
    """Targets before gathering: the target encoder on the full clip, then a second, non-affine LayerNorm.

    The encoder's own output is already layer-normed (eps 1e-6, affine); the official training loop applies
    ``F.layer_norm`` once more (eps 1e-5, no affine) over the feature dimension.

    Returns:
        (B, N, D).
    """
    h = target_encoder(video)
    return F.layer_norm(h, (h.shape[-1],))


def gather_targets(features: torch.Tensor, tgt_idx: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Rows of (B, N, D) features at each mask configuration's targets: list of (B, M_i, D)."""
    return [gather_tokens(features, idx) for idx in tgt_idx]


def jepa_loss(preds: Sequence[torch.Tensor], targets: Sequence[torch.Tensor], loss_exp: float = 1.0) -> torch.Tensor:
    """mean(|pred - target|^p) / p per mask configuration, averaged over configurations with equal weight.

    Args:
        preds, targets: one (B, M_i, D) tensor per mask configuration.
        loss_exp: p; 1 gives the L1 loss of the official recipe.
    """
    loss = torch.zeros((), device=preds[0].device)
    for z, h in zip(preds, targets, strict=True):
        loss = loss + torch.mean(torch.abs(z - h) ** loss_exp) / loss_exp
    return loss / len(preds)


def variance_regularizer(preds: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The official variance term: pstd = mean over configurations of sqrt(var over tokens + 1e-4), (B, D);
    returns (mean(relu(1 - pstd)), pstd). Weighted by ``reg_coeff`` (0 in every official config)."""
    pstd = sum(torch.sqrt(z.var(dim=1) + 1e-4) for z in preds) / len(preds)
    return torch.mean(F.relu(1.0 - pstd)), pstd
