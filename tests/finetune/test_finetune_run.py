"""``vjepa finetune`` end to end on the embedded dataset (tiny model, a few steps): outputs, exact resume after a
kill, and the one-line errors for bad input."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import vjepa.finetune.train as ft_train
from vjepa.cli.main import main
from vjepa.core.errors import ConfigError
from vjepa.finetune.model import load_start_encoder
from vjepa.models.registry import create_encoder
from vjepa.weights.io import save_modules

TINY = ["--arch", "custom", "--embed-dim", "32", "--depth", "2", "--num-heads", "2", "--pretrain-frames", "4",
        "--pretrain-img-size", "32"]
RECIPE = ["--set", "optim.batch_size=4", "--set", "clip.num_frames=4", "--set", "clip.frame_step=1", "--set",
          "clip.crop_size=32", "--set", "optim.warmup_epochs=1", "--set", "clip.num_views=2", "--set",
          "runtime.dtype=float32", "--set", "run.checkpoint_every=2"]


def run(out: Path, *extra: str, checkpoint: str = "none", arch: list[str] = TINY) -> int:
    return main(["finetune", "--checkpoint", checkpoint, *arch, "--synthetic", "motion", "--synthetic-train", "16",
                 "--synthetic-val", "8", "--num-classes", "4", "--out", str(out), "--epochs", "2", *RECIPE,
                 "--no-progress", *extra])


def test_finetune_from_scratch_writes_eval_format_outputs(tmp_path):
    assert run(tmp_path / "ft") == 0
    metrics = json.loads((tmp_path / "ft" / "metrics.json").read_text())
    assert {"top1", "top5", "mean_class_acc", "num_train", "num_val", "num_classes", "per_class_acc", "settings",
            "history"} <= set(metrics)
    assert metrics["num_train"] == 16 and metrics["num_val"] == 8 and metrics["steps"] == 8  # 2 epochs x 16 / 4
    assert metrics["settings"]["num_views"] == 2 and metrics["settings"]["checkpoint"] == "none"
    for name in ("confusion.png", "loss_curve.png", "model/model.safetensors", "model/config.json",
                 "checkpoints/latest.pt"):
        assert (tmp_path / "ft" / name).is_file(), name
    keys = load_file(str(tmp_path / "ft" / "model" / "model.safetensors"))
    assert any(k.startswith("encoder.blocks.1.") for k in keys) and "head.linear.weight" in keys


def test_finetune_resumes_exactly_after_a_kill(tmp_path, monkeypatch, capsys):
    assert run(tmp_path / "whole") == 0
    real_step = ft_train.train_step

    def killed_at_6(model, optimizer, video, labels, k, *args, **kwargs):
        if k == 5:  # the 6th step: the last checkpoint is the one of step 4
            raise KeyboardInterrupt
        return real_step(model, optimizer, video, labels, k, *args, **kwargs)

    monkeypatch.setattr(ft_train, "train_step", killed_at_6)
    assert run(tmp_path / "cut") == 130
    assert torch.load(tmp_path / "cut" / "checkpoints" / "latest.pt", weights_only=True)["step"] == 4
    monkeypatch.setattr(ft_train, "train_step", real_step)
    capsys.readouterr()
    assert run(tmp_path / "cut") == 0
    assert f"resuming from {tmp_path / 'cut' / 'checkpoints' / 'latest.pt'} at step 4" in capsys.readouterr().err
    a = load_file(str(tmp_path / "whole" / "model" / "model.safetensors"))
    b = load_file(str(tmp_path / "cut" / "model" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ma, mb = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("whole", "cut"))
    assert ma == mb


def test_resume_with_other_settings_is_refused(tmp_path, capsys):
    assert run(tmp_path / "ft") == 0
    capsys.readouterr()
    assert run(tmp_path / "ft", "--set", "optim.lr=0.01") == 2
    err = capsys.readouterr().err
    assert "other settings (optim.lr 0.001 -> 0.01)" in err and err.count("\n") == 1


def _export(folder: Path, width: int = 32) -> Path:
    enc = create_encoder("custom", embed_dim=width, depth=2, num_heads=2, num_frames=4, img_size=32)
    return save_modules(folder, {"encoder": enc}, {"format": "vjepa-export/1", "encoder": asdict(enc.cfg)})


def test_arch_mismatch_is_one_line(tmp_path, capsys):
    export = _export(tmp_path / "export")
    assert run(tmp_path / "ft", checkpoint=str(export), arch=["--arch", "vit_small"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "width 32, 2 blocks, 2 heads" in err and "vit_small expects width 384, 12 blocks" in err


def test_finetuning_an_export_runs(tmp_path):
    assert run(tmp_path / "ft", checkpoint=str(_export(tmp_path / "export")), arch=[]) == 0


def test_head_size_mismatch_is_one_line(tmp_path):
    assert run(tmp_path / "ft") == 0
    for source in (tmp_path / "ft" / "model", tmp_path / "ft" / "checkpoints" / "latest.pt"):
        with pytest.raises(ConfigError) as info:
            load_start_encoder(source, arch=None, num_classes=7, head="attentive")
        assert "4-class head but num_classes is 7" in str(info.value) and "\n" not in str(info.value)
        encoder, head = load_start_encoder(source, arch=None, num_classes=4, head="attentive")
        assert head["linear.weight"].shape[0] == 4 and encoder.cfg.embed_dim == 32


def test_synthetic_class_count_is_checked(tmp_path, capsys):
    assert main(["finetune", "--checkpoint", "none", *TINY, "--synthetic", "motion", "--num-classes", "5",
                 "--out", str(tmp_path / "x")]) == 2
    assert "--synthetic motion has 4 classes but --num-classes is 5" in capsys.readouterr().err


def test_clip_size_must_fit_the_encoder(tmp_path, capsys):
    assert run(tmp_path / "ft", "--set", "clip.num_frames=5") == 2
    assert "clip.num_frames 5 must be a multiple of the encoder's tubelet size 2" in capsys.readouterr().err


def test_resume_from_another_source_is_refused(tmp_path, capsys):
    assert run(tmp_path / "ft") == 0
    capsys.readouterr()
    assert run(tmp_path / "ft", checkpoint=str(_export(tmp_path / "export")), arch=[]) == 2
    assert "checkpoint 'none' -> " in capsys.readouterr().err


def test_a_second_finetune_into_a_held_folder_is_refused(tmp_path, capsys):
    from support.lock_holder import lock_held_elsewhere

    with lock_held_elsewhere(tmp_path / "ft") as holder:
        assert run(tmp_path / "ft") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert f"{tmp_path / 'ft'} is in use by another fine-tuning run (pid {holder.pid} " in err
    assert not (tmp_path / "ft" / "checkpoints").exists()
