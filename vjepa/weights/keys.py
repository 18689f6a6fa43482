"""Tensor-name bookkeeping shared by every loader: splitting ``<module>.<parameter>`` names, stripping wrappers.

Our safetensors files name tensors ``<module>.<parameter>`` (``encoder.blocks.0.attn.qkv.weight``, ``probe.*``,
``head.*``); official files prefix their state dicts with ``module.`` (DDP) and ``backbone.`` (multi-mask wrapper).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")

WRAPPERS = ("module.", "backbone.")


def split_prefixes(tensors: Mapping[str, T]) -> dict[str, dict[str, T]]:
    """``{"encoder.a.b": t}`` -> ``{"encoder": {"a.b": t}}``; a name without a dot goes under ``""``."""
    out: dict[str, dict[str, T]] = {}
    for name, value in tensors.items():
        prefix, dot, rest = name.partition(".")
        if dot:
            out.setdefault(prefix, {})[rest] = value
        else:
            out.setdefault("", {})[name] = value
    return out


def prefixes(names: Iterable[str]) -> list[str]:
    """The sorted first components of ``names`` (the module names of one of our safetensors files)."""
    return sorted({name.split(".", 1)[0] for name in names})


def strip_prefixes(state: Mapping[str, T], wrappers: tuple[str, ...] = WRAPPERS) -> dict[str, T]:
    """Remove leading ``module.`` / ``backbone.`` (DDP and multi-mask wrappers) from every key."""
    out = {}
    for key, value in state.items():
        while key.startswith(wrappers):
            key = key.split(".", 1)[1]
        out[key] = value
    return out
