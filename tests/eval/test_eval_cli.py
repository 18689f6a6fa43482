"""The `vjepa eval` command line (on its own parser) and the checkpoint forms it accepts."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path

import pytest
import torch
from support.eval_data import make_dataset  # the synthetic videos / images / export of the eval tests
from support.official_fixture import DEFAULT as OFFICIAL

from vjepa.cli.eval import add_eval_parser, settings_from_args
from vjepa.config import PretrainConfig, to_dict
from vjepa.core.errors import CheckpointError, ConfigError, VjepaError
from vjepa.eval.checkpoints import load_frozen_encoder
from vjepa.models.registry import create_encoder
from vjepa.pretrain.checkpoint import FORMAT
from vjepa.weights.load import load_probe

OFFICIAL_CKPT = OFFICIAL / "checkpoint.pth.tar"
CLIPS = ["--frames-per-clip", "8", "--frame-step", "1", "--crop-size", "32", "--device", "cpu", "--dtype", "float32",
         "--no-progress", "--num-classes", "2", "--batch-size", "4"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    return make_dataset(tmp_path_factory.mktemp("clidata"))


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vjepa")
    add_eval_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["eval", *argv])


def main(argv: list[str]) -> int:
    """What vjepa.cli.main.main does with the parsed command: one-line user errors, exit status 2."""
    args = parse(argv)
    try:
        return args.func(args)
    except VjepaError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def test_preset_then_explicit_flags():
    base = ["--checkpoint", "none", "--num-classes", "5", "--out", "o"]
    assert settings_from_args(parse(base)).clip.num_segments == 1  # the library defaults without a preset
    s = settings_from_args(parse([*base, "--preset", "k400", "--views", "1", "--lr", "0.01"]))
    c = s.clip
    assert (c.num_frames, c.frame_step, c.num_segments, c.num_views, s.probe.lr) == (16, 4, 8, 1, 0.01)
    s = settings_from_args(parse([*base, "--preset", "ssv2", "--workers", "2", "--splits", "3"]))
    assert (s.clip.num_segments, s.clip.num_views, s.probe.epochs, s.probe.protocol) == (2, 3, 20, "attentive")
    assert (s.runtime.num_workers, s.lowshot.num_splits, s.num_classes) == (2, 3, 5)


def test_random_init_baseline_end_to_end(data, tmp_path, capsys):
    argv = ["--checkpoint", "none", "--arch", "custom", "--embed-dim", "48", "--depth", "1", "--num-heads", "2",
            "--pretrain-frames", "8", "--pretrain-img-size", "32", "--train-csv", str(data["train_csv"]),
            "--val-csv", str(data["val_csv"]), "--segments", "2", "--views", "2", "--protocol", "knn",
            "--out", str(tmp_path), *CLIPS]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("top1 ") and "8x2x2" in out and (tmp_path / "metrics.json").is_file()


def test_image_folders_lowshot(data, tmp_path, capsys):
    argv = ["--checkpoint", str(data["export"]), "--train-dir", str(data["train_dir"]), "--val-dir",
            str(data["val_dir"]), "--label-fraction", "0.5", "--splits", "2", "--epochs", "2", "--out",
            str(tmp_path), *CLIPS]
    assert main(argv) == 0
    assert "±" in capsys.readouterr().out and (tmp_path / "splits.json").is_file()


@pytest.mark.parametrize("extra, match", [
    (["--checkpoint", str(OFFICIAL_CKPT)], r"official V-JEPA checkpoint.*pass arch="),
    (["--checkpoint", "none", "--train-dir", "d"], r"--train-csv and --train-dir are both given"),
    (["--checkpoint", "none", "--val-csv", "", "--val-dir", "d"], r"give the data as one pair"),
    (["--checkpoint", "none"], r"checkpoint 'none' \(random init\) needs an arch"),
    (["--checkpoint", "no/such.pt", "--segments", "0"], r"clip\.num_segments = 0: must be >= 1"),
    (["--checkpoint", "no/such.pt", "--label-fraction", "1.5"], r"lowshot\.label_fraction = 1\.5: must be in \(0, 1\]"),
    (["--checkpoint", "no/such.pt"], r"no/such\.pt: no such checkpoint"),
])
def test_one_line_errors(data, tmp_path, capsys, extra, match):
    argv = ["--train-csv", str(data["train_csv"]), "--val-csv", str(data["val_csv"]), "--out", str(tmp_path),
            *CLIPS, *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert re.search(match, err), err


def test_checkpoint_forms(data, tmp_path):
    exported = load_frozen_encoder(data["export"])  # our pretrain export: target_encoder falls back to encoder
    again = load_frozen_encoder(data["export"] / "model.safetensors", key="encoder")
    assert all(torch.equal(a, b) for a, b in zip(exported.state_dict().values(), again.state_dict().values()))

    cfg = PretrainConfig()
    cfg.model.arch, cfg.model.embed_dim, cfg.model.depth, cfg.model.num_heads = "custom", 48, 2, 2
    cfg.data.num_frames, cfg.data.crop_size = 8, 32
    make = lambda: create_encoder("custom", num_frames=8, img_size=32, embed_dim=48, depth=2, num_heads=2)  # noqa
    online, target = make(), make()
    torch.save({"format": FORMAT, "encoder": online.state_dict(), "target_encoder": target.state_dict(),
                "config": to_dict(cfg)}, tmp_path / "latest.pt")
    loaded = load_frozen_encoder(tmp_path / "latest.pt")
    assert torch.equal(loaded.blocks[1].mlp.fc1.weight, target.blocks[1].mlp.fc1.weight)
    with pytest.raises(ConfigError, match="disagrees with"):
        load_frozen_encoder(tmp_path / "latest.pt", arch="vit_large")

    official = load_frozen_encoder(OFFICIAL_CKPT, arch="custom", embed_dim=72, depth=2, num_heads=3,
                                   num_frames=8, img_size=64)
    assert official.cfg.embed_dim == 72 and not official.training
    with pytest.raises(CheckpointError, match="width-72, depth-2 encoder but arch='vit_tiny'"):
        load_frozen_encoder(OFFICIAL_CKPT, arch="vit_tiny", num_frames=8, img_size=64)

    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other\.pt: unknown checkpoint format \(found weights\)"):
        load_frozen_encoder(tmp_path / "other.pt")
    (tmp_path / "junk.pth.tar").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"junk\.pth\.tar: (refused to unpickle|not a readable)"):
        load_frozen_encoder(tmp_path / "junk.pth.tar")
    a, b = (load_frozen_encoder("none", arch="custom", embed_dim=48, depth=1, num_heads=2, seed=3) for _ in "ab")
    assert torch.equal(a.patch_embed.proj.weight, b.patch_embed.proj.weight)  # the baseline is seeded


def test_vjepa2_probe_then_hf_classification_export(tmp_path, capsys):
    """``--probe vjepa2`` trains the 4-block probe on a tiny RoPE encoder; ``vjepa convert to-hf-classifier``
    turns the output into a folder transformers loads, giving our logits (classification parity)."""
    transformers = pytest.importorskip("transformers")
    from vjepa.cli.main import main as vjepa_main
    from vjepa.weights.io import save_modules

    data = make_dataset(tmp_path / "data")
    enc = create_encoder("custom", embed_dim=32, depth=1, num_heads=2, num_frames=8, img_size=32, patch_size=16,
                         use_rope=True)
    export = save_modules(tmp_path / "rope", {"encoder": enc}, {"format": "vjepa-export/1",
                                                                 "encoder": dataclasses.asdict(enc.cfg)})
    out = tmp_path / "eval"
    argv = ["--checkpoint", str(export), "--train-csv", str(data["train_csv"]), "--val-csv", str(data["val_csv"]),
            "--probe", "vjepa2", "--epochs", "1", "--out", str(out), *CLIPS]
    assert main(argv) == 0
    cfg = json.loads((out / "probe" / "config.json").read_text())["probe"]
    assert (cfg["variant"], cfg["depth"]) == ("vjepa2", 4)
    assert vjepa_main(["convert", "to-hf-classifier", str(out), str(tmp_path / "hf")]) == 0
    assert "VJEPA2ForVideoClassification" in capsys.readouterr().out
    hf = transformers.VJEPA2ForVideoClassification.from_pretrained(tmp_path / "hf").eval()
    probe = load_probe(out / "probe", 2)
    video = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        err = (hf(pixel_values_videos=video.transpose(1, 2)).logits - probe(enc(video))).abs().max().item()
    assert err <= 1e-4


@pytest.mark.parametrize("protocol", ["knn", "linear"])
def test_quick_lowshot_on_a_small_training_set_says_what_is_too_small(data, tmp_path, capsys, protocol):
    """4 training clips (2 per class) at 50 %: 1 per class per split, nothing to hold out (issue #18, item 3)."""
    small = tmp_path / "small_train.csv"
    small.write_text("".join(f"{data['train_csv'].parent / f'train_{i}.mp4'} {i % 2}\n" for i in range(4)))
    out = tmp_path / "out"
    argv = ["--checkpoint", str(data["export"]), "--train-csv", str(small), "--val-csv", str(data["val_csv"]),
            "--protocol", protocol, "--label-fraction", "0.5", "--splits", "2", "--out", str(out), *CLIPS]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "validation set is empty" not in err, err
    assert re.search(r"lowshot\.label_fraction 0\.5 of the 4 training samples keeps 1 per class \(2 in all\).*"
                     r"at least 2 training samples; use lowshot\.label_fraction >= 0\.75", err), err
    assert not out.exists()  # checked before any feature is extracted or any file written
    argv[argv.index("--label-fraction") + 1] = "0.75"
    assert main(argv) == 0 and (out / "splits.json").is_file()


@pytest.mark.parametrize("labels, num_classes, match", [
    ([0, 1, 0, 1], 3, r"small_train\.csv: no training example of class 2 \(num_classes 3\); set num_classes 2"),
    ([1, 2, 1, 2], 3, r"no training example of class 0 \(num_classes 3\); add their examples"),
])
def test_num_classes_without_training_examples_stops(data, tmp_path, capsys, labels, num_classes, match):
    small = tmp_path / "small_train.csv"
    small.write_text("".join(f"{data['train_csv'].parent / f'train_{i}.mp4'} {y}\n" for i, y in enumerate(labels)))
    argv = ["--checkpoint", str(data["export"]), "--train-csv", str(small), "--val-csv", str(data["val_csv"]),
            "--protocol", "knn", "--out", str(tmp_path / "out"), *CLIPS, "--num-classes", str(num_classes)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(match, err), err
    assert not (tmp_path / "out").exists()


def test_one_class_folder_is_refused(data, tmp_path, capsys):
    one = tmp_path / "one"
    (one / "bright").mkdir(parents=True)
    for png in sorted((data["train_dir"] / "bright").iterdir()):
        (one / "bright" / png.name).symlink_to(png)
    argv = ["--checkpoint", str(data["export"]), "--train-dir", str(one), "--val-dir", str(one), "--protocol",
            "knn", "--out", str(tmp_path / "out"), *CLIPS]
    for classes, match in [("1", r"num_classes 1: a classifier needs at least 2 classes"),
                           ("2", r"1 class sub-folder\(s\) but num_classes is 2; a classifier needs at least 2")]:
        assert main([*argv, "--num-classes", classes]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and re.search(match, err), err
    assert not (tmp_path / "out").exists()


def test_a_wrong_crop_size_names_only_the_crop(data, tmp_path, capsys):
    argv = ["--checkpoint", str(data["export"]), "--train-csv", str(data["train_csv"]), "--val-csv",
            str(data["val_csv"]), "--out", str(tmp_path / "out"), *CLIPS, "--crop-size", "30"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == "error: clip.crop_size 30 must be a multiple of the encoder's patch size 16\n", err


def test_a_second_eval_into_a_held_folder_is_refused(data, tmp_path, capsys):
    from support.lock_holder import lock_held_elsewhere

    from vjepa.cli.main import main as vjepa_main

    argv = ["eval", "--checkpoint", str(data["export"]), "--train-csv", str(data["train_csv"]), "--val-csv",
            str(data["val_csv"]), "--protocol", "knn", "--out", str(tmp_path / "out"), *CLIPS]
    with lock_held_elsewhere(tmp_path / "out") as holder:
        assert vjepa_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert f"{tmp_path / 'out'} is in use by another evaluation (pid {holder.pid} " in err
    assert not (tmp_path / "out" / "metrics.json").exists()
