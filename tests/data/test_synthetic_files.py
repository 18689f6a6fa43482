"""``vjepa data sample``: embedded-dataset clips as mp4 files with train/val lists that the video commands read."""

from __future__ import annotations

import pytest
import torch

from vjepa.cli.main import main
from vjepa.core.errors import ConfigError
from vjepa.data.check import check_files, expand_inputs
from vjepa.data.decode import decode_frames
from vjepa.data.index import read_index
from vjepa.data.synthetic import VAL_OFFSET, render_clip
from vjepa.data.synthetic_files import write_sample_clips


def test_sample_writes_mp4s_and_official_lists(tmp_path, capsys):
    out = tmp_path / "clips"
    assert main(["data", "sample", "--out", str(out), "--count", "8", "--size", "32", "--frames", "12"]) == 0
    printed = capsys.readouterr().out
    assert "6 training and 2 validation clips (32x32, 12 frames" in printed and "next: vjepa data check" in printed
    lines = (out / "train.csv").read_text().splitlines()
    assert lines[:2] == ["videos/train_00000.mp4 0", "videos/train_00001.mp4 1"] and len(lines) == 6
    val = read_index(str(out / "val.csv"))
    assert [e.label for e in val] == [0, 1] and val[0].path == str(out / "videos" / "val_00000.mp4")
    reports = check_files(expand_inputs([str(out / "train.csv"), str(out / "val.csv")]), 4, 2, progress=False)
    assert len(reports) == 8 and all(r.ok and r.num_frames == 12 and (r.width, r.height) == (32, 32)
                                     for r in reports)
    decoded = torch.as_tensor(decode_frames(val[1].path, list(range(12)))).float()

    def error(index: int) -> float:
        return (decoded - render_clip(0, index, 12, 32, 4)["video"].float()).abs().mean().item()

    assert error(VAL_OFFSET + 1) < 10 and error(VAL_OFFSET + 1) < error(VAL_OFFSET) / 2  # that clip, 4:2:0 colours
    assert not list(out.rglob(".*.tmp"))  # atomic writes leave no temporary files


def test_sample_bad_arguments_name_the_parameter(tmp_path, capsys):
    with pytest.raises(ConfigError, match="size=33"):
        write_sample_clips(tmp_path, count=4, size=33)
    assert main(["data", "sample", "--out", str(tmp_path / "x"), "--count", "1"]) == 2
    assert capsys.readouterr().err.startswith("error: --count 1 ")
    assert not (tmp_path / "x").exists()
