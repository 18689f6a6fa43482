"""The official multi-segment × multi-view test protocol (e.g. K400 16×8×3, SSv2 16×2×3).

A video gives S temporal segments × V spatial views. For every view, the tokens of its S segments are
concatenated along the token axis (``attend_across_segments``), the probe classifies each view, and the test
prediction is the mean over views of the softmax probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def encode_segments(encoder: nn.Module, clips: Sequence[Sequence[torch.Tensor]]) -> list[torch.Tensor]:
    """Frozen tokens per spatial view.

    Args:
        clips: ``clips[s][v]`` is the (B, C, T, H, W) clip of temporal segment s and spatial view v.

    Returns:
        One (B, S·N, D) tensor per view: the tokens of all segments of that view, concatenated.
    """
    num_segments, num_views = len(clips), len(clips[0])
    batch = clips[0][0].shape[0]
    # One encoder call for every segment and view, as the official ClipAggregation does.
    tokens = encoder(torch.cat([clip for segment in clips for clip in segment], dim=0))  # (S·V·B, N, D)
    tokens = tokens.reshape(num_segments, num_views, batch, *tokens.shape[1:])
    return [torch.cat(list(tokens[:, v]), dim=1) for v in range(num_views)]


def view_logits(encoder: nn.Module, probe: nn.Module, clips: Sequence[Sequence[torch.Tensor]]) -> list[torch.Tensor]:
    """Probe logits of each spatial view: list of (B, num_classes)."""
    return [probe(tokens) for tokens in encode_segments(encoder, clips)]


def aggregate_views(logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """Test-time prediction: mean over views of softmax(logits), (B, num_classes)."""
    return sum(F.softmax(x, dim=1) for x in logits) / len(logits)


def multiview_loss(logits: Sequence[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
    """Mean over views of the cross-entropy."""
    return sum(F.cross_entropy(x, labels) for x in logits) / len(logits)


def topk_accuracy(probs: torch.Tensor, labels: torch.Tensor, k: int = 1) -> torch.Tensor:
    """100 × fraction of samples whose label is among the k most probable classes."""
    top = probs.topk(min(k, probs.shape[1]), dim=1).indices  # (B, k)
    return 100.0 * (top == labels[:, None]).any(dim=1).float().mean()
