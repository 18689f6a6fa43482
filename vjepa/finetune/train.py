"""The fine-tuning loop: one readable step function, step-granular atomic checkpoints, exact resume, outputs in
the ``vjepa eval`` format.

Step k (0-based) trains on the batch at position ``k mod S`` of epoch ``k // S`` (S = steps per epoch =
⌊num_train / batch_size⌋, at least 1; the last partial batch is dropped), in the epoch's seeded order. Its
augmentations, mixup/cutmix draws and drop-path masks come from generators keyed by (seed, step), and the lr is a
pure function of k, so resuming at step k from ``OUT/checkpoints/latest.pt`` (models, optimizer, step, history)
gives bit-identical weights and metrics to an uninterrupted run.

``OUT``: ``metrics.json`` (top1, top5, mean_class_acc, num_train, num_val, num_classes, per_class_acc, settings,
history -- as ``vjepa eval``), ``confusion.png``, ``loss_curve.png``, ``model/`` (encoder + head safetensors and
config.json) and ``checkpoints/latest.pt``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from vjepa.config import check_clip_fits, leaf_values, to_dict
from vjepa.core.errors import CheckpointError, TrainingDiverged
from vjepa.core.formats import FINETUNE_CHECKPOINT as FT_FORMAT
from vjepa.core.formats import FINETUNE_EXPORT as EXPORT_FORMAT
from vjepa.core.io import atomic_write
from vjepa.core.lock import output_lock
from vjepa.core.progress import progress_bar, write_line
from vjepa.core.rng import keyed_generator
from vjepa.core.runtime import autocast, resolve_device, resolve_dtype
from vjepa.core.schedules import learning_rate
from vjepa.eval.metrics import classification_metrics, confusion_matrix, per_class_accuracy, plot_confusion
from vjepa.eval.protocol import aggregate_views, view_logits
from vjepa.eval.report import json_safe, summary_line
from vjepa.finetune.config import FinetuneConfig, validate_finetune
from vjepa.finetune.data import FinetuneData
from vjepa.finetune.lrd import lrd_param_groups, set_lr
from vjepa.finetune.mixup import mix_batch
from vjepa.finetune.model import FinetuneModel
from vjepa.pretrain.metrics_log import plot_loss_curve
from vjepa.weights.io import safe_torch_load, save_modules

_ORDER_TAG, _STEP_TAG = 0xF10D, 0xF157
_NOT_RESUME_KEYS = ("run", "runtime.num_workers", "runtime.device")  # may change across a resume


def build_optimizer(model: FinetuneModel, cfg: FinetuneConfig) -> torch.optim.AdamW:
    o = cfg.optim
    groups = lrd_param_groups(model.encoder, model.head, len(model.encoder.blocks), o.weight_decay, o.layer_decay)
    for g in groups:
        del g["names"]  # plain values only in the optimizer state (weights_only loading)
    return torch.optim.AdamW(groups, lr=o.start_lr, betas=tuple(o.betas), foreach=True)


def epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    return torch.randperm(n, generator=keyed_generator(_ORDER_TAG, seed, epoch))


def step_keys(cfg: FinetuneConfig, n: int, start: int, end: int) -> list[list[tuple[int, int]]]:
    """The ``(epoch, index)`` keys of the batches of steps ``start .. end - 1``."""
    per_epoch, b = max(1, n // cfg.optim.batch_size), min(cfg.optim.batch_size, n)
    out, orders = [], {}
    for k in range(start, end):
        epoch, pos = divmod(k, per_epoch)
        order = orders.setdefault(epoch, epoch_order(cfg.runtime.seed, epoch, n))
        out.append([(epoch, int(i)) for i in order[pos * b:(pos + 1) * b]])
    return out


def _as_list(items: list[dict]) -> list[dict]:  # a module-level function: picklable for spawned workers
    return items


def _collate(items: list[dict]) -> dict:
    return {"video": torch.stack([it["video"] for it in items]),
            "label": torch.tensor([it["label"] for it in items], dtype=torch.long)}


def train_step(model: FinetuneModel, optimizer: torch.optim.Optimizer, video: torch.Tensor, labels: torch.Tensor,
               k: int, cfg: FinetuneConfig, num_classes: int, total: int, steps_per_epoch: int,
               dtype: torch.dtype) -> dict[str, float]:
    """One optimizer step (0-based index ``k``): scheduled lr, mixup/cutmix, soft-target cross-entropy under
    autocast, optional clipping, AdamW. Drop-path masks come from a forked RNG seeded by (seed, k)."""
    o = cfg.optim
    lr = learning_rate(k + 1, start_lr=o.start_lr, lr=o.lr, final_lr=o.final_lr,
                       warmup_steps=int(o.warmup_epochs * steps_per_epoch), schedule_steps=total)
    set_lr(optimizer, lr)
    gen = keyed_generator(_STEP_TAG, cfg.runtime.seed, k)
    video, targets, info = mix_batch(video, labels, num_classes, cfg.regularization, gen)
    devices = [video.device] if video.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(torch.randint(2**62, (1,), generator=gen)))
        with autocast(video.device, dtype):
            logits = model(video)
        loss = -(targets * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"loss is {loss.item()} at step {k + 1}; stopped before updating the weights")
        loss.backward()
    max_norm = math.inf if o.clip_grad is None else o.clip_grad
    grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return {"step": k + 1, "loss": float(loss.detach()), "lr": lr, "grad_norm": grad_norm, "mix": info["mode"]}


@torch.no_grad()
def evaluate(model: FinetuneModel, data: FinetuneData, cfg: FinetuneConfig, device: torch.device,
             dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-view test protocol: (num_val, C) view-averaged softmax, (num_val,) labels."""
    model.eval()
    loader = DataLoader(data.val, batch_size=cfg.optim.batch_size, shuffle=False,
                        num_workers=cfg.runtime.num_workers, collate_fn=_as_list)
    probs, labels = [], []
    for items in loader:
        segments, views = len(items[0]["clips"]), len(items[0]["clips"][0])
        clips = [[torch.stack([it["clips"][s][v] for it in items]).to(device) for v in range(views)]
                 for s in range(segments)]
        with autocast(device, dtype):
            logits = view_logits(model.encoder, model.head, clips)
        probs.append(aggregate_views([x.float() for x in logits]).cpu())
        labels.append(torch.tensor([it["label"] for it in items]))
    model.train()
    return torch.cat(probs), torch.cat(labels)


