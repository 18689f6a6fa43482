"""`vjepa pretrain --data`: pretraining on real files, where bad files are skipped, counted and reported."""

from __future__ import annotations

import json
import subprocess
import sys


def test_pretrain_over_csv_with_bad_files(tmp_path, media, sample_clips):
    good = [sample_clips[name] for name in sorted(sample_clips)][:2] + [media["long"], media["portrait"]]
    bad = [media[name] for name in ("missing", "empty", "text", "truncated")]
    csv = tmp_path / "train.csv"
    csv.write_text("".join(f"{path} 0\n" for path in good * 2 + bad))
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "vjepa", "pretrain", "--config", "cpu_tiny", "--data", str(csv), "--out", str(out),
           "--no-progress", "--set", "run.max_steps=3", "--set", "data.frame_step=2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 3 and summary["bad_files"] == len(bad)
    listed = (out / "bad_files.txt").read_text()
    for path in bad:
        assert path in listed and path in done.stderr
    assert "unreadable file(s) were skipped" in done.stderr


def test_pretrain_missing_index_is_one_line(tmp_path):
    cmd = [sys.executable, "-m", "vjepa", "pretrain", "--config", "cpu_tiny", "--data", str(tmp_path / "nope.csv"),
           "--out", str(tmp_path / "run"), "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "nope.csv" in done.stderr and len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_cli_data_check(tmp_path, media, sample_clips):
    good = tmp_path / "good.csv"
    good.write_text("".join(f"{p} 0\n" for p in [*sample_clips.values(), media["long"]]))
    done = subprocess.run([sys.executable, "-m", "vjepa", "data", "check", str(good), "--no-progress"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    bad_names = ("missing", "empty", "text", "truncated")
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(f"{media[n]} 0\n" for n in ("long", *bad_names)))
    done = subprocess.run([sys.executable, "-m", "vjepa", "data", "check", str(bad), "--no-progress"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    for name in bad_names:
        assert media[name] in done.stdout + done.stderr


def test_worker_errors_reach_the_user_as_one_line(tmp_path, media):
    csv = tmp_path / "all_bad.csv"
    csv.write_text("".join(f"{media[n]} 0\n" for n in ("missing", "empty", "text")))
    cmd = [sys.executable, "-m", "vjepa", "pretrain", "--config", "cpu_tiny", "--data", str(csv), "--out",
           str(tmp_path / "run"), "--no-progress", "--set", "data.num_workers=1", "--set", "data.max_retries=2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "loads in a row failed" in errors[0] and "vjepa data check" in errors[0]
    assert "Traceback" not in done.stderr
