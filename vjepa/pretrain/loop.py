"""The pretraining loop: builds everything from a config, iterates, logs and checkpoints. No maths in here."""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from pathlib import Path

import torch

from vjepa.config import (
    PretrainConfig,
    grad_accum_steps,
    micro_batch_size,
    save_resolved,
    to_dict,
    total_steps,
    validate,
)
from vjepa.core import formats
from vjepa.core.errors import CheckpointError, TrainingDiverged
from vjepa.core.io import write_text_atomic
from vjepa.core.lock import output_lock
from vjepa.core.progress import progress_bar, write_line
from vjepa.core.runtime import autocast, resolve_device, resolve_dtype
from vjepa.models.registry import ARCHS
from vjepa.pretrain.build import build_models, compile_in_place, speed_switches
from vjepa.pretrain.checkpoint import checkpoint_dir, find_latest, load_into, read_checkpoint, save_checkpoint
from vjepa.pretrain.data import build_dataset, build_loader
from vjepa.pretrain.distributed import (
    DistInfo,
    backend_name,
    collective_error,
    device_for,
    dist_from_env,
    is_collective_failure,
    process_group,
    wrap_ddp,
)
from vjepa.pretrain.health import feature_health
from vjepa.pretrain.init import init_from_checkpoint
from vjepa.pretrain.metrics_log import MetricsLog, plot_loss_curve
from vjepa.pretrain.optim import build_optimizer
from vjepa.pretrain.pixel_step import pixel_step
from vjepa.pretrain.step import Batch, TrainState, train_step
from vjepa.weights.io import save_modules

log = logging.getLogger("vjepa")


def _check_resumable(ckpt: dict, cfg: PretrainConfig, path: Path) -> None:
    """A checkpoint of another model or masking cannot be continued with this config."""
    current = to_dict(cfg)
    for section in ("model", "masks"):
        if ckpt["config"].get(section) != current[section]:
            raise CheckpointError(
                f"{path} was written with a different '{section}' config; resume with the same config or use "
                "another out_dir"
            )
    if ckpt["config"].get("objective", "vjepa") != cfg.objective or (
            cfg.objective == "pixel" and ckpt["config"].get("pixel") != current["pixel"]):
        raise CheckpointError(f"{path} was written with another objective or 'pixel' config; resume with the same "
                              "config or use another out_dir")
    # The data position is step x global batch, and the data order follows the seed: both must stay.
    for section, key in (("optim", "batch_size"), ("run", "seed"), ("run", "init")):
        old, new = ckpt["config"].get(section, {}).get(key), current[section][key]
        if old != new:
            raise CheckpointError(f"{path} was written with {section}.{key}={old}, not {new}; resume with the same "
                                  "value or use another out_dir")


