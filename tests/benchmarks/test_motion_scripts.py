"""The motion-investigation scripts in benchmarks/: labels, tables and errors, at tiny sizes."""

import math
import sys
from pathlib import Path

import pytest

from vjepa.data.synthetic import render_clip

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def scripts():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import motion_diagnostics
        import motion_supervised
        yield motion_diagnostics, motion_supervised
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_labels_follow_the_rendered_trajectory(scripts):
    diagnostics, _ = scripts
    indices = range(40, 72)
    clips, labels = diagnostics.render(indices, 64)
    assert len(clips) == 32 and tuple(clips[0].shape) == (3, 16, 64, 64)
    for j, i in enumerate(indices):
        item = render_clip(0, i, num_frames=16, size=64, num_classes=4)
        dx, dy = (item["trajectory"][1] - item["trajectory"][0]).tolist()
        dx, dy = (dx + 32) % 64 - 32, (dy + 32) % 64 - 32  # unwrap the torus
        quadrant = labels["direction"][j].item()
        # Counter-clockwise on screen: quadrant 0 moves right and up (y decreasing), 1 left and up, ...
        assert (dx > 0) == (quadrant in (0, 3)) and (dy < 0) == (quadrant in (0, 1))
        assert labels["speed"][j].item() == int(math.hypot(dx, dy) > 2.75)
        assert labels["turn"][j].item() == item["motion"] and labels["appearance"][j].item() == item["appearance"]


def test_diagnostics_table_has_random_init_and_the_checkpoint(scripts, capsys):
    diagnostics, _ = scripts
    assert diagnostics.main(["none", "--train", "8", "--val", "8", "--size", "32"]) == 2  # 'none' needs an arch
    assert "needs an arch" in capsys.readouterr().err


def test_diagnostics_on_an_export(scripts, capsys, tmp_path):
    diagnostics, _ = scripts
    from dataclasses import asdict

    from vjepa.models.encoder import EncoderConfig, VideoEncoder
    from vjepa.weights.io import save_modules

    encoder = VideoEncoder(EncoderConfig(img_size=32, num_frames=16, embed_dim=24, depth=1, num_heads=2))
    save_modules(tmp_path / "export", {"encoder": encoder}, {"format": "vjepa-export/1",
                                                             "encoder": asdict(encoder.cfg)})
    assert diagnostics.main([str(tmp_path / "export"), "--train", "8", "--val", "4", "--size", "32"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]  # no |---| line
    assert rows[0].startswith("| encoder | turn | direction | speed | appearance |")
    assert rows[1].startswith("| random init |") and "(target_encoder)" in rows[2]
    assert rows[3] == "| (chance) | 25.0 | 25.0 | 50.0 | 25.0 |"


def test_supervised_control_trains_and_reports(scripts, capsys):
    _, supervised = scripts
    assert supervised.main(["--label", "direction", "--steps", "2", "--eval-every", "1", "--val", "16"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[-1].startswith("step 2: 64 clips seen") and "val top-1" in lines[-1]
