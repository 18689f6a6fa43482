"""Defaults <- YAML file (or preset name) <- ``--set key=value`` overrides -> a typed :class:`PretrainConfig`.

Unknown keys and wrong types raise a one-line :class:`ConfigError`; the type rules come from the dataclass
annotations, so new fields are checked automatically. Cross-field rules: :func:`validate` (needs the world size).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import math
import os
import re
import reprlib
import tempfile
import types
import typing
from collections.abc import Collection, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from vjepa.config.derived import grad_accum_steps, micro_batch_size, per_process_batch
from vjepa.config.schema import PretrainConfig
from vjepa.core.errors import ConfigError

PRESET_PACKAGE = "vjepa.configs"
EXPERIMENT_PREFIX = "experiment_"
"""Packaged files named ``experiment_*.yaml`` configure experiments (``vjepa experiment``), not pretraining runs."""
_NONE = type(None)
T = TypeVar("T")
# Official key names and common synonyms -> our field names; only used to suggest a fix for an unknown key.
_ALIASES = {"learning_rate": "lr", "ref_lr": "lr", "warmup": "warmup_epochs", "ipe": "steps_per_epoch",
            "ipe_scale": "schedule_horizon", "num_epochs": "epochs", "model_name": "arch", "sampling_rate":
            "frame_step", "mask": "masks", "optimization": "optim", "meta": "run", "wd": "weight_decay"}


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


def _unknown_key(cls: type, name: Any, prefix: str, source: str) -> ConfigError:
    """A key that is not a field of ``cls``, with the closest valid key (or the list of valid keys) as the fix."""
    valid, listing = list(_hints(cls)), f"valid keys{' in ' + prefix[:-1] if prefix else ''}"
    sections = _hints(PretrainConfig).items() if cls in _parts(PretrainConfig) else ()  # other configs: no hint
    close = [f"{s}.{name}" for s, t in sections  # the same key in another section
             if dataclasses.is_dataclass(t) and t is not cls and name in _hints(t)]
    close += [f"{prefix}{_ALIASES.get(c, c)}" for c in difflib.get_close_matches(  # a typo, or an official name
        str(name), valid + [a for a in _ALIASES if _ALIASES[a] in valid], 1, 0.6)]
    hint = f"did you mean '{close[0]}'?" if close else f"{listing}: {', '.join(valid)}"
    return ConfigError(f"{source}: unknown key '{prefix}{name}'; {hint}")


def _convert(value: Any, tp: Any, key: str, source: str, shown: Any = None) -> Any:
    """``value`` checked against annotation ``tp`` and normalised (int -> float, list -> tuple, mapping ->
    dataclass); a mismatch raises ConfigError naming ``key``, the expected type (``shown``) and the value."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and _NONE in args:
            return None
        arms = [a for a in args if a is not _NONE]
        if len(arms) == 1:  # X | None: errors from inside X (e.g. a list item) stay precise
            return _convert(value, arms[0], key, source, shown=tp)
        for arm in arms:
            with contextlib.suppress(ConfigError):
                return _convert(value, arm, key, source)
        raise _type_error(key, shown or tp, value, source)
    if dataclasses.is_dataclass(tp):
        obj = tp()  # a fresh item (e.g. a MaskSpec): unspecified fields keep their defaults
        _apply(obj, value, f"{key}.", source)
        return obj
    if origin in (list, tuple):
        fixed = origin is tuple and Ellipsis not in args
        if not isinstance(value, (list, tuple)) or (fixed and len(value) != len(args)):
            raise _type_error(key, shown or tp, value, source)
        try:
            items = [_convert(v, args[i] if fixed else args[0], f"{key}[{i}]", source) for i, v in enumerate(value)]
        except ConfigError as e:  # a list item keeps its precise error (masks.blocks[1].num_blocks); a pair: whole
            raise (_type_error(key, shown or tp, value, source) if fixed else e) from None
        return tuple(items) if origin is tuple else items
    number = isinstance(value, (int, float)) and not isinstance(value, bool)  # bool is not a number here
    ok = {bool: isinstance(value, bool), int: number and isinstance(value, int), float: number}.get(tp)
    if tp is not Any and not (isinstance(value, tp) if ok is None else ok):
        raise _type_error(key, shown or tp, value, source)
    return float(value) if tp is float else value


