"""Typed configuration of ``vjepa finetune``: defaults <- YAML file <- ``key=value`` overrides, loaded by the one
strict loader (:func:`vjepa.config.load_typed`) and checked by :func:`validate_finetune`.

Defaults follow the VideoMAE fine-tuning recipe (Tong et al., NeurIPS 2022; MCG-NJU/VideoMAE
``run_class_finetuning.py`` argparse defaults and ``scripts/kinetics/*/finetune.sh`` for ViT-B on K400), which is
itself the BEiT/MAE/DeiT image recipe carried over to video. Each field names its source; docs/finetune.md lists them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vjepa.config import EvalClipConfig, RuntimeConfig, at_least, check_clip, check_runtime, choose, need, span

HEADS = ("attentive", "linear")


@dataclass
class FinetuneOptimConfig:
    epochs: int = 75
    """Passes over the training set (VideoMAE ViT-B K400 script: 75; SSv2: 40)."""
    batch_size: int = 16
    """Clips per optimizer step (VideoMAE: 8 per GPU x 8 GPUs; we do not scale lr with the batch)."""
    lr: float = 1.0e-3
    """Peak learning rate (VideoMAE K400 ViT-B script: 1e-3 at its batch)."""
    start_lr: float = 1.0e-6
    """Learning rate at step 0 of the linear warmup (VideoMAE ``--warmup_lr`` 1e-6)."""
    final_lr: float = 1.0e-6
    """End of the cosine (VideoMAE ``--min_lr`` 1e-6)."""
    warmup_epochs: float = 5
    """Linear warmup length (VideoMAE ``--warmup_epochs`` 5)."""
    weight_decay: float = 0.05
    """AdamW weight decay, constant (VideoMAE ``--weight_decay`` 0.05); none on biases, norms, 1-D tensors."""
    betas: tuple[float, float] = (0.9, 0.999)
    """AdamW betas (VideoMAE ``--opt_betas 0.9 0.999``)."""
    layer_decay: float = 0.75
    """Layer-wise lr decay (VideoMAE ``--layer_decay`` 0.75, from BEiT); 1 = off. See vjepa/finetune/lrd.py."""
    clip_grad: float | None = None
    """Max gradient norm over all parameters; null = no clipping (VideoMAE default ``--clip_grad`` None)."""


@dataclass
class RegularizationConfig:
    drop_path: float = 0.1
    """Stochastic depth of the last block, linearly from 0 at the first (VideoMAE ``--drop_path`` 0.1, ViT-B;
    larger models use more, e.g. 0.2 for ViT-L in VideoMAE's scripts)."""
    label_smoothing: float = 0.1
    """Label smoothing (VideoMAE ``--smoothing`` 0.1)."""
    mixup: float = 0.8
    """Mixup Beta(alpha, alpha) parameter, 0 = off (VideoMAE ``--mixup`` 0.8)."""
    cutmix: float = 1.0
    """CutMix Beta(alpha, alpha) parameter, 0 = off (VideoMAE ``--cutmix`` 1.0)."""
    mix_prob: float = 1.0
    """Probability that a batch is mixed at all (VideoMAE ``--mixup_prob`` 1.0)."""
    switch_prob: float = 0.5
    """Probability of CutMix instead of mixup when both are on (VideoMAE ``--mixup_switch_prob`` 0.5)."""
    random_resize_scale: tuple[float, float] = (0.3, 1.0)
    """Training crop area range (the V-JEPA video transform; VideoMAE uses RandAugment + random erasing, not
    implemented here)."""


@dataclass
class FinetuneRunConfig:
    checkpoint_every: int = 0
    """Steps between checkpoints; 0 = at the end of every epoch."""
    max_steps: int | None = None
    """Stop after this many steps (the schedules still follow ``optim.epochs``); for tests and time limits."""


@dataclass
class FinetuneConfig:
    head: str = "attentive"
    """``attentive`` (the V-JEPA attentive probe, trained end to end) or ``linear`` (mean pooling + linear, the
    VideoMAE head)."""
    clip: EvalClipConfig = field(default_factory=EvalClipConfig)
    """16 frames, step 4 (VideoMAE K400 ``--num_frames 16 --sampling_rate 4``), 224 px; the validation protocol's
    ``num_segments`` x ``num_views`` (V-JEPA K400 8 x 3, SSv2 2 x 3; VideoMAE 5 x 3 and 2 x 3; default 1 x 1)."""
    optim: FinetuneOptimConfig = field(default_factory=FinetuneOptimConfig)
    regularization: RegularizationConfig = field(default_factory=RegularizationConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    run: FinetuneRunConfig = field(default_factory=FinetuneRunConfig)


def validate_finetune(cfg: FinetuneConfig) -> None:
    """Cross-field rules; the first violation raises a one-line ConfigError naming the key and its value."""
    o, g = cfg.optim, cfg.regularization
    choose("head", cfg.head, HEADS)
    check_clip(cfg.clip)
    at_least(cfg, 1, ("optim.epochs", "optim.batch_size", "run.max_steps"))
    at_least(cfg, 0, ("optim.start_lr", "optim.final_lr", "optim.weight_decay", "run.checkpoint_every"))
    need(0 < o.lr < math.inf, f"optim.lr = {o.lr}: must be > 0")
    need(0 <= o.warmup_epochs <= o.epochs,
         f"optim.warmup_epochs = {o.warmup_epochs}: must be in [0, optim.epochs = {o.epochs}]")
    need(0 < o.layer_decay <= 1, f"optim.layer_decay = {o.layer_decay}: must be in (0, 1] (1 = off)")
    need(all(0 <= b < 1 for b in o.betas), f"optim.betas = {list(o.betas)}: each must be in [0, 1)")
    need(o.clip_grad is None or o.clip_grad > 0, f"optim.clip_grad = {o.clip_grad}: must be > 0 or null")
    need(0 <= g.drop_path < 1, f"regularization.drop_path = {g.drop_path}: must be in [0, 1)")
    need(0 <= g.label_smoothing < 1, f"regularization.label_smoothing = {g.label_smoothing}: must be in [0, 1)")
    at_least(g, 0, ("mixup", "cutmix"), "regularization.")
    for key in ("mix_prob", "switch_prob"):
        value = getattr(g, key)
        need(0 <= value <= 1, f"regularization.{key} = {value}: must be in [0, 1]")
    span("regularization.random_resize_scale", g.random_resize_scale)
    check_runtime(cfg.runtime)