def _resume_config(config: dict) -> dict:
    """The dotted keys and values of a saved config (``to_dict``) that must not change across a resume."""
    flat: dict = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in _resume_config(value).items()})
        else:
            flat[key] = value
    return {k: v for k, v in flat.items() if k not in _NOT_RESUME_KEYS and k.split(".")[0] not in _NOT_RESUME_KEYS}


def _save(path: Path, model: FinetuneModel, optimizer: torch.optim.Optimizer, step: int, cfg: FinetuneConfig,
          meta: dict, history: list[dict]) -> None:
    payload = {"format": FT_FORMAT, "step": step, "encoder": model.encoder.state_dict(),
               "head": model.head.state_dict(), "optimizer": optimizer.state_dict(), "config": to_dict(cfg),
               "meta": meta, "history": history}
    atomic_write(path, lambda p: torch.save(payload, p))


def _load(path: Path, model: FinetuneModel, optimizer: torch.optim.Optimizer, cfg: FinetuneConfig,
          meta: dict) -> tuple[int, list[dict]]:
    ckpt = safe_torch_load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FT_FORMAT:
        raise CheckpointError(f"{path}: not a vjepa finetune checkpoint; use another output folder")
    old, now = _resume_config(ckpt["config"]), _resume_config(to_dict(cfg))
    changed = sorted(k for k in set(old) | set(now) if old.get(k) != now.get(k))
    changed += sorted(k for k in set(meta) - {"encoder"} if ckpt["meta"].get(k) != meta[k])  # source, data, classes
    if changed:
        new = {**now, **meta}
        old = {**old, **ckpt["meta"]}
        what = ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in changed)
        raise CheckpointError(f"{path} belongs to a run with other settings ({what}); resume with the same settings "
                              "or use another output folder")
    model.encoder.load_state_dict(ckpt["encoder"])
    model.head.load_state_dict(ckpt["head"])
    optimizer.load_state_dict(ckpt["optimizer"])
    return int(ckpt["step"]), list(ckpt["history"])