def all_finite(state: TrainState) -> bool:
    """Whether every weight is finite (checked before a checkpoint overwrites the last good one)."""
    tensors = [*state.encoder.parameters(), *state.predictor.parameters(), *state.target_encoder.parameters()]
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def _keep_micro_batch(cfg: PretrainConfig, ckpt: dict, info: DistInfo) -> bool:
    """Resuming on another world size with ``optim.micro_batch_size: null``: keep the checkpoint's micro-batch size
    when it divides the new per-process batch, so each forward pass holds as many clips as before (the global batch
    is kept through gradient accumulation) and every micro-batch, hence the trajectory, stays the same."""
    layout = ckpt.get("extra", {}).get("layout")
    if cfg.optim.micro_batch_size is not None or not layout or layout["world_size"] == info.world_size:
        return False
    if (cfg.optim.batch_size // info.world_size) % layout["micro_batch_size"]:
        return False
    cfg.optim.micro_batch_size = layout["micro_batch_size"]
    return True


def pretrain(cfg: PretrainConfig, out_dir: str | Path, *, progress: bool = True, dist: DistInfo | None = None) -> dict:
    """Pretrain V-JEPA as ``cfg`` says, writing into ``out_dir``; resumes from ``out_dir`` when it holds a
    checkpoint (never starts over silently). Returns a summary dict.

    Under torchrun (``dist`` None: read from the environment) every process calls this: the processes join a
    process group (gloo on CPU, NCCL on GPU), the encoder and predictor train under DDP, and rank 0 alone logs and
    writes files. A checkpoint of any world size resumes on any other with the same global batch. Rank 0 holds
    ``out_dir``'s lock (:func:`vjepa.core.lock.output_lock`) for the run: a second run into it is refused."""
    info = dist_from_env() if dist is None else dist
    cfg = copy.deepcopy(cfg)  # the resumed micro-batch size may be filled in below
    validate(cfg, world_size=info.world_size, known_archs=[*ARCHS, "custom"])  # before any process waits for another
    dataset = build_dataset(cfg)  # before any heavy work: a missing index fails fast
    device = device_for(resolve_device(cfg.run.device), info)
    lock = output_lock(out_dir, "pretraining run") if info.is_main else contextlib.nullcontext()  # rank 0 holds it
    with lock, process_group(info, device, cfg.run.dist_timeout_s), speed_switches(cfg.run):
        try:
            return _train(cfg, Path(out_dir), dataset, device, info, progress)
        except RuntimeError as e:
            if info.world_size > 1 and is_collective_failure(e):
                raise collective_error(e, info, cfg.run.dist_timeout_s) from None
            raise


def _train(cfg: PretrainConfig, out: Path, dataset, device: torch.device, info: DistInfo, progress: bool) -> dict:
    dtype = resolve_dtype(cfg.run.dtype, device)
    world_size, rank = info.world_size, info.rank
    torch.manual_seed(cfg.run.seed)
    encoder, predictor, target = (m.to(device) for m in build_models(cfg))
    state = TrainState(encoder, predictor, target, build_optimizer(encoder, predictor, cfg.optim))
    if info.is_main:
        for stale in checkpoint_dir(out).glob(".*.tmp"):  # left by a kill in the middle of a write
            stale.unlink()
    latest = find_latest(out)
    if latest is not None:
        ckpt = read_checkpoint(latest)
        _check_resumable(ckpt, cfg, latest)
        load_into(ckpt, state, latest)
        if _keep_micro_batch(cfg, ckpt, info):
            validate(cfg, world_size=world_size)
        resumed = (f"resuming from {latest} at step {state.step} (written by "
                   f"{ckpt.get('extra', {}).get('layout', {}).get('world_size', '?')} process(es))")
        log.info(resumed)
        if info.is_main:  # always said: a re-run of a killed job must not look like a fresh start
            write_line(resumed)
    elif cfg.run.init is not None:  # weights only: the optimizer, step and schedules start afresh
        init_from_checkpoint(cfg.run.init, encoder, predictor, target)
        started_from = f"initialised encoder, predictor and target encoder from {cfg.run.init} (fresh optimizer, step 0)"
        log.info(started_from)
        if info.is_main:
            write_line(started_from)
    if cfg.run.compile:
        compile_in_place(state.online, target)
    state.online = wrap_ddp(state.online, device)
    if info.is_main:
        save_resolved(cfg, out / "config.yaml")

    end = min(total_steps(cfg.optim), cfg.run.max_steps or total_steps(cfg.optim))
    accum = grad_accum_steps(cfg.optim, world_size)
    micro = micro_batch_size(cfg.optim, world_size)
    layout = {"world_size": world_size, "micro_batch_size": micro, "accumulation": accum}
    if info.is_main:
        how = f"DDP over {backend_name(device)}" if world_size > 1 else "one process"
        line = (f"pretrain: world size {world_size} ({how}), global batch {cfg.optim.batch_size} = {world_size} "
                f"x {accum} accumulation x {micro} clips, {device}, {str(dtype).split('.')[-1]}")
        log.info(line)
        if progress:
            write_line(line)
    loader = iter(build_loader(cfg, dataset, state.step, micro, world_size, rank, pin_memory=device.type == "cuda"))
    bad_files: dict[str, str] = {}
    metrics_log = MetricsLog(out, resume_step=state.step) if info.is_main else None
    start_step, first_loss, last = state.step, None, None
    bar = progress_bar(total=end, initial=state.step, enabled=progress and info.is_main, desc="pretrain", unit="step")
    started = time.perf_counter()
    try:
        while state.step < end:
            tick = time.perf_counter()
            batches = []
            for _ in range(accum):
                mb = next(loader)
                for failure in mb["failures"]:  # unreadable files were replaced by other samples; report them
                    path = failure.split(": ", 1)[0]
                    if path not in bad_files and info.is_main:
                        write_line(f"warning: skipped unreadable file: {failure}")
                    bad_files[path] = failure
                batches.append(Batch(mb["video"].to(device, non_blocking=True),
                                     [c.to(device) for c in mb["ctx_idx"]], [t.to(device) for t in mb["tgt_idx"]]))
            try:
                if cfg.objective == "pixel":  # the pixel-reconstruction baseline (vjepa/pretrain/pixel_step.py)
                    metrics = pixel_step(state, batches, cfg.optim, cfg.pixel, dtype)
                else:
                    metrics = train_step(state, batches, cfg.optim, cfg.loss, dtype)
            except TrainingDiverged as e:
                kept = find_latest(out)
                where = f"the last good checkpoint is {kept}" if kept else "no checkpoint was written yet"
                raise TrainingDiverged(f"{e}; {where}") from None
            clips_per_s = cfg.optim.batch_size / (time.perf_counter() - tick)
            first_loss = metrics.loss if first_loss is None else first_loss
            last = metrics
            bar.update(1)
            bar.set_postfix(loss=f"{metrics.loss:.4f}", lr=f"{metrics.lr:.2e}", clips_s=f"{clips_per_s:.1f}")
            if metrics_log is None:
                continue
            step = state.step
            data_pass = step * cfg.optim.batch_size // len(dataset)
            if bad_files and data_pass > (step - 1) * cfg.optim.batch_size // len(dataset):
                write_line(f"data pass {data_pass} done: {len(bad_files)} unreadable file(s) skipped so far "
                           f"(listed in {out / 'bad_files.txt'} at the end)")
            if step % cfg.run.log_every == 0 or step == end:
                metrics_log.write(step, {**vars(metrics), "clips_per_s": clips_per_s, "world_size": world_size,
                                         "bad_files": len(bad_files)})
            if cfg.run.health_every and step % cfg.run.health_every == 0:
                with torch.no_grad(), autocast(device, dtype):
                    health = feature_health(target(batches[-1].video))
                metrics_log.write(step, {"feature_std": health.feature_std, "rankme": health.rankme})
                if health.collapsed:
                    write_line(f"warning: step {step}: target features look collapsed "
                               f"(std {health.feature_std:.3g}, effective rank {health.rankme:.1f})")
            if step % cfg.run.checkpoint_every == 0 or step == end:
                keep = bool(cfg.run.keep_every) and step % cfg.run.keep_every == 0
                if not all_finite(state):
                    raise TrainingDiverged(f"non-finite weights at step {step}; not saved over {find_latest(out)}")
                save_checkpoint(out, state, to_dict(cfg), {"layout": layout}, keep=keep)
    finally:
        bar.close()
        if metrics_log is not None:
            metrics_log.close()

    summary = {"steps": state.step, "steps_this_run": state.step - start_step,
               "seconds": round(time.perf_counter() - started, 1), "first_loss": first_loss,
               "final_loss": last.loss if last else None, "device": str(device), "dtype": str(dtype).split(".")[-1],
               "bad_files": len(bad_files), "rank": rank, **layout}
    if info.is_main:
        if bad_files:
            write_text_atomic(out / "bad_files.txt", "".join(f"{reason}\n" for reason in bad_files.values()))
            write_line(f"{len(bad_files)} unreadable file(s) were skipped this run; listed in {out / 'bad_files.txt'}")
        plot_loss_curve(out / "metrics.jsonl", out / "loss_curve.png", cfg.objective)
        save_modules(out / "export", {"encoder": target},
                     {"format": formats.EXPORT, "encoder": vars(target.cfg),
                      "source": "encoder" if cfg.objective == "pixel" else "target_encoder",
                      "step": state.step})
    return summary