def _apply(obj: Any, mapping: Any, prefix: str, source: str) -> None:  # set fields of ``obj``; sections merge
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{source}: {prefix[:-1] or 'the top level'} must be a mapping, got {reprlib.repr(mapping)}")
    hints = _hints(type(obj))
    for name, value in mapping.items():
        if name not in hints:
            raise _unknown_key(type(obj), name, prefix, source)
        key, tp = f"{prefix}{name}", hints[name]
        if not dataclasses.is_dataclass(tp):
            setattr(obj, name, _convert(value, tp, key, source))
        elif value is not None:  # None: an empty section in YAML (``optim:`` with nothing under it)
            _apply(getattr(obj, name), value, f"{key}.", source)


def config_from_dict(data: Mapping, source: str) -> PretrainConfig:
    """A config from a nested mapping (e.g. the one stored in a checkpoint), checked like a YAML file."""
    cfg = PretrainConfig()
    _apply(cfg, data, "", source)
    return cfg


def _apply_override(cfg: PretrainConfig, item: str) -> None:
    """Apply one ``key.sub=value`` (list items too: ``masks.blocks[1].num_blocks=4``); the value is YAML."""
    source = f"--set {item}"
    key, sep, text = (s.strip() for s in item.partition("="))
    if not sep or not re.fullmatch(r"(?:[A-Za-z_]\w*(?:\[\d+\])*\.)*[A-Za-z_]\w*", key):
        raise ConfigError(f"{source}: expected KEY=VALUE with a dotted key, e.g. optim.lr=1e-3")
    *parents, last = re.findall(r"\w+|\[\d+\]", key)
    obj, path = cfg, ""
    for part in parents:  # walk down to the dataclass that holds ``last``
        if part.startswith("["):
            if not isinstance(obj, list) or int(part[1:-1]) >= len(obj):
                items = len(obj) if isinstance(obj, list) else 0
                raise ConfigError(f"{source}: {path} has no item {part} (it has {items} items)")
            obj, path = obj[int(part[1:-1])], path + part
        elif dataclasses.is_dataclass(obj) and part not in _hints(type(obj)):
            raise _unknown_key(type(obj), part, f"{path}." if path else "", source)
        elif dataclasses.is_dataclass(obj):
            obj, path = getattr(obj, part), f"{path}.{part}" if path else part
    if not dataclasses.is_dataclass(obj):
        raise ConfigError(f"{source}: {path} is a value, not a section")
    _apply(obj, {last: parse_yaml(text, source)}, f"{path}." if path else "", source)


def list_presets() -> list[str]:  # names of the packaged pretraining presets (vjepa/configs/*.yaml), sorted
    return sorted(p.name[:-5] for p in resources.files(PRESET_PACKAGE).iterdir()
                  if p.name.endswith(".yaml") and not p.name.startswith(EXPERIMENT_PREFIX))


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
        _apply(cfg, {} if data is None else data, "", source)
    for item in [overrides] if isinstance(overrides, str) else overrides:
        _apply_override(cfg, item)
    return cfg


