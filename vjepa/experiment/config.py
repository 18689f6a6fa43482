"""Typed, strictly validated config of ``vjepa experiment paper``, and the pretraining config of each method.

The experiment config names a base pretraining preset (or file) plus ``--set``-style overrides; every method
pretrains with that base config, changed only in ``objective`` (asserted by :func:`method_configs`). The
experiment itself sets ``run.keep_every = eval_every`` (the checkpoints evaluated along training, Figure 5) and
``run.log_every = 1`` (every step's time is logged, so the pretraining time of any checkpoint is known).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vjepa.config import PretrainConfig, at_least, choose, load_config, load_typed, need, to_dict, validate
from vjepa.config.loader import parse_yaml, set_values
from vjepa.core.errors import ConfigError
from vjepa.data.synthetic import VAL_OFFSET
from vjepa.models.registry import ARCHS

PRESET = "experiment_paper"
METHODS = ("vjepa", "pixel")
STOP_AFTER = (*(f"pretrain-{m}" for m in METHODS), "pretrain", "probe", "lowshot")
"""Stages after which ``--stop-after`` may stop (a later run continues from there)."""
LABELS = {"vjepa": "V-JEPA (feature prediction)", "pixel": "pixel reconstruction (VideoMAE-style)",
          "random_init": "random init (no pretraining)"}


@dataclass
class ProbeSettings:
    num_train: int = 1024
    """Training clips of the frozen attentive probes (indices 0 .. num_train - 1 of the embedded dataset)."""
    num_val: int = 256
    """Validation clips (indices from 100 000 on: never seen in pretraining)."""
    epochs: int = 20
    batch_size: int = 16
    """Probe batch, and clips per feature-extraction batch."""


@dataclass
class LowShotSettings:
    fractions: list[float] = field(default_factory=lambda: [0.05, 0.1, 0.5])
    """Shares of each class of the probe's training clips kept (paper Table 7: 5 %, 10 %, 50 %)."""
    num_splits: int = 3
    """Seeded stratified splits per fraction (seeds seed, seed + 1, ...); results are mean ± std over them."""
    seed: int = 0


@dataclass
class VoeSettings:
    per_property: int = 50
    """Generated physics quadruplets per property (permanence, continuity, constancy, dynamics)."""
    num_frames: int = 24
    """Frames of each generated movie, at the pretraining crop size."""


@dataclass
class PaperConfig:
    base: str = "cpu_demo"
    """Pretraining preset name or YAML file shared by every method."""
    base_set: list[str] = field(default_factory=list)
    """``key=value`` overrides of the base pretraining config, for every method (e.g. ``optim.epochs=20``)."""
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    """Pretraining objectives to compare: ``vjepa`` and/or ``pixel``."""
    eval_every: int = 200
    """Steps between evaluated checkpoints (Figure 5); the last step is always evaluated. A multiple of the base
    config's ``run.checkpoint_every``."""
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    lowshot: LowShotSettings = field(default_factory=LowShotSettings)
    voe: VoeSettings = field(default_factory=VoeSettings)
    """Violation of expectation on the intuitive-physics world (``vjepa surprise``), every final model and random
    init."""


def validate_paper(cfg: PaperConfig) -> None:
    """The experiment's own rules (the pretraining configs are checked by :func:`method_configs`)."""
    for i, m in enumerate(cfg.methods):
        choose(f"methods[{i}]", m, METHODS)
    need(len(cfg.methods) == len(set(cfg.methods)) >= 1, f"methods = {cfg.methods}: give each method once, >= 1")
    at_least(cfg, 1, ("eval_every", "probe.num_train", "probe.num_val", "probe.epochs", "probe.batch_size",
                      "lowshot.num_splits", "voe.per_property", "voe.num_frames"))
    need(cfg.probe.num_train <= VAL_OFFSET, f"probe.num_train = {cfg.probe.num_train}: must be <= {VAL_OFFSET}")
    need(cfg.lowshot.seed >= 0, f"lowshot.seed = {cfg.lowshot.seed}: must be >= 0")
    need(len(cfg.lowshot.fractions) >= 1 and all(0 < f <= 1 for f in cfg.lowshot.fractions),
          f"lowshot.fractions = {cfg.lowshot.fractions}: need at least one fraction, each in (0, 1]")


def method_configs(cfg: PaperConfig) -> dict[str, PretrainConfig]:
    """The validated pretraining config of every method: the base config, ``objective`` set per method."""
    base = load_config(cfg.base)
    for item in cfg.base_set:  # errors name the base_set item, not a --set the user never typed
        source = f"base_set {item}"
        key, sep, text = (part.strip() for part in item.partition("="))
        if not sep or not key:
            raise ConfigError(f"{source}: expected KEY=VALUE with a dotted key, e.g. optim.epochs=20")
        set_values(base, {key: parse_yaml(text, source)}, source)
    set_values(base, {"run.keep_every": cfg.eval_every, "run.log_every": 1}, "the experiment (eval_every)")
    every = base.run.checkpoint_every
    need(cfg.eval_every % every == 0, f"eval_every = {cfg.eval_every} is not a multiple of the base config's "
          f"run.checkpoint_every {every}; use a multiple, or add run.checkpoint_every=N to base_set")
    configs = {}
    for method in cfg.methods:
        configs[method] = copy.deepcopy(base)
        configs[method].objective = method
        validate(configs[method], known_archs=[*ARCHS, "custom"])
    assert_only_objective_differs(configs)
    return configs


def assert_only_objective_differs(configs: dict[str, PretrainConfig]) -> None:
    """Equal compute: the methods' pretraining configs must agree on every key but ``objective``."""
    plain = {m: {k: v for k, v in to_dict(c).items() if k != "objective"} for m, c in configs.items()}
    first = next(iter(plain.values()))
    for method, data in plain.items():
        if data != first:
            raise AssertionError(f"the pretraining config of '{method}' differs from the others beyond 'objective'")


def load_paper_config(path: str | None = PRESET, overrides: Sequence[str] = (),
                      base_set: Sequence[str] = ()) -> PaperConfig:
    """Defaults <- experiment YAML (or packaged preset) <- ``--set`` overrides; ``base_set`` items are appended to
    the config's ``base_set``. Checked like every config: unknown keys and wrong types raise a one-line error."""
    cfg = load_typed(PaperConfig, path, overrides)
    cfg.base_set = [*cfg.base_set, *base_set]
    validate_paper(cfg)
    return cfg


def first_difference(old: Any, new: Any, prefix: str = "") -> str | None:
    """Dotted key of the first value that differs between two plain nested dicts (None when equal)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            where = first_difference(old.get(key), new.get(key), f"{prefix}{key}.")
            if where is not None:
                return where
        return None
    return None if old == new else prefix[:-1]
