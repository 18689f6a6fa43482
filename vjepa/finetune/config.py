"""Typed configuration of ``vjepa finetune``: defaults <- ``--config FILE`` <- ``--set key=value``.

Defaults follow the VideoMAE fine-tuning recipe (Tong et al., NeurIPS 2022; MCG-NJU/VideoMAE
``run_class_finetuning.py`` argparse defaults and ``scripts/kinetics/*/finetune.sh`` for ViT-B on K400), which is
itself the BEiT/MAE/DeiT image recipe carried over to video. Each field names its source; docs/finetune.md lists them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vjepa.core.errors import ConfigError

HEADS = ("attentive", "linear")


@dataclass
class FinetuneConfig:
    head: str = "attentive"
    """``attentive`` (the V-JEPA attentive probe, trained end to end) or ``linear`` (mean pooling + linear, the
    VideoMAE head)."""
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
    clip_grad: float | None = None
    """Max gradient norm over all parameters; null = no clipping (VideoMAE default ``--clip_grad`` None)."""
    frames_per_clip: int = 16
    """Frames per clip (VideoMAE / V-JEPA: 16)."""
    frame_step: int = 4
    """Frame stride (VideoMAE K400 ``--sampling_rate`` 4)."""
    crop_size: int = 224
    num_segments: int = 1
    """Test protocol: temporal segments per validation video (V-JEPA K400 8, SSv2 2; VideoMAE 5 and 2)."""
    num_views: int = 1
    """Test protocol: spatial views per validation clip (V-JEPA / VideoMAE: 3)."""
    random_resize_scale: tuple[float, float] = (0.3, 1.0)
    """Training crop area range (the V-JEPA video transform; VideoMAE uses RandAugment + random erasing, not
    implemented here)."""
    seed: int = 0
    device: str = "auto"
    dtype: str = "auto"
    """``auto`` (bf16 autocast on GPU and bf16-capable CPUs), ``bfloat16`` or ``float32``."""
    workers: int = 0
    checkpoint_every: int = 0
    """Steps between checkpoints; 0 = at the end of every epoch."""
    max_steps: int | None = None
    """Stop after this many steps (the schedules still follow ``epochs``); for tests and time limits."""


def check(cfg: FinetuneConfig) -> None:
    """Cross-field rules; the first violation raises a one-line ConfigError naming the key."""
    def need(ok: bool, message: str) -> None:
        if not ok:
            raise ConfigError(message)

    need(cfg.head in HEADS, f"head = {cfg.head!r}: use one of {', '.join(HEADS)}")
    for key in ("epochs", "batch_size", "frames_per_clip", "frame_step", "crop_size", "num_segments", "num_views"):
        need(getattr(cfg, key) >= 1, f"{key} = {getattr(cfg, key)}: must be >= 1")
    need(0 < cfg.lr < math.inf and cfg.start_lr >= 0 and cfg.final_lr >= 0,
         f"need lr > 0 (got {cfg.lr}), start_lr >= 0 and final_lr >= 0")
    need(0 <= cfg.warmup_epochs <= cfg.epochs, f"warmup_epochs = {cfg.warmup_epochs}: must be in [0, epochs = {cfg.epochs}]; "
         "set e.g. --set warmup_epochs=1")
    need(0 < cfg.layer_decay <= 1, f"layer_decay = {cfg.layer_decay}: must be in (0, 1] (1 = off)")
    need(0 <= cfg.drop_path < 1, f"drop_path = {cfg.drop_path}: must be in [0, 1)")
    need(0 <= cfg.label_smoothing < 1, f"label_smoothing = {cfg.label_smoothing}: must be in [0, 1)")
    need(cfg.mixup >= 0 and cfg.cutmix >= 0, "mixup and cutmix must be >= 0 (0 = off)")
    need(0 <= cfg.mix_prob <= 1 and 0 <= cfg.switch_prob <= 1, "mix_prob and switch_prob must be in [0, 1]")
    need(cfg.clip_grad is None or cfg.clip_grad > 0, f"clip_grad = {cfg.clip_grad}: must be > 0 or null")
    need(cfg.weight_decay >= 0, f"weight_decay = {cfg.weight_decay}: must be >= 0")
    need(cfg.checkpoint_every >= 0, f"checkpoint_every = {cfg.checkpoint_every}: must be >= 0")
    need(cfg.max_steps is None or cfg.max_steps >= 1, f"max_steps = {cfg.max_steps}: must be >= 1 or null")
    need(cfg.dtype in ("auto", "float32", "bfloat16"), f"dtype = {cfg.dtype!r}: use auto, float32 or bfloat16")
    need(cfg.device in ("auto", "cpu", "cuda"), f"device = {cfg.device!r}: use auto, cpu or cuda")