def to_dict(cfg: Any) -> Any:
    """Plain nested dicts / lists / scalars (tuples become lists) of a config or any part of it."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    return [to_dict(v) for v in cfg] if isinstance(cfg, (list, tuple)) else cfg


def save_resolved(cfg: Any, path: str | os.PathLike,
                  header: str = "Resolved vjepa pretraining config: every value (load it with --config).") -> Path:
    """Write the resolved config as YAML atomically (temp file in the same folder, then ``os.replace``);
    ``load_config(path)`` (``load_typed`` for other configs) gives back an equal config. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"# {header}\n"
    text += yaml.dump(to_dict(cfg), Dumper=_Dumper, sort_keys=False, width=120)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def validate(cfg: PretrainConfig, world_size: int = 1, known_archs: Collection[str] | None = None) -> None:
    """Check the cross-field rules; the first violation raises a one-line ConfigError naming key(s) and fix.
    ``known_archs`` (hook for the model registry): when given, ``model.arch`` must be one of them. The schedules
    must not end before training (``optim.schedule_horizon`` >= 1), else the EMA momentum passes ``ema[1]``."""
    m, d, o, k, r = cfg.model, cfg.data, cfg.optim, cfg.masks, cfg.run

    def choice(key: str, value: str, choices: Collection[str]) -> None:
        close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        _need(value in choices, f"{key} = {value!r}: use one of {', '.join(sorted(choices))}{hint}")

    def span(key: str, pair: Sequence[float], upper: float | None = 1.0) -> None:
        bound = f" <= {upper:g}" if upper is not None else ""
        _need(0 < pair[0] <= pair[1] and (upper is None or pair[1] <= upper),
              f"{key} = {list(pair)}: need [min, max] with 0 < min <= max{bound}")

    ones = ("model.embed_dim model.depth model.num_heads model.patch_size model.tubelet_size model.pred_depth "
            "model.pred_embed_dim model.pred_num_heads data.num_frames data.frame_step data.crop_size "
            "data.synthetic.num_videos data.synthetic.size data.synthetic.num_classes optim.batch_size optim.epochs "
            "optim.micro_batch_size optim.steps_per_epoch run.max_steps run.log_every run.checkpoint_every "
            "pixel.decoder_depth pixel.decoder_embed_dim pixel.decoder_num_heads")
    zeros = ("data.num_workers run.keep_every run.health_every optim.start_lr optim.final_lr optim.weight_decay "
             "optim.final_weight_decay loss.reg_coeff")
    for low, keys in ((1, ones), (0, zeros)):
        for key in keys.split():  # null (where the field allows it) or >= low
            value = functools.reduce(getattr, key.split("."), cfg)
            _need(value is None or value >= low, f"{key} = {value}: must be >= {low}")
    if known_archs is not None:
        choice("model.arch", m.arch, known_archs)
    missing = [f"model.{n}" for n in ("embed_dim", "depth", "num_heads") if getattr(m, n) is None]
    _need(m.arch != "custom" or not missing, f"model.arch 'custom' needs {', '.join(missing)}; set them")
    _need(None in (m.embed_dim, m.num_heads) or m.embed_dim % m.num_heads == 0,
          f"model.embed_dim {m.embed_dim} is not divisible by model.num_heads {m.num_heads}; change either")
    heads = m.pred_num_heads if m.pred_num_heads is not None else m.num_heads
    _need(heads is None or m.pred_embed_dim % heads == 0, f"model.pred_embed_dim {m.pred_embed_dim} is not "
          f"divisible by the predictor heads {heads} (model.pred_num_heads, null = model.num_heads); change either")
    choice("model.attention", m.attention, ("auto", "sdpa", "manual"))
    _need(d.crop_size % m.patch_size == 0, f"data.crop_size {d.crop_size} is not divisible by model.patch_size "
          f"{m.patch_size}; use a multiple, e.g. {max(1, round(d.crop_size / m.patch_size)) * m.patch_size}")
    _need(d.num_frames % m.tubelet_size == 0, f"data.num_frames {d.num_frames} is not divisible by "
          f"model.tubelet_size {m.tubelet_size}; use a multiple of {m.tubelet_size}")
    span("data.random_resize_scale", d.random_resize_scale)
    span("data.random_resize_aspect_ratio", d.random_resize_aspect_ratio, None)
    choice("data.dataset", d.dataset, ("synthetic", "videos"))
    choice("data.short_video", d.short_video, ("official", "loop", "skip"))
    _need(cfg.run.seed >= 0, f"run.seed {cfg.run.seed} must be >= 0")
    _need(d.clip_duration is None or d.clip_duration > 0, f"data.clip_duration {d.clip_duration} must be > 0 or null")
    _need(0.0 <= d.max_bad_fraction <= 1.0, f"data.max_bad_fraction {d.max_bad_fraction} must be in [0, 1]")
    _need(d.max_retries >= 0 and d.decode_timeout_s > 0,
          "data.max_retries must be >= 0 and data.decode_timeout_s > 0")
    _need(d.dataset != "videos" or bool(d.paths), "data.dataset 'videos' needs data.paths (CSV lists or folders)")
    _need(d.weights is None or len(d.weights) == len(d.paths), f"data.weights has {len(d.weights or ())} entries "
          f"but data.paths has {len(d.paths)}; give one weight per path, or null")
    per_process_batch(o, world_size)  # optim.batch_size divisible by world_size
    grad_accum_steps(o, world_size)  # optim.micro_batch_size divides the per-process batch
    _need(0 < o.lr < math.inf, f"optim.lr = {o.lr}: must be > 0")
    _need(0 <= o.warmup_epochs <= o.epochs,
          f"optim.warmup_epochs = {o.warmup_epochs}: must be in [0, optim.epochs = {o.epochs}]")
    choice("optim.lr_schedule", o.lr_schedule, ("warmup_cosine", "constant_then_linear"))
    _need(0 <= o.constant_epochs and o.warmup_epochs + o.constant_epochs <= o.epochs * o.schedule_horizon,
          f"optim.constant_epochs = {o.constant_epochs}: need >= 0 and warmup_epochs + constant_epochs <= "
          "epochs x schedule_horizon (the decay must fit in the schedule)")
    _need(1 <= o.schedule_horizon < math.inf, f"optim.schedule_horizon = {o.schedule_horizon}: must be >= 1 "
          "(the schedules must not end before training does; official 1.25)")
    _need(0 <= o.ema[0] <= o.ema[1] <= 1, f"optim.ema = {list(o.ema)}: need [start, end] with 0 <= start <= end <= 1")
    _need(all(0 <= b < 1 for b in o.betas) and o.eps > 0, "optim.betas must be in [0, 1) and optim.eps > 0")
    _need(o.clip_grad is None or o.clip_grad > 0, f"optim.clip_grad = {o.clip_grad}: must be > 0 (or null = off)")
    _need(cfg.loss.loss_exp > 0, f"loss.loss_exp = {cfg.loss.loss_exp}: must be > 0 (1 = L1, official)")
    choice("masks.equalize", k.equalize, ("random_subset", "truncate", "none"))
    _need(len(k.blocks) >= 1, "masks.blocks is empty; give at least one mask configuration")
    for i, spec in enumerate(k.blocks):
        key = f"masks.blocks[{i}]"
        for name, upper in (("spatial_scale", 1.0), ("temporal_scale", 1.0), ("aspect_ratio", None)):
            span(f"{key}.{name}", getattr(spec, name), upper)
        _need(spec.num_blocks >= 1, f"{key}.num_blocks = {spec.num_blocks}: must be >= 1")
        _need(0 < spec.max_temporal_keep <= 1, f"{key}.max_temporal_keep = {spec.max_temporal_keep}: need (0, 1]")
        _need(spec.max_keep is None or spec.max_keep >= 1, f"{key}.max_keep = {spec.max_keep}: must be >= 1 or null")
    _need(k.equalize != "none" or (micro_batch_size(o, world_size) == 1 and all(b.max_keep is None for b in k.blocks)),
          "masks.equalize 'none' needs optim.micro_batch_size 1 and no max_keep; use 'random_subset' or 'truncate'")
    choice("run.device", r.device, ("auto", "cpu", "cuda"))
    _need(0 < r.dist_timeout_s < math.inf, f"run.dist_timeout_s = {r.dist_timeout_s}: must be > 0 seconds")
    choice("run.dtype", r.dtype, ("auto", "float32", "bfloat16"))
    choice("objective", cfg.objective, ("vjepa", "pixel"))
    _need(r.init is None or cfg.objective == "vjepa", "run.init (--init) needs objective 'vjepa': it loads an "
          "encoder, predictor and target encoder; unset one of them")
    p = cfg.pixel
    _need(0 < p.mask_ratio < 1, f"pixel.mask_ratio = {p.mask_ratio}: must be in (0, 1) (VideoMAE: 0.9)")
    spatial = (d.crop_size // m.patch_size) ** 2
    masked = round(p.mask_ratio * spatial)
    _need(cfg.objective != "pixel" or 0 < masked < spatial, f"pixel.mask_ratio = {p.mask_ratio} masks {masked} of "
          f"the {spatial} spatial positions per frame; need at least one masked and one visible")
    width = p.decoder_embed_dim or (m.embed_dim // 2 if m.embed_dim else None)
    heads = p.decoder_num_heads or m.num_heads
    _need(cfg.objective != "pixel" or None in (width, heads) or width % heads == 0,
          f"pixel decoder width {width} (pixel.decoder_embed_dim, null = half model.embed_dim) is not divisible by "
          f"its heads {heads} (pixel.decoder_num_heads, null = model.num_heads); change either")
