"""World-model training (V-JEPA 2-AC): a frozen encoder, an action-conditioned predictor trained with AdamW on the
teacher-forcing + rollout L1 objective (``objective.ac_objective``) over trajectory windows.

Run machinery as pretraining: one run per output folder (``output_lock``), bf16 autocast through
``core.runtime``, a step-granular atomic checkpoint (``OUT/checkpoints/latest.pt``: predictor, optimizer, step,
config; read back with ``weights_only=True``), exact resume (the window order is keyed by (seed, step), the lr and
weight decay are pure functions of the step, nothing else is random), ``OUT/metrics.jsonl``, a progress bar and an
export folder (``OUT/export``, see export.py). Bad episodes are skipped, named on stderr and listed in
``OUT/bad_episodes.txt``.

Under torchrun every process calls :func:`train_world_model`: they join a process group (gloo on CPU, NCCL on GPU,
``vjepa.pretrain.distributed``), the predictor trains under DDP (the frozen encoder is not wrapped), rank r takes
its contiguous share of every global batch of ``optim.batch_size`` windows (``StepBatches``), the logged loss is
the mean across ranks, and rank 0 alone holds the output lock and writes files. The data position is the step, so a
checkpoint resumes at any world size.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from vjepa.config.loader import save_resolved, to_dict
from vjepa.config.world import WorldTrainConfig, validate_world, world_total_steps
from vjepa.core import formats, schedules
from vjepa.core.errors import CheckpointError, ConfigError, TrainingDiverged
from vjepa.core.io import atomic_write, write_text_atomic
from vjepa.core.lock import output_lock
from vjepa.core.progress import progress_bar, write_line
from vjepa.core.runtime import autocast, cpu_threads, resolve_device, resolve_dtype
from vjepa.models.ac_predictor import ACPredictorConfig, ActionConditionedPredictor
from vjepa.models.encoder import VideoEncoder
from vjepa.models.registry import encoder_config
from vjepa.pretrain.distributed import (
    DistInfo,
    backend_name,
    collective_error,
    device_for,
    dist_from_env,
    is_collective_failure,
    mean_across_ranks,
    process_group,
    wrap_ddp,
)
from vjepa.pretrain.metrics_log import MetricsLog
from vjepa.weights.io import load_state_strict, safe_torch_load
from vjepa.weights.load import load_encoder
from vjepa.world.export import RANDOM_INIT, save_world_export
from vjepa.world.objective import ac_objective
from vjepa.world.windows import StepBatches, WorldWindows

WORLD_CHECKPOINT = formats.WORLD_CHECKPOINT
MUST_MATCH = ("data", "encoder", "predictor")  # sections a resumed run must share with its checkpoint


def build_encoder(cfg: WorldTrainConfig, source: str) -> VideoEncoder:
    """The frozen encoder: loaded from ``source`` (any weights ``load_encoder`` reads), or a random-init RoPE
    encoder of ``encoder.arch`` when ``source`` is ``none`` (seeded by ``runtime.seed``, global RNG untouched)."""
    e = cfg.encoder
    sizes = {"embed_dim": e.embed_dim, "depth": e.depth, "num_heads": e.num_heads, "patch_size": e.patch_size}
    if source != RANDOM_INIT:
        kwargs = {"arch": e.arch, "img_size": cfg.data.crop_size, **sizes} if e.arch else {}
        encoder = load_encoder(source, key=e.key, **kwargs)
    else:
        if e.arch is None:
            raise ConfigError("a random-init encoder (source 'none') needs encoder.arch (a size name, or custom "
                              "with encoder.embed_dim, encoder.depth, encoder.num_heads)")
        enc_cfg = encoder_config(e.arch, num_frames=2, img_size=cfg.data.crop_size, use_rope=True, **sizes)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.runtime.seed)
            encoder = VideoEncoder(enc_cfg)
    if cfg.data.crop_size % encoder.cfg.patch_size:
        raise ConfigError(f"data.crop_size = {cfg.data.crop_size}: must be a multiple of the encoder's patch size "
                          f"{encoder.cfg.patch_size}")
    return encoder.eval().requires_grad_(False)


def build_predictor(cfg: WorldTrainConfig, encoder: VideoEncoder) -> ActionConditionedPredictor:
    p, side = cfg.predictor, cfg.data.crop_size // encoder.cfg.patch_size
    pred_cfg = ACPredictorConfig(embed_dim=encoder.embed_dim, predictor_embed_dim=p.width, depth=p.depth,
                                 num_heads=p.num_heads, action_dim=p.action_dim, use_extrinsics=p.use_extrinsics,
                                 grid=(side, side))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.runtime.seed + 1)
        predictor = ActionConditionedPredictor(pred_cfg)
    predictor.grad_checkpointing = p.grad_checkpointing
    return predictor


def build_optimizer(predictor: ActionConditionedPredictor, cfg: WorldTrainConfig) -> torch.optim.AdamW:
    """AdamW; biases and norm weights (1-D tensors) without weight decay, as the official ``init_opt``."""
    params = [p for p in predictor.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.ndim > 1]},
              {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0, "no_decay": True}]
    return torch.optim.AdamW(groups, lr=cfg.optim.lr, betas=cfg.optim.betas, eps=cfg.optim.eps,
                             weight_decay=cfg.optim.weight_decay)


def schedule_values(cfg: WorldTrainConfig, k: int) -> tuple[float, float]:
    """(lr, weight decay) of the k-th (1-based) step."""
    o = cfg.optim
    total = o.epochs * o.steps_per_epoch
    warmup = int(o.warmup_epochs * o.steps_per_epoch)
    if o.schedule == "wsd":
        anneal = int(o.anneal_epochs * o.steps_per_epoch)
        lr = schedules.constant_then_linear(k, start_lr=o.start_lr, lr=o.lr, final_lr=o.final_lr,
                                            warmup_steps=warmup, constant_steps=total - warmup - anneal,
                                            schedule_steps=total)
    else:
        lr = schedules.learning_rate(k, start_lr=o.start_lr, lr=o.lr, final_lr=o.final_lr, warmup_steps=warmup,
                                     schedule_steps=total)
    wd = schedules.weight_decay(k, weight_decay=o.weight_decay, final_weight_decay=o.final_weight_decay,
                                schedule_steps=total)
    return lr, wd


@dataclass
class WorldTrainSummary:
    steps: int
    steps_this_run: int
    seconds: float
    first_loss: float | None
    final_loss: float | None
    export: str
    bad_episodes: int
    stopped_by_budget: bool = False
    rank: int = 0
    world_size: int = 1


def _resume(path: Path, cfg: WorldTrainConfig, source: str, predictor, optimizer) -> int:
    ckpt = safe_torch_load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != WORLD_CHECKPOINT:
        raise CheckpointError(f"{path}: not a world-model training checkpoint ({WORLD_CHECKPOINT})")
    current = to_dict(cfg)
    for section in MUST_MATCH:
        if ckpt["config"].get(section) != current[section]:
            raise CheckpointError(f"{path} was written with a different '{section}' config; resume with the same "
                                  "config or use another output folder")
    for what, old, new in (("optim.batch_size", ckpt["config"]["optim"]["batch_size"], cfg.optim.batch_size),
                           ("runtime.seed", ckpt["config"]["runtime"]["seed"], cfg.runtime.seed),
                           ("encoder source", ckpt.get("encoder_source"), source)):
        if old != new:
            raise CheckpointError(f"{path} was written with {what} = {old}, not {new}; use the same or another "
                                  "output folder")
    load_state_strict(predictor, ckpt["predictor"], f"{path} [predictor]")
    optimizer.load_state_dict(ckpt["optimizer"])
    return int(ckpt["step"])


def train_world_model(cfg: WorldTrainConfig, encoder_source: str, out_dir: str | Path, progress: bool = True,
                      time_budget_s: float | None = None, dist: DistInfo | None = None) -> WorldTrainSummary:
    """Train the AC predictor of ``cfg`` on a frozen encoder (``encoder_source``: a weights path, or ``none`` for
    a random init of ``encoder.arch``), writing into ``out_dir``; resumes from ``OUT/checkpoints/latest.pt`` when
    present. ``time_budget_s`` stops after the step that exceeds it (checkpoint and export still written).

    Under torchrun (``dist`` None: read from the environment) every process calls this (see the module doc)."""
    info = dist_from_env() if dist is None else dist
    validate_world(cfg)
    if cfg.predictor.use_extrinsics:
        raise ConfigError("predictor.use_extrinsics = true: the trajectory format has no extrinsics yet")
    if cfg.optim.batch_size % info.world_size:  # before any process waits for another
        raise ConfigError(f"optim.batch_size {cfg.optim.batch_size} is not divisible by the world size "
                          f"{info.world_size}; choose a multiple of the number of processes")
    out = Path(out_dir)
    device = device_for(resolve_device(cfg.runtime.device), info)
    lock = output_lock(out, "world-model training") if info.is_main else contextlib.nullcontext()  # rank 0 holds it
    with lock, cpu_threads(cfg.runtime.num_threads), process_group(info, device, cfg.run.dist_timeout_s):
        try:
            return _train(cfg, str(encoder_source), out, progress, time_budget_s, device, info)
        except RuntimeError as e:
            if info.world_size > 1 and is_collective_failure(e):
                raise collective_error(e, info, cfg.run.dist_timeout_s) from None
            raise


def _train(cfg: WorldTrainConfig, source: str, out: Path, progress: bool, budget: float | None,
           device: torch.device, info: DistInfo) -> WorldTrainSummary:
    d, main = cfg.data, info.is_main
    data = WorldWindows(d.paths, d.num_frames, d.frame_step, d.window_stride, d.crop_size,
                        cfg.predictor.action_dim, d.cache_frames)
    if data.skipped and main:
        for bad in data.skipped:
            write_line(f"warning: skipped bad episode {bad}")
        write_text_atomic(out / "bad_episodes.txt", "".join(f"{bad}\n" for bad in data.skipped))
    dtype = resolve_dtype(cfg.runtime.dtype, device)
    encoder = build_encoder(cfg, source).to(device)
    predictor = build_predictor(cfg, encoder).to(device)
    optimizer = build_optimizer(predictor, cfg)
    ckpt_dir = out / "checkpoints"
    for stale in ckpt_dir.glob(".*.tmp") if main else ():  # left by a kill in the middle of a write
        stale.unlink()
    latest, step = ckpt_dir / "latest.pt", 0
    if latest.is_file():
        step = _resume(latest, cfg, source, predictor, optimizer)
        if main:
            write_line(f"resuming from {latest} at step {step}")
    # Unused without extrinsics (never gets a gradient): out of DDP's reduction, still in the optimizer's groups.
    predictor.extrinsics_encoder.requires_grad_(False)
    model = wrap_ddp(predictor, device)
    if main:
        save_resolved(cfg, out / "config.yaml", header="Resolved vjepa world-model training config.")
    end = world_total_steps(cfg)
    if progress and main:
        how = f"DDP over {backend_name(device)}" if info.world_size > 1 else "one process"
        write_line(f"world train: {len(data)} windows of {len(data.episodes)} episodes, encoder {source} "
                   f"({sum(p.numel() for p in encoder.parameters()) / 1e6:.2f}M, frozen), predictor "
                   f"{sum(p.numel() for p in predictor.parameters()) / 1e6:.2f}M, {device}, {str(dtype)[6:]}, "
                   f"world size {info.world_size} ({how})")
    sampler = StepBatches(cfg.runtime.seed, len(data), cfg.optim.batch_size, step, end, info.rank, info.world_size)
    loader = DataLoader(data, batch_sampler=sampler, num_workers=cfg.runtime.num_workers,
                        pin_memory=device.type == "cuda")
    metrics = MetricsLog(out, resume_step=step, tensorboard=False) if main else None
    bar = progress_bar(total=end, initial=step, enabled=progress and main, desc="world train", unit="step")
    start_step, first, last, began, stopped = step, None, None, time.perf_counter(), False
    try:
        for batch in loader:
            lr, wd = schedule_values(cfg, step + 1)
            for group in optimizer.param_groups:
                group["lr"], group["weight_decay"] = lr, 0.0 if group.get("no_decay") else wd
            model.train()
            with autocast(device, dtype):
                obj = ac_objective(encoder, model, batch["frames"].to(device), batch["actions"].to(device),
                                   batch["states"].to(device), None, cfg.predictor.auto_steps,
                                   cfg.predictor.normalize_reps, cfg.predictor.loss_exp)
            parts = torch.stack([obj.total, obj.teacher_forcing, obj.rollout]).detach().float()
            loss, loss_tf, loss_ar = mean_across_ranks(parts).tolist()  # the same on every rank
            if loss != loss or loss in (float("inf"), float("-inf")):
                raise TrainingDiverged(f"non-finite loss {loss} at step {step + 1}; the last good checkpoint is "
                                       f"{latest if latest.is_file() else 'not written yet'}")
            obj.total.backward()
            if cfg.optim.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(predictor.parameters(), cfg.optim.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            first = loss if first is None else first
            last = loss
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}")
            if metrics is not None and (step % cfg.run.log_every == 0 or step == end):
                metrics.write(step, {"loss": loss, "loss_teacher_forcing": loss_tf, "loss_rollout": loss_ar,
                                     "lr": lr, "weight_decay": wd, "world_size": info.world_size})
            stopped = budget is not None and step < end and _agree(time.perf_counter() - began > budget, device)
            if main and (step % cfg.run.checkpoint_every == 0 or step == end or stopped):
                payload = {"format": WORLD_CHECKPOINT, "step": step, "predictor": predictor.state_dict(),
                           "optimizer": optimizer.state_dict(), "config": to_dict(cfg), "encoder_source": source}
                atomic_write(latest, lambda p, payload=payload: torch.save(payload, p))
            if stopped:
                if main:
                    write_line(f"stopped by the time budget ({budget:.0f} s) at step {step} of {end}")
                break
    finally:
        bar.close()
        if metrics is not None:
            metrics.close()
    export = out / "export"
    if main:
        export = save_world_export(export, encoder, predictor, source, cfg.encoder.key, cfg.encoder.arch
                                   if source != RANDOM_INIT else None, cfg.predictor.normalize_reps, step)
    return WorldTrainSummary(step, step - start_step, round(time.perf_counter() - began, 1), first, last,
                             str(export), len(data.skipped), stopped, info.rank, info.world_size)


def _agree(flag: bool, device: torch.device) -> bool:
    """Whether any rank says ``flag`` (all ranks stop at the same step); ``flag`` itself in a single process."""
    return bool(mean_across_ranks(torch.tensor([float(flag)], device=device)).item() > 0)
