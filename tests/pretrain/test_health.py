"""Collapse detection on the target features."""

import torch

from vjepa.pretrain.health import feature_health


def test_healthy_features_are_not_flagged():
    h = feature_health(torch.randn(4, 32, 64))
    assert not h.collapsed and h.feature_std > 0.9 and h.rankme > 30


def test_constant_features_are_flagged():
    h = feature_health(torch.ones(4, 32, 64) + 1e-4 * torch.randn(4, 32, 64))
    assert h.collapsed and h.feature_std < 1e-2


def test_rank_one_features_are_flagged():
    direction = torch.randn(64)
    h = feature_health(torch.randn(4, 32, 1) * direction)
    assert h.collapsed and h.rankme < 1.5