def finetune(model: FinetuneModel, data: FinetuneData, cfg: FinetuneConfig, num_classes: int,
             out_dir: str | Path, *, describe: dict[str, Any] | None = None, progress: bool = True) -> dict:
    """Fine-tune ``model`` on ``data``, writing into ``out_dir``; resumes from ``out_dir/checkpoints/latest.pt``.

    Returns the content of ``metrics.json`` plus ``summary`` (one line)."""
    validate_finetune(cfg)
    check_clip_fits(cfg.clip, model.encoder.cfg.tubelet_size, model.encoder.cfg.patch_size)
    with output_lock(out_dir, "fine-tuning run"):  # one run at a time per output folder
        return _finetune(model, data, cfg, num_classes, Path(out_dir), describe, progress)


def _finetune(model: FinetuneModel, data: FinetuneData, cfg: FinetuneConfig, num_classes: int, out: Path,
              describe: dict[str, Any] | None, progress: bool) -> dict:
    for stale in (out / "checkpoints").glob(".*.tmp"):  # left by a kill in the middle of a write
        stale.unlink()
    device = resolve_device(cfg.runtime.device)
    dtype = resolve_dtype(cfg.runtime.dtype, device)
    model.to(device).train()
    optimizer = build_optimizer(model, cfg)
    per_epoch = max(1, data.num_train // cfg.optim.batch_size)
    total = cfg.optim.epochs * per_epoch
    end = min(total, cfg.run.max_steps or total)
    meta = {"num_classes": num_classes, "encoder": asdict(model.encoder.cfg), **data.describe, **(describe or {})}
    latest = out / "checkpoints" / "latest.pt"
    step, history = _load(latest, model, optimizer, cfg, meta) if latest.is_file() else (0, [])
    if step:  # always said: a re-run of a killed job must not look like a fresh start
        write_line(f"resuming from {latest} at step {step}")
    every = cfg.run.checkpoint_every or per_epoch
    loader = DataLoader(data.train, batch_sampler=step_keys(cfg, data.num_train, step, end),
                        num_workers=cfg.runtime.num_workers, collate_fn=_collate)
    bar = progress_bar(total=end, initial=step, enabled=progress, desc="finetune", unit="step")
    for batch in loader:
        history.append(train_step(model, optimizer, batch["video"].to(device), batch["label"].to(device), step, cfg,
                                  num_classes, total, per_epoch, dtype))
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{history[-1]['loss']:.4f}")
        if step % every == 0 or step == end:
            _save(latest, model, optimizer, step, cfg, meta, history)
    bar.close()
    return write_outputs(model, data, cfg, num_classes, out, device, dtype, meta, history)


def write_outputs(model: FinetuneModel, data: FinetuneData, cfg: FinetuneConfig, num_classes: int, out: Path,
                  device: torch.device, dtype: torch.dtype, meta: dict, history: list[dict]) -> dict:
    """Evaluate with the multi-view protocol and write metrics.json, confusion.png, loss_curve.png, model/."""
    probs, labels = evaluate(model, data, cfg, device, dtype)
    cm = confusion_matrix(probs.argmax(dim=1), labels, num_classes)
    settings = {**leaf_values(cfg), "device": str(device), "dtype": str(dtype).split(".")[-1],
                **{k: v for k, v in meta.items() if k != "encoder"}}
    settings["num_views"] = cfg.clip.num_views
    metrics = {**classification_metrics(probs, labels, num_classes), "num_train": data.num_train,
               "num_val": data.num_val, "num_classes": num_classes,
               "per_class_acc": dict(zip(map(str, range(num_classes)), per_class_accuracy(cm).tolist())),
               "settings": settings, "protocol": "finetune", "steps": history[-1]["step"] if history else 0,
               "history": history}
    text = json.dumps(json_safe(metrics), indent=1) + "\n"
    atomic_write(out / "metrics.json", lambda p: Path(p).write_text(text))
    plot_confusion(cm, out / "confusion.png")
    jsonl = "".join(json.dumps(h) + "\n" for h in history)
    atomic_write(out / "history.jsonl", lambda p: Path(p).write_text(jsonl))
    plot_loss_curve(out / "history.jsonl", out / "loss_curve.png", "finetune")
    save_modules(out / "model", {"encoder": model.encoder, "head": model.head},
                 json_safe({"format": EXPORT_FORMAT, "head": cfg.head, **meta}))
    line = summary_line(metrics, data.num_train, data.num_val, settings)
    return {**metrics, "summary": line}
