"""Defaults <- YAML file (or preset name) <- ``key=value`` overrides -> a typed config dataclass.

One loader for every config (:class:`PretrainConfig`, ``FinetuneConfig``, ``EvalConfig``, ``PaperConfig``):
unknown keys (with a did-you-mean hint) and wrong types raise a one-line :class:`ConfigError`; the type rules come
from the dataclass annotations, so new fields are checked automatically. Cross-field rules: each config's
``validate`` function (pretraining: :func:`vjepa.config.validation.validate`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import os
import re
import reprlib
import types
import typing
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from vjepa.config.schema import PretrainConfig
from vjepa.core.errors import ConfigError
from vjepa.core.io import write_text_atomic

PRESET_PACKAGE = "vjepa.configs"
EXPERIMENT_PREFIX = "experiment_"
"""Packaged files named ``experiment_*.yaml`` configure experiments (``vjepa experiment``), not pretraining runs."""
OTHER_PREFIXES = (EXPERIMENT_PREFIX, "world_")
"""Packaged files that are not pretraining presets (``world_*.yaml``: ``vjepa world train``)."""
_NONE = type(None)
T = TypeVar("T")
# Official key names and common synonyms -> our field names; only used to suggest a fix for an unknown key.
_ALIASES = {"learning_rate": "lr", "ref_lr": "lr", "warmup": "warmup_epochs", "ipe": "steps_per_epoch",
            "ipe_scale": "schedule_horizon", "num_epochs": "epochs", "model_name": "arch", "sampling_rate":
            "frame_step", "mask": "masks", "optimization": "optim", "meta": "run", "wd": "weight_decay",
            # names of the flat fine-tuning / evaluation settings before the shared sections (vjepa.config.sections)
            "frames_per_clip": "num_frames", "workers": "num_workers", "segments": "num_segments", "views":
            "num_views", "splits": "num_splits"}


class _Dumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` with block-style mappings and flow-style lists of scalars (``ema: [0.998, 1.0]``)."""


