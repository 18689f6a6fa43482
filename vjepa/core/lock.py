"""One run per output folder: a lock held for the run's life.

The lock is an ``flock`` on ``OUT/.vjepa.lock``, which records the holder's pid and host. The operating system
releases it when the holder exits, however it exits (SIGKILL included), so the folder of a killed run is taken
over by the next run without any clean-up, while a second run started beside a live one is refused with one line.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from vjepa.core.errors import ConfigError

LOCK_NAME = ".vjepa.lock"


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        text = ""
    return text or "an unknown process"


@contextlib.contextmanager
def output_lock(out_dir: str | os.PathLike, what: str = "run") -> Iterator[Path]:
    """Hold the lock of ``out_dir`` (created if missing) for the ``with`` block.

    Raises:
        ConfigError naming the folder and the holder when another live process holds it.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"{out} is in use by another {what} ({_holder(path)}); wait for it to end or choose "
                              f"another output folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
