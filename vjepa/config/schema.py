"""Typed configuration of a pretraining run.

Every default lives here, and only here. A YAML preset (``vjepa/configs/*.yaml``) is a small diff over these
defaults; ``vjepa pretrain --set key=value`` is a diff over the preset. The loader (``loader.py``) rejects unknown
keys and wrong types, and ``validate`` checks the cross-field rules before any work starts.

Defaults follow the official ``configs/pretrain/vitl16.yaml`` (facebookresearch/jepa) unless a field says
otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vjepa.config.sections import ClipConfig
from vjepa.masks.spec import VITL16_MASKS, MaskSpec


@dataclass
class ModelConfig:
    arch: str = "vit_large"
    """Encoder size from the registry (``vjepa models`` lists them), or ``custom`` with the fields below."""
    embed_dim: int | None = None
    """Overrides the width of the named size (required for ``custom``)."""
    depth: int | None = None
    """Overrides the number of blocks of the named size (required for ``custom``)."""
    num_heads: int | None = None
    """Overrides the number of heads of the named size (required for ``custom``)."""
    mlp_ratio: float | None = None
    """Overrides the MLP ratio of the named size."""
    patch_size: int = 16
    tubelet_size: int = 2
    uniform_power: bool = True
    """Split the sin-cos channels equally over t, h, w (official pretrain configs: true)."""
    pred_depth: int = 12
    pred_embed_dim: int = 384
    pred_num_heads: int | None = None
    """Predictor heads; null = the encoder's heads, as the official code does."""
    zero_init_mask_tokens: bool = True
    attention: str = "auto"
    """``sdpa``, ``manual`` (matmul + softmax) or ``auto`` (manual for bf16 on CPU, where it is faster)."""


@dataclass
class SyntheticDataConfig:
    num_videos: int = 2048
    """Number of distinct procedurally generated clips (the dataset is deterministic by seed)."""
    size: int = 64
    """Side of the generated frames, in pixels, before the random resized crop."""
    num_classes: int = 4
    """Number of appearance classes (object shapes)."""
    seed: int = 0


@dataclass
class PhysicsDataConfig:
    """The intuitive-physics world (``vjepa/data/physics.py``): objects passing behind an occluder."""

    num_videos: int = 2048
    """Number of distinct training clips (all physically possible; deterministic by seed)."""
    size: int = 64
    """Side of the rendered frames, in pixels, before the random resized crop."""
    object_scale: float = 1.0
    """Multiplies the object radius (4.5-6 px at 64 px) and with it the screen width that hides it."""
    seed: int = 0


@dataclass
class DataConfig(ClipConfig):
    """The shared clip section (``num_frames``, ``frame_step``, ``crop_size``) plus where pretraining clips come
    from and how they are augmented and loaded."""

    dataset: str = "synthetic"
    """``synthetic`` (the embedded dataset, no download), ``physics`` (the intuitive-physics world, no download) or
    ``videos`` (CSV lists / folders)."""
    paths: list[str] = field(default_factory=list)
    """Index files or folders of videos, for ``dataset: videos``."""
    weights: list[float] | None = None
    """Sampling weight of each entry of ``paths`` (with replacement); null = natural proportions."""
    clip_duration: float | None = None
    """Seconds per clip for real videos; sets the frame step per video to int(duration·fps / num_frames) instead
    of frame_step (official ``clip_duration``)."""
    random_resize_scale: tuple[float, float] = (0.3, 1.0)
    random_resize_aspect_ratio: tuple[float, float] = (0.75, 1.35)
    horizontal_flip: bool = True
    num_workers: int = 0
    short_video: str = "official"
    """Videos shorter than a clip: ``official`` (pad with the last frame), ``loop`` (wrap around, true step) or
    ``skip`` (treated as a bad file)."""
    filter_short_videos: bool = False
    """Official option: treat videos shorter than num_frames × frame_step as bad files."""
    max_retries: int = 10
    """Replacement samples drawn after a file fails to load, before the item fails."""
    max_bad_fraction: float = 0.5
    """The run stops when more than this fraction of loads (per loader process) failed."""
    decode_timeout_s: float = 30.0
    """Time bound for opening and decoding one file."""
    frame_cache: str | None = None
    """Folder of a decoded-frame cache built by ``vjepa data cache`` (speed switch, off by default): cached videos
    are read instead of decoded, with the same sampled frames; exact unless the cache was down-scaled
    (``--short-side``), which changes the crops' pixel values slightly (vjepa/data/frame_cache.py)."""
    synthetic: SyntheticDataConfig = field(default_factory=SyntheticDataConfig)
    physics: PhysicsDataConfig = field(default_factory=PhysicsDataConfig)


