"""Mixup and CutMix for video batches (Zhang et al. 2018; Yun et al. 2019), as VideoMAE applies them (timm
``Mixup`` in batch mode): one λ per batch, each clip mixed with the clip at the mirrored batch position.

CutMix cuts one box over H×W and applies it to every frame (the box is the same through time, as VideoMAE's
video ``Mixup``); λ is then corrected to the exact kept area. Labels become soft: ``λ·onehot(y) +
(1−λ)·onehot(y_flipped)``, each smoothed, so every row sums to 1. All draws come from the given generator.
"""

from __future__ import annotations

import math

import torch

from vjepa.finetune.config import RegularizationConfig


def soft_targets(labels: torch.Tensor, num_classes: int, smoothing: float) -> torch.Tensor:
    """(B,) int64 -> (B, num_classes): ``1 − smoothing + smoothing/C`` on the label, ``smoothing/C`` elsewhere."""
    off = smoothing / num_classes
    out = torch.full((labels.shape[0], num_classes), off, device=labels.device)
    return out.scatter_(1, labels[:, None], 1.0 - smoothing + off)


def cutmix_box(height: int, width: int, lam: float, gen: torch.Generator) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a box of area ≈ (1 − λ)·H·W centred uniformly (clipped at the borders)."""
    cut = math.sqrt(1.0 - lam)
    ch, cw = int(height * cut), int(width * cut)
    cy = int(torch.randint(height, (1,), generator=gen))
    cx = int(torch.randint(width, (1,), generator=gen))
    top, bottom = max(cy - ch // 2, 0), min(cy + ch // 2, height)
    left, right = max(cx - cw // 2, 0), min(cx + cw // 2, width)
    return top, bottom, left, right


def mix_batch(video: torch.Tensor, labels: torch.Tensor, num_classes: int, cfg: RegularizationConfig,
              gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Mix a batch.

    Args:
        video: (B, C, T, H, W) clips (not modified).
        labels: (B,) int64.
        cfg: ``label_smoothing``, ``mixup``, ``cutmix``, ``mix_prob``, ``switch_prob``.
        gen: CPU generator for every draw (mixed or not, which method, λ, box).

    Returns:
        (mixed video (B, C, T, H, W), soft targets (B, num_classes) with rows summing to 1, info dict with
        ``mode`` (none/mixup/cutmix) and ``lam``).
    """
    targets = soft_targets(labels, num_classes, cfg.label_smoothing)
    use = (cfg.mixup > 0 or cfg.cutmix > 0) and float(torch.rand(1, generator=gen)) < cfg.mix_prob
    if not use or video.shape[0] < 2:
        return video, targets, {"mode": "none", "lam": 1.0}
    cut = cfg.cutmix > 0 and (cfg.mixup == 0 or float(torch.rand(1, generator=gen)) < cfg.switch_prob)
    alpha = cfg.cutmix if cut else cfg.mixup
    lam = _beta(alpha, gen)
    flipped = video.flip(0)
    if cut:
        H, W = video.shape[-2:]
        top, bottom, left, right = cutmix_box(H, W, lam, gen)
        video = video.clone()
        video[..., top:bottom, left:right] = flipped[..., top:bottom, left:right]
        lam = 1.0 - (bottom - top) * (right - left) / (H * W)  # the exact kept area
    else:
        video = video * lam + flipped * (1.0 - lam)
    return video, lam * targets + (1.0 - lam) * targets.flip(0), {"mode": "cutmix" if cut else "mixup", "lam": lam}


def _beta(alpha: float, gen: torch.Generator) -> float:
    """A Beta(α, α) draw from ``gen`` by Jöhnk's algorithm (exact, uniforms only; torch's Beta takes no
    generator): with a = U1^(1/α), b = U2^(1/α), accept when a + b <= 1 and return a / (a + b)."""
    while True:
        u = torch.rand(2, generator=gen, dtype=torch.float64)
        a, b = float(u[0]) ** (1.0 / alpha), float(u[1]) ** (1.0 / alpha)
        if 0 < a + b <= 1:
            return a / (a + b)
