"""The physics VoE measurement on a tiny random model: report shape, the balanced rules at chance level bounds,
the break-window selection, the random-init baseline, and loading a pretraining checkpoint."""

from __future__ import annotations

import copy

import pytest
import torch

import vjepa.pretrain.loop as loop
from vjepa.config import load_config
from vjepa.core.errors import CheckpointError, ConfigError
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.models.registry import create_predictor
from vjepa.surprise.physics_eval import break_windows, load_modules, random_init_like, voe_of_checkpoint

ENC = EncoderConfig(embed_dim=16, depth=1, num_heads=2, patch_size=16, tubelet_size=2, num_frames=4, img_size=32)


def tiny_model(seed: int = 0):
    torch.manual_seed(seed)
    encoder = VideoEncoder(ENC).eval()
    predictor = create_predictor(ENC, depth=1, embed_dim=16, num_heads=2, zero_init_mask_tokens=False).eval()
    return encoder, predictor, copy.deepcopy(encoder)


def test_break_windows_predict_across_the_break():
    # windows of 4 starting at 0, 2, 4; context 2: the break at 5 is predicted from frames 2-3 (start 2) only
    assert break_windows([0, 2, 4], 5, 2, 4) == [1]
    assert break_windows([0, 2, 4], 4, 2, 4) == [1]  # context 2-3, predicted 4-5
    assert break_windows([0, 2, 4], 1, 2, 4) == []  # no context before the break


def test_voe_of_a_tiny_random_model():
    result = voe_of_checkpoint(tiny_model(), per_property=3, seed=0, context_frames=(2,), num_frames=8, window=4,
                               properties=("permanence", "continuity"))
    table = {(r["context"], r["rule"]): r for r in result.table()}
    assert set(table) == {(2, "mean"), (2, "max"), (2, "break")}
    for row in table.values():
        assert 0.0 <= row["permanence"] <= 1.0 and 0.0 <= row["continuity"] <= 1.0
    assert result.report.row("permanence", 2, "mean").n == 3
    assert all(r.n == 3 for r in result.break_rows)  # every quadruplet has a window across its break
    assert result.accuracy("continuity", 2, "break") == result.break_rows[1].accuracy
    again = voe_of_checkpoint(tiny_model(), per_property=3, seed=0, context_frames=(2,), num_frames=8, window=4,
                              properties=("permanence", "continuity"))
    assert again.table() == result.table()  # deterministic
    with pytest.raises(ConfigError, match="per_property 0"):
        voe_of_checkpoint(tiny_model(), per_property=0, context_frames=(2,), num_frames=8, window=4)


def test_random_init_like_has_the_architecture_and_fresh_weights():
    modules = tiny_model(0)
    fresh = random_init_like(modules, seed=1)
    assert fresh[0].cfg == modules[0].cfg and fresh[1].cfg == modules[1].cfg
    assert not torch.equal(fresh[0].patch_embed.proj.weight, modules[0].patch_embed.proj.weight)
    assert torch.equal(fresh[0].patch_embed.proj.weight, fresh[2].patch_embed.proj.weight)  # target = copy
    again = random_init_like(modules, seed=1)[1].state_dict()
    assert all(torch.equal(v, again[k]) for k, v in fresh[1].state_dict().items())  # keyed by the seed


def test_load_modules_of_a_pretraining_checkpoint(tmp_path):
    cfg = load_config("cpu_tiny", ["run.max_steps=1", "run.checkpoint_every=1", "data.dataset=physics",
                                   "data.physics.size=32", "data.physics.num_videos=4"])
    loop.pretrain(cfg, tmp_path, progress=False)
    encoder, predictor, target = load_modules(tmp_path / "checkpoints" / "latest.pt")
    assert encoder.cfg.embed_dim == 48 and not encoder.training
    assert not torch.equal(encoder.patch_embed.proj.weight, target.patch_embed.proj.weight)  # one EMA step apart
    result = voe_of_checkpoint((encoder, predictor, target), per_property=1, context_frames=(2,), num_frames=8,
                               window=4, properties=("continuity",))
    assert result.report.row("continuity", 2, "mean").n == 1
    with pytest.raises(CheckpointError, match="not a vjepa training checkpoint"):
        load_modules(tmp_path / "export" / "model.safetensors")  # an export holds no context encoder