@dataclass
class OptimConfig:
    batch_size: int = 3072
    """Global batch: clips per optimizer step over all processes (official: 24 per GPU × 128 GPUs)."""
    micro_batch_size: int | None = None
    """Clips per forward pass and process; null = batch_size / world size. Smaller values accumulate gradients."""
    epochs: int = 300
    steps_per_epoch: int = 300
    """Optimizer steps per "epoch" (official ``ipe``); an epoch is a schedule unit, not a pass over the data."""
    schedule_horizon: float = 1.25
    """Length of the lr / wd / EMA schedules as a multiple of the training length (official ``ipe_scale``).
    With 1.25 training stops at 80% of every schedule, as the official recipe does."""
    warmup_epochs: float = 40
    lr_schedule: str = "warmup_cosine"
    """``warmup_cosine`` (V-JEPA 1, official) or ``constant_then_linear`` (V-JEPA 2: linear warmup, constant for
    ``constant_epochs``, then a linear decay to ``final_lr`` at the end of the schedule; a cooldown is warmup 0,
    constant 0: pure linear decay)."""
    constant_epochs: float = 0
    """``constant_then_linear`` only: epochs at the peak lr after the warmup, before the linear decay."""
    start_lr: float = 0.0002
    lr: float = 0.000625
    final_lr: float = 1.0e-6
    weight_decay: float = 0.04
    final_weight_decay: float = 0.4
    ema: tuple[float, float] = (0.998, 1.0)
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1.0e-8
    clip_grad: float | None = 10.0
    """Max gradient norm, applied separately to encoder and predictor; null disables clipping."""
    fused: bool = True
    """AdamW as one fused kernel over all parameters (CPU and CUDA; 3-4x faster than ``false``, the per-tensor-list
    "foreach" kernels the official code gets by default). The two differ by float rounding only (~1e-7)."""
    clip_grad_during_warmup: bool = False
    """The official code clips only after the warmup epochs; true clips from the first step."""


@dataclass
class LossConfig:
    loss_exp: float = 1.0
    """Exponent p of mean(|pred - target|^p) / p; 1 = L1 (official)."""
    reg_coeff: float = 0.0
    """Weight of the official variance regulariser (0 in every official config)."""


@dataclass
class PixelConfig:
    """The pixel-reconstruction baseline (``objective: pixel``), VideoMAE-style (Tong et al., NeurIPS 2022).

    VideoMAE pretrains with tube masking at 90 %, a 4-block decoder half as wide as the encoder (ViT-B 768 -> 384
    wide, 6 heads; ViT-S 384 -> 192, 3 heads) and an MSE on per-patch normalised pixels of the masked tubelets.
    Our defaults keep those rules. On ``cpu_demo`` (encoder 192 wide, 3 heads) they give a 4 x 96 decoder with 3
    heads: the same shape as that preset's V-JEPA predictor, so neither objective gets a larger head to train.
    """

    mask_ratio: float = 0.9
    """Fraction of the H'xW' spatial positions masked in every time step (tube masking; VideoMAE: 0.9). Exactly
    round(mask_ratio · H'·W') positions are masked per clip."""
    decoder_depth: int = 4
    """Decoder blocks (VideoMAE: 4). Light on purpose: the decoder runs on all T'·H'·W' tokens."""
    decoder_embed_dim: int | None = None
    """Decoder width; null = half the encoder width (the VideoMAE rule)."""
    decoder_num_heads: int | None = None
    """Decoder heads; null = the encoder's heads, as the V-JEPA predictor (VideoMAE uses width / 64)."""
    norm_pix_loss: bool = True
    """Regress per-tubelet normalised pixels (VideoMAE ``normlize_target``, MAE ``norm_pix_loss``); false
    regresses the [0, 1] pixel values."""


