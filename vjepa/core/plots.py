"""Figures without pyplot's global state, saved atomically: a plot is either the old file or the new one."""

from __future__ import annotations

import io
import os
from pathlib import Path

from vjepa.core.io import atomic_write


def new_figure(width: float, height: float, dpi: int = 100):
    """A matplotlib ``Figure`` on the Agg canvas (no display, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure, path: str | os.PathLike, dpi: int | None = None) -> Path:
    """Render ``figure`` to PNG in memory, then write it atomically to ``path``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", **({"dpi": dpi} if dpi else {}))
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(buffer.getvalue()))
    return Path(path)
