"""Progress bars for long work: tqdm on a terminal; on a log file or pipe (CI, ``> log 2>&1``) one update every
few seconds instead of thousands of carriage-return redraws."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TextIO

from tqdm import tqdm

NON_TTY_INTERVAL_S = 5.0  # seconds between two updates of a bar written to a non-terminal


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams (pytest's capture) are not terminals
        return False


def progress_bar(iterable: Iterable[Any] | None = None, *, enabled: bool = True, file: TextIO | None = None,
                 **kwargs: Any) -> tqdm:
    """A tqdm bar on ``file`` (stderr by default); disabled when ``enabled`` is false. Keyword arguments go to
    tqdm (``total``, ``initial``, ``desc``, ``unit``, ``leave``)."""
    file = file if file is not None else sys.stderr
    if not _is_terminal(file):
        kwargs.setdefault("mininterval", NON_TTY_INTERVAL_S)
        kwargs.setdefault("maxinterval", max(NON_TTY_INTERVAL_S, kwargs["mininterval"]))
        kwargs.setdefault("ascii", True)
    return tqdm(iterable, disable=not enabled, file=file, **kwargs)


def write_line(message: str, file: TextIO | None = None) -> None:
    """Print a line without breaking an active bar."""
    tqdm.write(message, file=file if file is not None else sys.stderr)
