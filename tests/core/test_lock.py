"""The output-folder lock: a second holder is refused with one line naming the holder; a killed holder's folder
is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from vjepa.core.errors import ConfigError
from vjepa.core.lock import LOCK_NAME, output_lock

HOLD = "import sys, time; from vjepa.core.lock import output_lock\nwith output_lock(sys.argv[1]):\n" \
       "    print('held', flush=True); time.sleep(60)\n"


def _start_holder(folder) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_lock_is_exclusive_within_a_process_and_released_after(tmp_path):
    with output_lock(tmp_path / "out") as path:
        assert path.name == LOCK_NAME
        assert f"pid {os.getpid()}" in path.read_text()
        with pytest.raises(ConfigError, match=r"out is in use by another run \(pid \d+ on "):
            with output_lock(tmp_path / "out"):
                pass
    with output_lock(tmp_path / "out"):  # released: taken again
        pass


def test_a_live_holder_refuses_and_a_killed_holder_is_taken_over(tmp_path):
    proc = _start_holder(tmp_path)
    try:
        with pytest.raises(ConfigError) as err:
            with output_lock(tmp_path, what="pretraining run"):
                pass
        message = str(err.value)
        assert "\n" not in message and f"pid {proc.pid}" in message and "pretraining run" in message
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while True:  # the kernel drops the lock with the process
        try:
            with output_lock(tmp_path) as path:
                assert f"pid {os.getpid()}" in path.read_text()
            break
        except ConfigError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
