"""Layer-wise lr decay groups, mixup/cutmix soft labels and boxes, drop path off by default."""

from __future__ import annotations

import pytest
import torch

from vjepa.core.rng import keyed_generator
from vjepa.finetune.config import RegularizationConfig
from vjepa.finetune.lrd import layer_id, lrd_param_groups, set_lr
from vjepa.finetune.mixup import cutmix_box, mix_batch, soft_targets
from vjepa.finetune.model import FinetuneModel, MeanPoolHead, build_head
from vjepa.models.registry import create_encoder


def tiny_encoder(depth: int = 3):
    return create_encoder("custom", embed_dim=32, depth=depth, num_heads=2, num_frames=4, img_size=32)


@pytest.mark.parametrize("head_kind", ["attentive", "linear"])
def test_lrd_lr_per_block_is_base_times_decay_power(head_kind):
    depth, decay, base = 3, 0.75, 1e-3
    enc = tiny_encoder(depth)
    head = build_head(head_kind, enc, 5)
    opt = torch.optim.AdamW(lrd_param_groups(enc, head, depth, 0.05, decay))
    set_lr(opt, base)
    lr_of = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    for i, block in enumerate(enc.blocks):  # the indexing: block i (0-based) gets base * decay^(depth - i)
        for p in block.parameters():
            assert lr_of[id(p)] == pytest.approx(base * decay ** (depth - i), rel=1e-12)
    for p in enc.patch_embed.parameters():
        assert lr_of[id(p)] == pytest.approx(base * decay ** (depth + 1))
    for p in [*enc.norm.parameters(), *head.parameters()]:
        assert lr_of[id(p)] == pytest.approx(base)
    every = {id(p) for p in [*enc.parameters(), *head.parameters()]}
    assert set(lr_of) == every and sum(len(g["params"]) for g in opt.param_groups) == len(every)


def test_lrd_weight_decay_skips_biases_and_norms():
    enc = tiny_encoder(2)
    groups = lrd_param_groups(enc, MeanPoolHead(32, 3), 2, 0.05, 0.75)
    for g in groups:
        for name, p in zip(g["names"], g["params"]):
            assert g["weight_decay"] == (0.05 if p.ndim > 1 and not name.endswith("bias") else 0.0)
    assert layer_id("pos_embed", 2) == 0 and layer_id("blocks.1.attn.qkv.weight", 2) == 2 and layer_id("norm.weight", 2) == 3


def test_soft_targets_sum_to_one():
    t = soft_targets(torch.tensor([0, 2, 1]), 4, 0.1)
    assert torch.allclose(t.sum(1), torch.ones(3))
    assert t[0, 0] == pytest.approx(0.9 + 0.025) and t[0, 1] == pytest.approx(0.025)


@pytest.mark.parametrize("mixup,cutmix", [(0.8, 1.0), (0.8, 0.0), (0.0, 1.0), (0.0, 0.0)])
def test_mix_batch_labels_sum_to_one(mixup, cutmix):
    cfg = RegularizationConfig(mixup=mixup, cutmix=cutmix)
    video, labels = torch.randn(6, 3, 4, 16, 16), torch.tensor([0, 1, 2, 3, 0, 1])
    modes = set()
    for k in range(20):
        out, targets, info = mix_batch(video, labels, 4, cfg, keyed_generator(1, k))
        modes.add(info["mode"])
        assert out.shape == video.shape and torch.allclose(targets.sum(1), torch.ones(6), atol=1e-6)
        assert 0.0 <= info["lam"] <= 1.0
        if info["mode"] == "mixup":
            assert torch.allclose(out, video * info["lam"] + video.flip(0) * (1 - info["lam"]))
        if info["mode"] == "cutmix":  # every frame is cut by the same box; lam is the exact kept area
            changed = (out != video).any(dim=(0, 1))  # (T, H, W)
            assert (changed == changed[0]).all()
            assert changed[0].float().mean().item() == pytest.approx(1 - info["lam"])
    expected = {(0.8, 1.0): {"mixup", "cutmix"}, (0.8, 0.0): {"mixup"}, (0.0, 1.0): {"cutmix"}, (0.0, 0.0): {"none"}}
    assert modes == expected[(mixup, cutmix)]


@pytest.mark.parametrize("lam", [0.1, 0.5, 0.9])
def test_cutmix_box_covers_the_stated_area(lam):
    areas = []
    for k in range(200):
        top, bottom, left, right = cutmix_box(32, 32, lam, keyed_generator(2, k))
        assert 0 <= top <= bottom <= 32 and 0 <= left <= right <= 32
        areas.append((bottom - top) * (right - left) / 1024)
    unclipped = max(areas)  # a box away from the borders has the stated area (up to integer rounding)
    assert unclipped == pytest.approx(1 - lam, abs=4 * 32 / 1024)


def test_drop_path_is_off_in_eval_and_by_default():
    enc = tiny_encoder(3)
    x = torch.randn(2, 3, 4, 32, 32)
    ref = enc(x)
    model = FinetuneModel(enc, MeanPoolHead(32, 3), drop_path=0.5)
    assert [b.drop_path for b in enc.blocks] == [0.0, 0.25, 0.5]
    model.eval()
    assert torch.equal(model.encoder(x), ref)
    model.train()
    torch.manual_seed(0)
    assert not torch.equal(model.encoder(x), ref)
