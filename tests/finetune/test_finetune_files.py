"""``vjepa finetune`` on files: CSV video lists with the multi-segment x multi-view protocol, and image folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.eval_data import make_dataset  # the videos / images / export of the eval tests

from vjepa.cli.main import main  # noqa: E402

RECIPE = ["--num-classes", "2", "--epochs", "1", "--no-progress", "--set", "optim.batch_size=4", "--set",
          "clip.num_frames=8", "--set", "clip.frame_step=1", "--set", "clip.crop_size=32", "--set",
          "runtime.dtype=float32", "--set", "optim.warmup_epochs=0"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    return make_dataset(tmp_path_factory.mktemp("ftdata"))


def test_csv_videos_multi_segment_multi_view(data, tmp_path):
    out = tmp_path / "ft"
    assert main(["finetune", "--checkpoint", str(data["export"]), "--train-csv", str(data["train_csv"]),
                 "--val-csv", str(data["val_csv"]), "--out", str(out), "--set", "clip.num_segments=2", "--set",
                 "clip.num_views=2", *RECIPE]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_train"] == 12 and metrics["num_val"] == 6 and metrics["steps"] == 3
    assert (metrics["settings"]["num_segments"], metrics["settings"]["num_views"]) == (2, 2)


def test_image_folders(data, tmp_path):
    out = tmp_path / "ft"
    assert main(["finetune", "--checkpoint", str(data["export"]), "--train-dir", str(data["train_dir"]),
                 "--val-dir", str(data["val_dir"]), "--out", str(out), "--set", "clip.num_segments=2", *RECIPE]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_train"] == 8 and metrics["num_val"] == 4 and metrics["settings"]["num_segments"] == 1
