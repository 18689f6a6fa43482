"""Every file the project writes goes through :func:`atomic_write`: a crash or a kill never leaves a half-written
file, and readers see either the old content or the new one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``, so a crash never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (mode 0644, fsynced)."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return Path(path)


def write_json_atomic(path: str | os.PathLike, obj: object, indent: int | None = 1) -> Path:
    """Write ``obj`` as JSON (one trailing newline) to ``path`` atomically."""
    import json

    return write_text_atomic(path, json.dumps(obj, indent=indent) + "\n")