@dataclass
class MaskingConfig:
    blocks: list[MaskSpec] = field(default_factory=lambda: [MaskSpec(**vars(m)) for m in VITL16_MASKS])
    """One entry per mask configuration; the predictor gets one mask token per entry."""
    equalize: str = "random_subset"
    """How samples of a batch get equal token counts: ``random_subset`` (default, unbiased), ``truncate``
    (official: keep the lowest indices) or ``none`` (batch size 1 only)."""


@dataclass
class RunConfig:
    seed: int = 234
    device: str = "auto"
    """``auto`` (cuda if available, else cpu), ``cpu`` or ``cuda``."""
    dtype: str = "auto"
    """Autocast precision: ``auto`` (bf16 on GPU and on CPUs with bf16 support), ``bfloat16`` or ``float32``."""
    max_steps: int | None = None
    """Stop after this many optimizer steps (schedules still follow epochs × steps_per_epoch)."""
    log_every: int = 10
    checkpoint_every: int = 100
    """Steps between writes of ``checkpoint-latest``."""
    keep_every: int = 0
    """Also keep a numbered checkpoint every N steps (0 = only the latest)."""
    health_every: int = 50
    """Steps between collapse checks (std and effective rank of the target features)."""
    compile: bool = False
    """Speed switch, off by default: ``torch.compile`` the encoder + predictor and the target encoder. About 10 %
    faster steps on the project CPU, after a first step of 10-60 s; numerics change by float rounding only."""
    onednn_fp32: bool = False
    """Speed switch, off by default, CPU only: route fp32 matmuls through oneDNN
    (``torch.backends.mkldnn.matmul.fp32_precision = "bf16"``). ~2x faster fp32 matmuls on AVX-512 CPUs without AMX,
    where oneDNN still computes in fp32; on CPUs with AMX it computes in bf16, i.e. lowers the precision."""
    activation_checkpointing: bool = False
    """Recompute every encoder and predictor block's activations in the backward pass instead of storing them:
    activation memory drops to about one block's (ViT-H and ViT-g at the official batch fit an 80 GB GPU,
    docs/scaling.md) for about a third more compute. Gradients are the same."""
    init: str | None = None
    """Continued pretraining / cooldown (``vjepa pretrain --init``): start from this checkpoint's encoder, predictor
    and target encoder (our training checkpoint or export, or an official .pth.tar of size ``model.*``) with a fresh
    optimizer and schedule; mask tokens are remapped to ``masks.blocks`` (vjepa/pretrain/init.py). null = random init."""
    dist_timeout_s: float = 600.0
    """Multi-process runs: seconds a rank waits at the rendezvous or in a collective before it fails with an error,
    so a rank that dies or stalls never leaves the others hanging (docs/scaling.md)."""


@dataclass
class PretrainConfig:
    objective: str = "vjepa"
    """``vjepa`` (feature prediction, the paper) or ``pixel`` (VideoMAE-style pixel reconstruction, the paper's
    baseline: same encoder, data, optimizer and schedules; the ``pixel`` section sets its masks and decoder)."""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    masks: MaskingConfig = field(default_factory=MaskingConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    pixel: PixelConfig = field(default_factory=PixelConfig)
    run: RunConfig = field(default_factory=RunConfig)
