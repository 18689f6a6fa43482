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


class ThrottledBar(tqdm):
    """A tqdm bar whose ``set_postfix`` redraws only on a terminal: elsewhere the new values show at the next
    timed refresh (tqdm's own ``set_postfix`` redraws at every call, which would defeat the interval)."""

    live: bool = True

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any) -> None:
        super().set_postfix(ordered_dict, refresh=refresh and self.live, **kwargs)


def progress_bar(iterable: Iterable[Any] | None = None, *, enabled: bool = True, file: TextIO | None = None,
                 **kwargs: Any) -> tqdm:
    """A tqdm bar on ``file`` (stderr by default); disabled when ``enabled`` is false. Keyword arguments go to
    tqdm (``total``, ``initial``, ``desc``, ``unit``, ``leave``)."""
    file = file if file is not None else sys.stderr
    live = _is_terminal(file)
    if not live:
        kwargs.setdefault("mininterval", NON_TTY_INTERVAL_S)
        kwargs.setdefault("maxinterval", max(NON_TTY_INTERVAL_S, kwargs["mininterval"]))
        kwargs.setdefault("ascii", True)
    bar = ThrottledBar(iterable, disable=not enabled, file=file, **kwargs)
    bar.live = live
    return bar


def write_line(message: str, file: TextIO | None = None) -> None:
    """Print a line without breaking an active bar."""
    tqdm.write(message, file=file if file is not None else sys.stderr)
