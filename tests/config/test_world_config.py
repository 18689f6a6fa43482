"""The world-model training config: both shipped presets load and validate, the official DROID facts are in the
preset, and the strict loader's errors (unknown keys, bad values) are one line."""

from __future__ import annotations

import pytest

from vjepa.config.world import load_world_config, world_total_steps
from vjepa.core.errors import ConfigError


@pytest.mark.parametrize("name", ["world_cpu", "world_droid"])
def test_presets_load_and_validate(name):
    cfg = load_world_config(name)
    assert cfg.data.num_frames >= 2 and world_total_steps(cfg) > 0


def test_droid_preset_is_the_official_recipe():
    cfg = load_world_config("world_droid")
    assert cfg.encoder.arch == "vjepa2_vit_giant" and cfg.encoder.key == "target_encoder"
    p, o = cfg.predictor, cfg.optim
    assert (p.depth, p.width, p.num_heads, p.action_dim, p.auto_steps) == (24, 1024, 16, 7, 2)
    assert (cfg.data.num_frames, cfg.data.crop_size) == (8, 256)
    assert (o.lr, o.start_lr, o.final_lr, o.weight_decay) == (4.25e-4, 7.5e-5, 0.0, 0.04)
    assert (o.epochs, o.steps_per_epoch, o.warmup_epochs, o.anneal_epochs, o.batch_size) == (315, 300, 15, 15, 4)
    assert o.schedule == "wsd" and cfg.runtime.seed == 239


def error_of(*args) -> str:
    with pytest.raises(ConfigError) as info:
        load_world_config(*args)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_unknown_key_gets_a_suggestion():
    assert "did you mean 'predictor.depth'" in error_of("world_cpu", ["predictor.dpth=2"])


@pytest.mark.parametrize("override, words", [
    ("predictor.auto_steps=4", "predictor.auto_steps = 4"),
    ("data.num_frames=1", "data.num_frames = 1"),
    ("predictor.width=97", "predictor.width = 97"),
    ("optim.schedule=cosin", "did you mean 'cosine'"),
    ("runtime.device=gpu", "runtime.device"),
    ("optim.grad_clip=0", "optim.grad_clip = 0"),
])
def test_bad_values_are_one_line_errors(override, words):
    assert words in error_of("world_cpu", [override])
