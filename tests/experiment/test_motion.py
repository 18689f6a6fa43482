"""The motion investigation's checks (`vjepa experiment motion-probes`, `motion-supervised`): labels, tables and
errors, at tiny sizes."""

import math
from dataclasses import asdict

import pytest

from vjepa.cli.main import main
from vjepa.core.errors import ConfigError
from vjepa.data.synthetic import render_clip
from vjepa.experiment.motion import motion_supervised, render
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.weights.io import save_modules


def test_labels_follow_the_rendered_trajectory():
    indices = range(40, 72)
    clips, labels = render(indices, 64)
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


def test_probes_of_a_random_init_checkpoint_need_an_arch(capsys):
    assert main(["experiment", "motion-probes", "none", "--train", "8", "--val", "8", "--size", "32"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "needs an arch" in err and len(err.strip().splitlines()) == 1


def test_probes_table_has_random_init_and_the_checkpoint(capsys, tmp_path):
    encoder = VideoEncoder(EncoderConfig(img_size=32, num_frames=16, embed_dim=24, depth=1, num_heads=2))
    save_modules(tmp_path / "export", {"encoder": encoder}, {"format": "vjepa-export/1",
                                                             "encoder": asdict(encoder.cfg)})
    argv = ["experiment", "motion-probes", str(tmp_path / "export"), "--train", "8", "--val", "4", "--size", "32"]
    assert main(argv) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]  # no |---| line
    assert rows[0].startswith("| encoder | turn | direction | speed | appearance |")
    assert rows[1].startswith("| random init |") and "(target_encoder)" in rows[2]
    assert rows[3] == "| (chance) | 25.0 | 25.0 | 50.0 | 25.0 |"


def test_supervised_control_trains_and_reports(capsys):
    argv = ["experiment", "motion-supervised", "--label", "direction", "--steps", "2", "--eval-every", "1",
            "--val", "16"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[-1].startswith("step 2: 64 clips seen") and "val top-1" in lines[-1]


def test_supervised_control_checks_its_parameters():
    with pytest.raises(ConfigError, match="label='speed'"):
        motion_supervised("speed", steps=1)
    with pytest.raises(ConfigError, match="steps=0"):
        motion_supervised("turn", steps=0)