_Dumper.add_representer(list, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", data, flow_style=not any(isinstance(v, (dict, list)) for v in data)))


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``1e-3`` and ``1.0e5`` as floats (as YAML 1.2 does), not as strings."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def parse_yaml(text: str, source: str) -> Any:
    """``yaml.safe_load`` with YAML-1.2 floats; a syntax error becomes a one-line ConfigError naming ``source``."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(e, "problem", None) or e).split())
        raise ConfigError(f"{source}: invalid YAML{where}: {problem}") from None


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:  # field -> annotation (get_type_hints resolves the __future__ strings)
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _describe(tp: Any) -> str:  # human-readable name of an annotation, for error messages
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is _NONE else _describe(a) for a in args)
    if origin is tuple and Ellipsis not in args:
        return f"a list of {len(args)} " + ("numbers" if set(args) == {float} else ", ".join(map(_describe, args)))
    if origin in (list, tuple):
        return f"a list of {_describe(args[0]).split(' ', 1)[1]}s"
    names = {bool: "a bool (true/false)", int: "an int", float: "a number", str: "a string"}
    return "a mapping" if dataclasses.is_dataclass(tp) else names.get(tp, getattr(tp, "__name__", str(tp)))


def _type_error(key: str, tp: Any, value: Any, source: str) -> ConfigError:
    return ConfigError(f"{source}: {key} must be {_describe(tp)}, got {reprlib.repr(value)}")


@functools.lru_cache(maxsize=None)
def _parts(cls: type) -> frozenset:
    """``cls`` and every dataclass it is made of (sections, list items), recursively."""
    found = {cls}
    for tp in _hints(cls).values():
        for t in (tp, *typing.get_args(tp)):
            if dataclasses.is_dataclass(t) and t not in found:
                found |= _parts(t)
    return frozenset(found)


def _unknown_key(cls: type, name: Any, prefix: str, source: str, root: type) -> ConfigError:
    """A key that is not a field of ``cls`` (a part of the config ``root``), with the closest valid key (or the
    list of valid keys) as the fix."""
    valid, listing = list(_hints(cls)), f"valid keys{' in ' + prefix[:-1] if prefix else ''}"
    sections = _hints(root).items() if cls in _parts(root) else ()
    close = [f"{s}.{n}" for s, t in sections for n in dict.fromkeys((name, _ALIASES.get(name)))  # in another section
             if dataclasses.is_dataclass(t) and t is not cls and n in _hints(t)]
    close += [f"{prefix}{_ALIASES.get(c, c)}" for c in difflib.get_close_matches(  # a typo, or an official name
        str(name), valid + [a for a in _ALIASES if _ALIASES[a] in valid], 1, 0.6)]
    hint = f"did you mean '{close[0]}'?" if close else f"{listing}: {', '.join(valid)}"
    return ConfigError(f"{source}: unknown key '{prefix}{name}'; {hint}")


def _convert(value: Any, tp: Any, key: str, source: str, root: type, shown: Any = None) -> Any:
    """``value`` checked against annotation ``tp`` and normalised (int -> float, list -> tuple, mapping ->
    dataclass); a mismatch raises ConfigError naming ``key``, the expected type (``shown``) and the value."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and _NONE in args:
            return None
        arms = [a for a in args if a is not _NONE]
        if len(arms) == 1:  # X | None: errors from inside X (e.g. a list item) stay precise
            return _convert(value, arms[0], key, source, root, shown=tp)
        for arm in arms:
            with contextlib.suppress(ConfigError):
                return _convert(value, arm, key, source, root)
        raise _type_error(key, shown or tp, value, source)
    if dataclasses.is_dataclass(tp):
        obj = tp()  # a fresh item (e.g. a MaskSpec): unspecified fields keep their defaults
        _apply(obj, value, f"{key}.", source, root)
        return obj
    if origin in (list, tuple):
        fixed = origin is tuple and Ellipsis not in args
        if not isinstance(value, (list, tuple)) or (fixed and len(value) != len(args)):
            raise _type_error(key, shown or tp, value, source)
        try:
            items = [_convert(v, args[i] if fixed else args[0], f"{key}[{i}]", source, root)
                     for i, v in enumerate(value)]
        except ConfigError as e:  # a list item keeps its precise error (masks.blocks[1].num_blocks); a pair: whole
            raise (_type_error(key, shown or tp, value, source) if fixed else e) from None
        return tuple(items) if origin is tuple else items
    number = isinstance(value, (int, float)) and not isinstance(value, bool)  # bool is not a number here
    ok = {bool: isinstance(value, bool), int: number and isinstance(value, int), float: number}.get(tp)
    if tp is not Any and not (isinstance(value, tp) if ok is None else ok):
        raise _type_error(key, shown or tp, value, source)
    return float(value) if tp is float else value


def _apply(obj: Any, mapping: Any, prefix: str, source: str, root: type) -> None:  # set fields; sections merge
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{source}: {prefix[:-1] or 'the top level'} must be a mapping, got {reprlib.repr(mapping)}")
    hints = _hints(type(obj))
    for name, value in mapping.items():
        if name not in hints:
            raise _unknown_key(type(obj), name, prefix, source, root)
        key, tp = f"{prefix}{name}", hints[name]
        if not dataclasses.is_dataclass(tp):
            setattr(obj, name, _convert(value, tp, key, source, root))
        elif value is not None:  # None: an empty section in YAML (``optim:`` with nothing under it)
            _apply(getattr(obj, name), value, f"{key}.", source, root)


def config_from_dict(data: Mapping, source: str) -> PretrainConfig:
    """A pretraining config from a nested mapping (e.g. the one stored in a checkpoint), checked like a YAML
    file."""
    return typed_from_dict(PretrainConfig, data, source)


def typed_from_dict(cls: type[T], data: Mapping, source: str) -> T:
    """:func:`config_from_dict` for any config dataclass ``cls``."""
    cfg = cls()
    _apply(cfg, data, "", source, cls)
    return cfg


def set_values(cfg: Any, values: Mapping[str, Any], source: str) -> Any:
    """Set dotted keys (``clip.num_frames``) of ``cfg`` to already-typed values (e.g. from command-line flags),
    checked like ``--set`` overrides; errors name ``source``. Returns ``cfg``."""
    for key, value in values.items():
        _set_key(cfg, key, value, source)
    return cfg


def _apply_override(cfg: Any, item: str) -> None:
    """Apply one ``key.sub=value`` (list items too: ``masks.blocks[1].num_blocks=4``); the value is YAML."""
    source = f"--set {item}"
    key, sep, text = (s.strip() for s in item.partition("="))
    if not sep or not re.fullmatch(r"(?:[A-Za-z_]\w*(?:\[\d+\])*\.)*[A-Za-z_]\w*", key):
        raise ConfigError(f"{source}: expected KEY=VALUE with a dotted key, e.g. optim.lr=1e-3")
    _set_key(cfg, key, parse_yaml(text, source), source)


def _set_key(cfg: Any, key: str, value: Any, source: str) -> None:
    """Set the dotted ``key`` of ``cfg`` (list items too) to ``value``, strictly checked."""
    *parents, last = re.findall(r"\w+|\[\d+\]", key)
    obj, path = cfg, ""
    for part in parents:  # walk down to the dataclass that holds ``last``
        if part.startswith("["):
            if not isinstance(obj, list) or int(part[1:-1]) >= len(obj):
                items = len(obj) if isinstance(obj, list) else 0
                raise ConfigError(f"{source}: {path} has no item {part} (it has {items} items)")
            obj, path = obj[int(part[1:-1])], path + part
        elif dataclasses.is_dataclass(obj) and part not in _hints(type(obj)):
            raise _unknown_key(type(obj), part, f"{path}." if path else "", source, type(cfg))
        elif dataclasses.is_dataclass(obj):
            obj, path = getattr(obj, part), f"{path}.{part}" if path else part
    if not dataclasses.is_dataclass(obj):
        raise ConfigError(f"{source}: {path} is a value, not a section")
    _apply(obj, {last: value}, f"{path}." if path else "", source, type(cfg))


def list_presets() -> list[str]:  # names of the packaged pretraining presets (vjepa/configs/*.yaml), sorted
    return sorted(p.name[:-5] for p in resources.files(PRESET_PACKAGE).iterdir()
                  if p.name.endswith(".yaml") and not p.name.startswith(OTHER_PREFIXES))


def _read(path: str | os.PathLike) -> tuple[str, str]:
    """(text, source name) of a YAML file, or of the packaged preset when ``path`` is a bare name."""
    file = Path(path)
    if not file.exists() and file.parent == Path(".") and file.suffix in ("", ".yaml"):
        preset = resources.files(PRESET_PACKAGE) / f"{file.stem if file.suffix else file.name}.yaml"
        if preset.is_file():
            return preset.read_text(encoding="utf-8"), str(preset)
    try:
        return file.read_text(encoding="utf-8"), str(file)
    except (OSError, UnicodeDecodeError) as e:
        why = "no such config file or preset" if isinstance(e, FileNotFoundError) else " ".join(str(e).split())
        raise ConfigError(f"{path}: cannot read: {why} (presets: {', '.join(list_presets())})") from None


def load_config(path: str | os.PathLike | None, overrides: Sequence[str] = ()) -> PretrainConfig:
    """Defaults <- YAML file (or packaged preset name; None: none) <- ``key=value`` overrides. Raises ConfigError
    for a missing file, invalid YAML, an unknown key or a wrong type; cross-field rules: :func:`validate`."""
    return load_typed(PretrainConfig, path, overrides)


def load_typed(cls: type[T], path: str | os.PathLike | None, overrides: Sequence[str] = ()) -> T:
    """:func:`load_config` for any config dataclass ``cls`` (e.g. an experiment's): the same strict keys, types,
    did-you-mean hints, packaged presets and ``key=value`` overrides."""
    cfg = cls()
    if path is not None:
        text, source = _read(path)
        data = parse_yaml(text, source)
        _apply(cfg, {} if data is None else data, "", source, cls)
    for item in [overrides] if isinstance(overrides, str) else overrides:
        _apply_override(cfg, item)
    return cfg


def to_dict(cfg: Any) -> Any:
    """Plain nested dicts / lists / scalars (tuples become lists) of a config or any part of it."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    return [to_dict(v) for v in cfg] if isinstance(cfg, (list, tuple)) else cfg


def leaf_values(cfg: Any) -> dict[str, Any]:
    """Every value of a config by its field name alone, the sections dropped (``clip.num_frames`` ->
    ``num_frames``), as plain data: the flat ``settings`` record of a run's ``metrics.json``. Field names must be
    unique over the sections (a ValueError otherwise)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        items = leaf_values(value) if dataclasses.is_dataclass(value) else {f.name: to_dict(value)}
        for name, leaf in items.items():
            if name in out:
                raise ValueError(f"{type(cfg).__name__}: the field name {name!r} is used by two sections")
            out[name] = leaf
    return out


def save_resolved(cfg: Any, path: str | os.PathLike,
                  header: str = "Resolved vjepa pretraining config: every value (load it with --config).") -> Path:
    """Write the resolved config as YAML atomically (:func:`vjepa.core.io.write_text_atomic`: fsynced, mode
    0644); ``load_config(path)`` (``load_typed`` for other configs) gives back an equal config. Returns the path."""
    text = f"# {header}\n" + yaml.dump(to_dict(cfg), Dumper=_Dumper, sort_keys=False, width=120)
    return write_text_atomic(path, text)
