"""``vjepa surprise`` through the CLI: videos and quadruplets on a tiny random model, and one bad input at a time
(exit 2, one line naming the file / line / value, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from vjepa.cli.main import main as cli_main
from vjepa.data.physics import make_quadruplets
from vjepa.data.physics_files import write_mp4, write_quadruplets

# random-init model: width 16, 1 block, 2 heads, 4 frames x 32 px, patch 16 -> windows of 4 frames, context 2.
MODEL = ["--checkpoint", "none", "--arch", "custom", "--embed-dim", "16", "--depth", "1", "--num-heads", "2",
         "--pretrain-frames", "4", "--pretrain-img-size", "32", "--no-progress"]


@pytest.fixture(scope="module")
def quads_csv(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("quads")
    return write_quadruplets(folder, make_quadruplets(2, seed=0, num_frames=12, size=32))


def main(argv: list[str]) -> int:
    return cli_main(["surprise", *argv])


def outputs(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name != ".vjepa.lock") if out.exists() else []


def test_videos_give_csv_json_plots_and_skip_bad_files(quads_csv, tmp_path, capsys):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    short = write_mp4(tmp_path / "short.mp4", torch.zeros(4, 32, 32, 3, dtype=torch.uint8))  # 2 sampled < 4
    out = tmp_path / "out"
    folder = quads_csv.parent / "permanence"
    assert main([str(folder), str(bad), str(short), "--out", str(out), *MODEL]) == 0
    assert outputs(out) == ["plots", "skipped.txt", "surprise.csv", "surprise.json"]
    summary = json.loads((out / "surprise.json").read_text())
    assert summary["format"] == "vjepa-surprise/1" and len(summary["videos"]) == 8
    video = summary["videos"][0]
    assert video["num_frames"] == 12 and list(video["series"]) == ["2"]
    assert len(video["series"]["2"]["values"]) == 2  # 6 sampled frames, windows of 4 every 2
    lines = (out / "surprise.csv").read_text().splitlines()
    assert lines[0].startswith("path,context_frames") and len(lines) == 9
    assert len(list((out / "plots").glob("*.png"))) == 8
    skipped = (out / "skipped.txt").read_text()
    assert "broken.mp4" in skipped and "short.mp4" in skipped
    err = capsys.readouterr().err
    assert "skipped" in err and "Traceback" not in err


def test_quads_give_metrics_and_chart(quads_csv, tmp_path, capsys):
    out = tmp_path / "voe"
    assert main(["--quads", str(quads_csv), "--out", str(out), "--context-frames", "2", *MODEL]) == 0
    assert outputs(out) == ["metrics.json", "voe.png"]
    metrics = json.loads((out / "metrics.json").read_text())
    rows = {(r["property"], r["rule"]): r for r in metrics["rows"]}
    assert len(rows) == 8 and all(r["n"] == 2 for r in rows.values())
    low, high = rows[("permanence", "mean")]["ci95"]
    assert 0 <= low <= rows[("permanence", "mean")]["accuracy"] <= high <= 1
    assert "| permanence | 2 | 2 |" in capsys.readouterr().out


def bad_run(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_quads_with_a_missing_movie(quads_csv, tmp_path, capsys):
    csv = tmp_path / "q.csv"
    lines = quads_csv.read_text().splitlines()
    csv.write_text("\n".join([lines[0], lines[1].replace("00000_b.mp4", "gone.mp4")]) + "\n")
    for name in ("permanence",):
        (tmp_path / name).symlink_to(quads_csv.parent / name)
    err = bad_run(["--quads", str(csv), "--out", str(tmp_path / "o"), *MODEL], capsys)
    assert f"{csv}:2" in err and "gone.mp4 not found" in err
    assert outputs(tmp_path / "o") == []


def test_quads_with_a_wrong_column_count(quads_csv, tmp_path, capsys):
    csv = tmp_path / "q.csv"
    lines = quads_csv.read_text().splitlines()
    csv.write_text("\n".join([lines[0], lines[1] + ",extra"]) + "\n")
    err = bad_run(["--quads", str(csv), "--out", str(tmp_path / "o"), *MODEL], capsys)
    assert f"{csv}:2: 7 columns, expected 6" in err
    assert outputs(tmp_path / "o") == []


def test_quads_with_a_movie_shorter_than_a_window(quads_csv, tmp_path, capsys):
    folder = tmp_path / "data"
    write_mp4(folder / "short.mp4", torch.zeros(4, 32, 32, 3, dtype=torch.uint8))
    long = [write_mp4(folder / f"{k}.mp4", torch.zeros(12, 32, 32, 3, dtype=torch.uint8)) for k in range(3)]
    csv = folder / "q.csv"
    csv.write_text("property,possible_a,possible_b,impossible_c,impossible_d,break_frame\n"
                   f"permanence,{long[0].name},{long[1].name},{long[2].name},short.mp4,6\n")
    err = bad_run(["--quads", str(csv), "--out", str(tmp_path / "o"), *MODEL], capsys)
    assert f"{csv}:2: movie {folder / 'short.mp4'}" in err and "shorter than one window of 4" in err
    assert outputs(tmp_path / "o") == []


@pytest.mark.parametrize("value, message", [("4", "context length 4 must be in [2, 4)"),
                                            ("2,x", "--context-frames '2,x': give comma-separated integers")])
def test_bad_context_frames(quads_csv, tmp_path, capsys, value, message):
    err = bad_run(["--quads", str(quads_csv), "--out", str(tmp_path / "o"), "--context-frames", value, *MODEL],
                  capsys)
    assert message in err
    assert not (tmp_path / "o").exists()


def test_videos_and_quads_together_or_neither(quads_csv, tmp_path, capsys):
    assert "not both and not neither" in bad_run(["--out", str(tmp_path / "o"), *MODEL], capsys)
    assert "not both" in bad_run([str(quads_csv.parent), "--quads", str(quads_csv), "--out", str(tmp_path / "o"),
                                  *MODEL], capsys)


def test_a_pretraining_export_without_predictor_is_refused(tmp_path, capsys):
    from vjepa.core import formats
    from vjepa.models.registry import create_encoder
    from vjepa.weights.io import save_modules

    encoder = create_encoder("custom", embed_dim=16, depth=1, num_heads=2, num_frames=4, img_size=32)
    save_modules(tmp_path / "export", {"encoder": encoder}, {"format": formats.EXPORT, "encoder": vars(encoder.cfg)})
    err = bad_run([str(tmp_path), "--checkpoint", str(tmp_path / "export"), "--out", str(tmp_path / "o")], capsys)
    assert "no predictor" in err and "checkpoints/latest.pt" in err
