"""Typed configuration of a frozen evaluation (``vjepa eval``), loaded by the one strict loader
(:func:`vjepa.config.load_typed` / :func:`vjepa.config.set_values`) and checked by :func:`validate_eval`.

Defaults: the official video evaluation, except the 1 x 1 clip layout (K400 is 16 frames x 8 segments x 3 views,
SSv2 16 x 2 x 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vjepa.config import EvalClipConfig, RuntimeConfig, at_least, check_clip, check_runtime, choose, need

PROTOCOLS = ("attentive", "linear", "knn")
PROBE_KINDS = ("vjepa1", "vjepa2")


@dataclass
class EvalProbeConfig:
    protocol: str = "attentive"
    """``attentive`` (the official attentive probe), ``linear`` or ``knn`` (the quick protocols)."""
    kind: str = "vjepa1"
    """The attentive probe: ``vjepa1`` (1 cross-attention block, facebookresearch/jepa) or ``vjepa2`` (3
    self-attention blocks over the tokens, then the cross-attention: ``num_probe_blocks: 4`` of the V-JEPA 2
    frozen evals; docs/vjepa2.md)."""
    layer: int | None = None
    """Probe this block's (normed) output instead of the encoder output (0-based, negative from the end)."""
    epochs: int = 20
    batch_size: int = 16
    """Probe batch, and clips per feature-extraction batch."""
    lr: float = 1e-3
    weight_decay: float = 0.01
    """Official video 0.01, image 0.001."""


@dataclass
class LowShotConfig:
    label_fraction: float | None = None
    """The share of each training class to keep, in (0, 1]; null = all labels (no low-shot)."""
    num_splits: int = 1
    """How many seeded splits (seeds ``runtime.seed``, ``runtime.seed + 1``, ...); results are mean ± std."""


@dataclass
class EvalConfig:
    num_classes: int = 0
    """Number of classes (labels 0 .. num_classes - 1); must be set."""
    clip: EvalClipConfig = field(default_factory=EvalClipConfig)
    probe: EvalProbeConfig = field(default_factory=EvalProbeConfig)
    lowshot: LowShotConfig = field(default_factory=LowShotConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    cache_dir: str | None = None
    """Keep extracted features in this folder and reuse them."""
    frame_cache: str | None = None
    """A decoded-frame cache (``vjepa data cache``) read instead of decoding the videos it holds."""


def validate_eval(cfg: EvalConfig) -> None:
    """Cross-field rules; the first violation raises a one-line ConfigError naming the key and its value."""
    at_least(cfg, 1, ("num_classes", "probe.epochs", "probe.batch_size", "lowshot.num_splits"))
    check_clip(cfg.clip)
    need(cfg.probe.lr > 0, f"probe.lr = {cfg.probe.lr}: must be > 0")
    at_least(cfg, 0, ("probe.weight_decay",))
    choose("probe.protocol", cfg.probe.protocol, PROTOCOLS)
    choose("probe.kind", cfg.probe.kind, PROBE_KINDS)
    fraction = cfg.lowshot.label_fraction
    need(fraction is None or 0 < fraction <= 1,
         f"lowshot.label_fraction = {fraction}: must be in (0, 1], e.g. 0.1 for 10 %")
    check_runtime(cfg.runtime)


def check_layer(layer: int | None, depth: int) -> None:
    """``probe.layer`` must be one of the encoder's ``depth`` blocks (or null)."""
    need(layer is None or -depth <= layer < depth, f"probe.layer = {layer} is out of range for a {depth}-block "
         f"encoder; use 0..{depth - 1} or -1..-{depth}")
