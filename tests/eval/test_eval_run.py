"""`run_eval` end to end on tiny synthetic videos and images: outputs, cache, low-shot, bad files, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from support.eval_data import TINY, frames, make_dataset, write_media  # noqa: F401

from vjepa.config import set_values
from vjepa.core.errors import DataError
from vjepa.eval.config import EvalConfig
from vjepa.eval.lowshot import read_splits
from vjepa.eval.run import run_eval
from vjepa.models.encoder import VideoEncoder

av = pytest.importorskip("av")
FAST = {"num_classes": 2, "clip.num_frames": 8, "clip.frame_step": 1, "clip.crop_size": 32, "probe.epochs": 3,
        "probe.batch_size": 4, "runtime.device": "cpu", "runtime.dtype": "float32"}


def fast(**values) -> EvalConfig:
    """The tiny protocol of these tests with ``values`` (dotted keys given with '__': clip__num_views=2)."""
    return set_values(EvalConfig(), {**FAST, **{k.replace("__", "."): v for k, v in values.items()}}, "test")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    return make_dataset(tmp_path_factory.mktemp("evaldata"))


@pytest.fixture(scope="module")
def encoder() -> VideoEncoder:
    torch.manual_seed(0)
    return VideoEncoder(TINY)


def csvs(data: dict[str, Path]) -> dict[str, str]:
    return {"train_csv": str(data["train_csv"]), "val_csv": str(data["val_csv"])}


def test_video_end_to_end_with_cache(data, encoder, tmp_path):
    settings = fast(clip__num_segments=2, clip__num_views=2, cache_dir=str(tmp_path / "cache"))
    result = run_eval(encoder, settings, tmp_path / "out", progress=False, describe={"checkpoint": "x"}, **csvs(data))
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    for key in ("top1", "top5", "mean_class_acc", "num_train", "num_val", "settings", "bad_files"):
        assert key in saved
    assert (saved["num_train"], saved["num_val"], saved["bad_files"]) == (12, 6, 0)
    assert saved["settings"]["num_segments"] == 2 and saved["settings"]["checkpoint"] == "x"
    assert (tmp_path / "out" / "probe" / "model.safetensors").is_file()
    assert (tmp_path / "out" / "confusion.png").stat().st_size > 0
    assert "8x2x2" in result["summary"] and result["top1"] == saved["top1"]
    cached = sorted((tmp_path / "cache").iterdir())
    assert len(cached) == 2  # train (1 view) and val (2 views)
    # Another protocol on the same clips reuses the cached features: no new file, the same stored tokens.
    knn = run_eval(encoder, set_values(settings, {"probe.protocol": "knn"}, "test"), tmp_path / "knn", progress=False,
                   **csvs(data))
    assert sorted((tmp_path / "cache").iterdir()) == cached
    assert knn["protocol"] == "knn" and "k" in knn["selected"] and 0 <= knn["top1"] <= 100


def test_image_folders(data, encoder, tmp_path):
    settings = fast(clip__num_segments=3, probe__protocol="linear")
    result = run_eval(encoder, settings, tmp_path, progress=False, train_dir=str(data["train_dir"]),
                      val_dir=str(data["val_dir"]))
    assert result["settings"]["images"] and result["settings"]["num_segments"] == 1  # one segment for images
    assert (result["num_train"], result["num_val"]) == (8, 4)
    assert set(result["selected"]) == {"lr", "weight_decay"}


def test_lowshot_splits(data, encoder, tmp_path):
    settings = fast(probe__epochs=2, lowshot__label_fraction=0.5, lowshot__num_splits=2)
    result = run_eval(encoder, settings, tmp_path, progress=False, **csvs(data))
    splits, meta = read_splits(tmp_path / "splits.json")
    assert len(splits) == 2 and all(len(s) == 6 for s in splits) and meta["fraction"] == 0.5
    saved = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("top1", "top1_std", "top5", "top5_std", "mean_class_acc", "num_val", "settings"):
        assert key in saved
    assert saved["num_train"] == 6 and len(saved["lowshot"]["per_split"]) == 2
    assert (tmp_path / "split_1" / "probe" / "model.safetensors").is_file()
    assert "±" in result["summary"]


def test_unreadable_file_is_counted(data, encoder, tmp_path):
    val = tmp_path / "val.csv"
    folder = data["val_csv"].parent
    val.write_text("".join(f"{folder / line}\n" for line in data["val_csv"].read_text().splitlines())
                   + "missing.mp4 0\n")
    result = run_eval(encoder, fast(probe__protocol="knn"), tmp_path / "out", progress=False,
                      train_csv=str(data["train_csv"]), val_csv=str(val))
    assert result["bad_files"] == 1 and result["num_val"] == 7
    assert "missing.mp4" in (tmp_path / "out" / "bad_files.txt").read_text()


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, num_classes, match", [
    ("a.mp4 0\n\nb.mp4 1\nc.mp4 5\n", 2, r"bad\.csv:4: label 5 is not in \[0, 2\).*set num_classes 6"),
    ("a.mp4 0\nb.mp4 -1\n", 2, r"bad\.csv:2: label -1 is not in \[0, 2\)"),
    ("a.mp4 0\nb.mp4 1\n", 1, r"train\.csv:2: label 1 .*num_classes 1.*set num_classes 2 "),  # checked first
    ("", 2, r"bad\.csv: empty index"),
    ("a.mp4 0\nb.mp4\n", 2, r"bad\.csv:2: no label"),
])
def test_bad_index_one_line_errors(data, encoder, tmp_path, text, num_classes, match):
    settings = fast(num_classes=num_classes)
    with pytest.raises(DataError, match=match) as info:
        run_eval(encoder, settings, tmp_path, progress=False, train_csv=str(data["train_csv"]),
                 val_csv=_csv(tmp_path, text))
    assert "\n" not in str(info.value)


def test_folder_classes_must_agree_with_num_classes(data, encoder, tmp_path):
    with pytest.raises(DataError, match="2 class sub-folders but num_classes is 1; set num_classes 2"):
        run_eval(encoder, fast(num_classes=1), tmp_path, train_dir=str(data["train_dir"]),
                 val_dir=str(data["val_dir"]))
