"""The ``physics`` pretraining dataset: the cpu_physics preset loads, builds the physics world and trains 2 steps;
its sub-section is validated."""

from __future__ import annotations

import pytest
import torch

import vjepa.pretrain.loop as loop
from vjepa.config import load_config
from vjepa.config.validation import validate
from vjepa.core.errors import ConfigError
from vjepa.data.physics import PhysicsVideos, make_quadruplet, render_training_clip
from vjepa.pretrain.data import build_dataset


def test_cpu_physics_preset_builds_the_physics_world():
    cfg = load_config("cpu_physics")
    validate(cfg)
    assert cfg.data.dataset == "physics" and cfg.data.physics.num_videos == 2000
    data = build_dataset(cfg)
    assert isinstance(data, PhysicsVideos) and len(data) == 2000
    assert data[3]["video"].shape == (16, 64, 64, 3)
    assert torch.equal(data[3]["video"], render_training_clip(0, 3, 16, 64))


def test_cpu_physics_trains_two_steps(tmp_path):
    cfg = load_config("cpu_physics", ["run.max_steps=2", "optim.batch_size=4", "data.physics.num_videos=8",
                                      "run.checkpoint_every=2", "run.device=cpu"])
    summary = loop.pretrain(cfg, tmp_path, progress=False)
    assert summary["steps"] == 2 and torch.isfinite(torch.tensor(summary["final_loss"]))
    assert (tmp_path / "checkpoints" / "latest.pt").is_file()


@pytest.mark.parametrize("override, message", [
    ("data.physics.size=16", "data.physics.size = 16"),
    ("data.physics.object_scale=4.0", "data.physics.object_scale = 4.0"),
    ("data.physics.num_videos=0", "data.physics.num_videos = 0"),
    ("data.dataset=physic", "did you mean 'physics'"),
])
def test_physics_section_is_validated(override, message):
    with pytest.raises(ConfigError, match=message):
        validate(load_config("cpu_physics", [override]))


def test_object_scale_scales_the_object_and_keeps_the_default():
    plain = make_quadruplet("permanence", 0, 1, 16, 64)
    assert torch.equal(plain.movies[0].video, make_quadruplet("permanence", 0, 1, 16, 64, 1.0).movies[0].video)
    big = make_quadruplet("permanence", 0, 1, 16, 64, object_scale=2.0)
    assert big.movies[0].visible.max() > 3.0 * plain.movies[0].visible.max()  # area ~ 4x
    assert PhysicsVideos(4, 16, 64, object_scale=1.5)[0]["video"].shape == (16, 64, 64, 3)
