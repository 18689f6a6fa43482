"""The shared sections and check helpers, and the one loader applied to the evaluation and fine-tuning configs."""

from __future__ import annotations

import pytest

from vjepa.config import (
    ClipConfig,
    EvalClipConfig,
    RuntimeConfig,
    check_clip,
    check_clip_fits,
    check_runtime,
    leaf_values,
    load_typed,
    save_resolved,
    set_values,
    typed_from_dict,
)
from vjepa.core.errors import ConfigError
from vjepa.eval.config import EvalConfig, validate_eval
from vjepa.finetune.config import FinetuneConfig, validate_finetune


def error_of(fn, *args) -> str:
    with pytest.raises(ConfigError) as info:
        fn(*args)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_sections_are_shared():
    assert issubclass(EvalClipConfig, ClipConfig)
    assert type(FinetuneConfig().clip) is type(EvalConfig().clip) is EvalClipConfig
    assert type(FinetuneConfig().runtime) is type(EvalConfig().runtime) is RuntimeConfig
    from vjepa.config import DataConfig
    assert issubclass(DataConfig, ClipConfig)  # pretraining's data section is a clip section


def test_section_checks_name_the_key():
    assert error_of(check_clip, EvalClipConfig(num_views=0)) == "clip.num_views = 0: must be >= 1"
    assert error_of(check_clip, ClipConfig(frame_step=0), "data.") == "data.frame_step = 0: must be >= 1"
    assert "runtime.dtype = 'bf16': use one of" in error_of(check_runtime, RuntimeConfig(dtype="bf16"))
    assert error_of(check_runtime, RuntimeConfig(num_workers=-1)) == "runtime.num_workers = -1: must be >= 0"
    assert "clip.num_frames 5 must be a multiple of the encoder's tubelet size 2" in error_of(
        check_clip_fits, ClipConfig(num_frames=5), 2, 16)
    # issue #18 item 10: only the value that is wrong is named
    assert error_of(check_clip_fits, ClipConfig(num_frames=8, crop_size=30), 2, 8) == \
        "clip.crop_size 30 must be a multiple of the encoder's patch size 8"
    assert error_of(check_clip_fits, ClipConfig(num_frames=5, crop_size=32), 2, 8) == \
        "clip.num_frames 5 must be a multiple of the encoder's tubelet size 2"


@pytest.mark.parametrize("override, message", [
    ("frames_per_clip=8", "unknown key 'frames_per_clip'; did you mean 'clip.num_frames'?"),
    ("workers=2", "unknown key 'workers'; did you mean 'runtime.num_workers'?"),
    ("lr=0.1", "unknown key 'lr'; did you mean 'optim.lr'?"),
    ("mixup=0", "unknown key 'mixup'; did you mean 'regularization.mixup'?"),
    ("clip.num_frame=8", "unknown key 'clip.num_frame'; did you mean 'clip.num_frames'?"),
    ("clip.num_frames=eight", "clip.num_frames must be an int, got 'eight'"),
])
def test_finetune_config_uses_the_strict_loader(override, message):
    assert message in error_of(load_typed, FinetuneConfig, None, [override])


@pytest.mark.parametrize("override, message", [
    ("optim.warmup_epochs=100", "optim.warmup_epochs = 100.0: must be in [0, optim.epochs = 75]"),
    ("head=mlp", "head = 'mlp': use one of attentive, linear"),
    ("regularization.mix_prob=2", "regularization.mix_prob = 2.0: must be in [0, 1]"),
    ("clip.num_segments=0", "clip.num_segments = 0: must be >= 1"),
    ("runtime.device=tpu", "runtime.device = 'tpu': use one of auto, cpu, cuda"),
])
def test_finetune_rules(override, message):
    assert message in error_of(validate_finetune, load_typed(FinetuneConfig, None, [override]))


def test_eval_config_rules_and_hints():
    assert error_of(validate_eval, EvalConfig()) == "num_classes = 0: must be >= 1"
    cfg = set_values(EvalConfig(), {"num_classes": 3, "lowshot.label_fraction": 1.5}, "test")
    assert error_of(validate_eval, cfg) == "lowshot.label_fraction = 1.5: must be in (0, 1], e.g. 0.1 for 10 %"
    cfg = set_values(EvalConfig(), {"num_classes": 3, "probe.protocol": "knnn"}, "test")
    assert "did you mean 'knn'?" in error_of(validate_eval, cfg)
    assert "did you mean 'lowshot.num_splits'?" in error_of(load_typed, EvalConfig, None, ["splits=2"])
    assert "test: clip.num_views must be an int" in error_of(set_values, EvalConfig(), {"clip.num_views": "3"}, "test")


def test_nested_configs_round_trip_and_flatten(tmp_path):
    cfg = load_typed(FinetuneConfig, None, ["clip.num_frames=8", "runtime.num_workers=2"])
    path = save_resolved(cfg, tmp_path / "ft.yaml", header="fine-tuning config")
    assert load_typed(FinetuneConfig, path) == cfg and path.stat().st_mode & 0o777 == 0o644
    flat = leaf_values(cfg)
    assert flat["num_frames"] == 8 and flat["num_workers"] == 2 and flat["betas"] == [0.9, 0.999]
    assert typed_from_dict(EvalConfig, {"clip": {"num_views": 3}}, "x").clip.num_views == 3
