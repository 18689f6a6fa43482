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


def test_finetune_output_exports_as_a_transformers_classifier(tmp_path, capsys):
    """A fine-tuned RoPE encoder + attentive head -> ``vjepa convert to-hf-classifier`` -> transformers'
    VJEPA2ForVideoClassification gives our logits (the head's LayerNorm eps 1e-5 becomes HF's 1e-6: <= 1e-4)."""
    import dataclasses

    import torch

    transformers = pytest.importorskip("transformers")
    from vjepa.models.registry import create_encoder
    from vjepa.weights.io import save_modules
    from vjepa.weights.load import load_parts

    data = make_dataset(tmp_path / "data")
    torch.manual_seed(0)
    enc = create_encoder("custom", embed_dim=32, depth=1, num_heads=2, num_frames=8, img_size=32, patch_size=16,
                         use_rope=True)
    export = save_modules(tmp_path / "rope", {"encoder": enc}, {"format": "vjepa-export/1",
                                                                 "encoder": dataclasses.asdict(enc.cfg)})
    out = tmp_path / "ft"
    assert main(["finetune", "--checkpoint", str(export), "--train-csv", str(data["train_csv"]), "--val-csv",
                 str(data["val_csv"]), "--out", str(out), *RECIPE]) == 0
    assert main(["convert", "to-hf-classifier", str(out), str(tmp_path / "hf")]) == 0
    hf = transformers.VJEPA2ForVideoClassification.from_pretrained(tmp_path / "hf").eval()
    ours = load_parts(out / "model", ("encoder", "head"), key="encoder")
    from vjepa.models.probe import AttentiveClassifier, ProbeConfig

    probe = AttentiveClassifier(ProbeConfig(embed_dim=32, num_heads=2, num_classes=2))
    probe.load_state_dict(ours.head)
    video = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        err = (hf(pixel_values_videos=video.transpose(1, 2)).logits - probe(ours.encoder.eval()(video))).abs().max()
    assert err.item() <= 1e-4
