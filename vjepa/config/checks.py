"""The one set of cross-field check helpers every config's ``validate`` function uses.

Each helper raises a one-line :class:`ConfigError` that names the dotted config key and its value, e.g.
``clip.num_frames = 0: must be >= 1``; the validate functions only say which rule applies to which key.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from vjepa.core.errors import ConfigError


def need(ok: bool, message: str) -> None:
    """Raise ``ConfigError(message)`` unless ``ok``: the one primitive of every cross-field rule."""
    if not ok:
        raise ConfigError(message)


def choose(key: str, value: str, choices: Collection[str]) -> None:
    """``value`` must be one of ``choices``; the error suggests the closest choice."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    need(value in choices, f"{key} = {value!r}: use one of {', '.join(sorted(choices))}{hint}")


def value_at(cfg: Any, key: str) -> Any:
    """The value of dotted ``key`` (``clip.num_frames``) in the nested dataclass ``cfg``."""
    return functools.reduce(getattr, key.split("."), cfg)


def at_least(cfg: Any, low: float, keys: Iterable[str], prefix: str = "") -> None:
    """Every dotted key of ``keys`` in ``cfg`` is null (where its field allows it) or >= ``low``; errors show the
    key after ``prefix`` (the place of ``cfg`` in its config, e.g. ``clip.``)."""
    for key in keys:
        value = value_at(cfg, key)
        need(value is None or value >= low, f"{prefix}{key} = {value}: must be >= {low}")


def span(key: str, pair: Sequence[float], upper: float | None = 1.0) -> None:
    """A ``[min, max]`` pair with ``0 < min <= max`` (``<= upper`` unless None)."""
    bound = f" <= {upper:g}" if upper is not None else ""
    need(0 < pair[0] <= pair[1] and (upper is None or pair[1] <= upper),
         f"{key} = {list(pair)}: need [min, max] with 0 < min <= max{bound}")
