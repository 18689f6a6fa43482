"""Command-line behaviour on bad input: one line on stderr, exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vjepa.cli.main import one_line


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vjepa", *args], capture_output=True, text=True, timeout=120)


def assert_one_line_error(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    for needle in needles:
        assert needle in done.stderr


def test_output_path_that_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_line_error(run("pretrain", "--config", "cpu_tiny", "--out", str(blocker / "run")), str(blocker))


@pytest.mark.parametrize("override,needle", [("run.seed=-1", "run.seed"), ("model.num_heads=5", "heads"),
                                             ("optim.lr=abc", "optim.lr"), ("data.crop_size=33", "crop_size")])
def test_bad_config_values(tmp_path, override, needle):
    assert_one_line_error(run("pretrain", "--config", "cpu_tiny", "--out", str(tmp_path / "r"), "--set", override),
                          needle)
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_worker_traceback_is_reduced_to_the_message():
    wrapped = ("Caught DataError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
               '  File "x.py", line 1, in f\nvjepa.core.errors.DataError: a.mp4: file not found; fix the path\n')
    assert one_line(wrapped) == "a.mp4: file not found; fix the path"
    assert one_line("plain message") == "plain message"


def test_every_demo_option_has_help_text():
    import argparse

    from vjepa.cli.main import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    demo = sub.choices["demo"]
    missing = [a.option_strings[0] for a in demo._actions if a.option_strings and not a.help]
    assert missing == []
