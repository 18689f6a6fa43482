"""The pixel-reconstruction objective (VideoMAE-style): per-tubelet normalised pixel targets and a masked MSE.

Layout. :func:`patchify` cuts a (B, C, T, H, W) clip into the encoder's tubelets: token n = t·H'·W' + h·W' + w
(the patch embedding's token order) holds the tubelet_size x patch x patch x C values of frames [t·ts, (t+1)·ts),
rows [h·p, (h+1)·p), columns [w·p, (w+1)·p), flattened in (t, h, w, c) order -- channels fastest, as VideoMAE's
``rearrange(..., 'b c (t p0) (h p1) (w p2) -> b (t h w) (p0 p1 p2 c)')``. (The Conv3d patch embedding's weight
is laid out (c, t, h, w); the values are the same, the order within a tubelet differs.)

Targets. Clips arrive ImageNet-normalised; as VideoMAE, the normalisation is undone first ([0, 1] pixels), then
each tubelet's 1536 values are normalised by their own mean and variance: (x − mean) / sqrt(var + 1e-6), with
the population variance (so the target has variance 1 up to the eps; MAE divides by the unbiased variance, a
1/1536 relative difference here).
"""

from __future__ import annotations

import torch

from vjepa.data.transforms import IMAGENET_MEAN, IMAGENET_STD

NORM_EPS = 1e-6


def patchify(video: torch.Tensor, patch_size: int, tubelet_size: int) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, N, tubelet_size · patch_size² · C) tubelets, in the layout of the module doc."""
    B, C, T, H, W = video.shape
    t, h, w = T // tubelet_size, H // patch_size, W // patch_size
    x = video.reshape(B, C, t, tubelet_size, h, patch_size, w, patch_size)
    x = x.permute(0, 2, 4, 6, 3, 5, 7, 1)  # (B, t, h, w, ts, p, p, C)
    return x.reshape(B, t * h * w, tubelet_size * patch_size * patch_size * C)


@torch.no_grad()
def pixel_targets(video: torch.Tensor, patch_size: int, tubelet_size: int, normalize: bool = True) -> torch.Tensor:
    """Regression targets of every tubelet, float32 (B, N, P): [0, 1] pixels, normalised per tubelet when
    ``normalize`` (``pixel.norm_pix_loss``)."""
    mean = torch.tensor(IMAGENET_MEAN, device=video.device).view(1, 3, 1, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=video.device).view(1, 3, 1, 1, 1)
    x = patchify(video.float() * std + mean, patch_size, tubelet_size)  # undo the ImageNet normalisation
    if not normalize:
        return x
    mu, var = x.mean(dim=-1, keepdim=True), x.var(dim=-1, unbiased=False, keepdim=True)
    return (x - mu) / (var + NORM_EPS).sqrt()


def pixel_loss(preds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the masked tubelets: preds and targets (B, M, P) -> scalar (float32)."""
    return torch.mean((preds.float() - targets) ** 2)
