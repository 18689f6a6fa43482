"""The motion investigation's two checks on the embedded dataset (docs/experiment.md): ``vjepa experiment
motion-probes`` and ``vjepa experiment motion-supervised`` (:mod:`vjepa.cli.motion`).

* :func:`motion_probes`: which labels can a frozen attentive probe read from an encoder, against random init?
  Besides the dataset's two tasks (``turn``: the relational motion label of the demo table; ``appearance``), it
  probes labels a *single* tubelet reveals, to tell "the features carry no motion" from "the probe cannot relate
  time steps": ``direction`` (quadrant of the object's initial direction, 4 classes, from its first displacement)
  and ``speed`` (object speed above the median of its range, 2 classes). The official probe recipe (20 epochs) on
  cached features, as the demo table; a random-init encoder of the same architecture (seed 0) is always probed
  alongside.
* :func:`motion_supervised`: is a label learnable end to end by the demo's architecture with unlimited data? The
  demo encoder (from scratch, or from a checkpoint) plus an attentive head is trained on *fresh* clips every step
  (item indices never repeat, so there is no over-fitting to a small training set), then scored on held-out clips.
  ``direction`` is the positive control, ``turn`` the demo's relational label. Recipe: AdamW (peak ``lr``, weight
  decay 0.05), 50 warmup steps then cosine, clipping at 1.0, bf16 autocast, batch 32.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from vjepa.core.errors import ConfigError
from vjepa.data.synthetic import VAL_OFFSET, render_clip
from vjepa.data.transforms import EvalVideoTransform
from vjepa.eval.checkpoints import load_frozen_encoder
from vjepa.eval.features import extract_features
from vjepa.eval.probe_train import ProbeRecipe, train_attentive_probe
from vjepa.finetune.model import FinetuneModel, build_head
from vjepa.models.encoder import VideoEncoder

LABELS = {"turn": 4, "direction": 4, "speed": 2, "appearance": 4}
"""Label -> number of classes."""
MEDIAN_SPEED = 2.75  # px / frame at 64 px: the renderer draws speeds uniformly in [2, 3.5]
SUPERVISED_LABELS = ("turn", "direction")
BATCH, WARMUP, LR = 32, 50, 5e-4
"""The supervised control's batch, warmup steps and default peak learning rate."""

ProbeCells = dict[str, tuple[float, float]]
"""Label -> (val top-1 %, last-epoch train accuracy %)."""


class _Clips(Dataset):
    def __init__(self, clips: list[torch.Tensor]) -> None:
        self.clips = clips

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict:
        return {"clips": [[self.clips[i]]], "label": 0}  # 1 segment x 1 view


def render(indices: range, size: int) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
    """Eval-transformed clips and every label of items ``indices`` of the shipped dataset (seed 0, 4 classes)."""
    transform = EvalVideoTransform(size, num_views=1)
    clips, labels = [], {name: [] for name in LABELS}
    for i in indices:
        item = render_clip(0, i, num_frames=16, size=size, num_classes=4)
        clips.append(transform(item["video"])[0])
        step = torch.remainder(item["trajectory"][1] - item["trajectory"][0] + size / 2, size) - size / 2  # (2,)
        angle = math.atan2(-float(step[1]), float(step[0])) % (2 * math.pi)  # counter-clockwise on screen
        labels["turn"].append(item["motion"])
        labels["direction"].append(int(angle // (math.pi / 2)))
        labels["speed"].append(int(float(step.norm()) > MEDIAN_SPEED * size / 64))
        labels["appearance"].append(item["appearance"])
    return clips, {name: torch.tensor(v) for name, v in labels.items()}


def probe_all(encoder: VideoEncoder, train: tuple, val: tuple) -> ProbeCells:
    """Label -> (val top-1, last-epoch train accuracy), from one feature extraction per split."""
    feats = [extract_features(encoder, DataLoader(_Clips(clips), batch_size=16), progress=False)
             for clips, _ in (train, val)]
    out = {}
    for name, classes in LABELS.items():
        result = train_attentive_probe(feats[0].with_labels(train[1][name]), feats[1].with_labels(val[1][name]),
                                       classes, ProbeRecipe(epochs=20), progress=False)
        out[name] = (result.metrics["top1"], result.history[-1]["train_acc"])
    return out


def motion_probes(checkpoint: str, *, key: str = "target_encoder", train: int = 1024, val: int = 256,
                  size: int = 64) -> dict[str, ProbeCells]:
    """Frozen attentive probes of every label of :data:`LABELS` on ``train`` / ``val`` rendered clips of side
    ``size``: row name -> cells, for a random-init encoder of the checkpoint's architecture and the checkpoint's
    ``key`` encoder."""
    if train < 1 or val < 1 or size < 1:
        raise ConfigError(f"train={train}, val={val}, size={size}: each must be >= 1")
    pretrained = load_frozen_encoder(checkpoint, key=key).eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        random_init = VideoEncoder(pretrained.cfg).eval()
    train_set, val_set = render(range(train), size), render(range(VAL_OFFSET, VAL_OFFSET + val), size)
    return {"random init": probe_all(random_init, train_set, val_set),
            f"{checkpoint} ({key})": probe_all(pretrained, train_set, val_set)}


def probe_table(rows: dict[str, ProbeCells], train: int, val: int) -> str:
    """The Markdown table of :func:`motion_probes` (val top-1 % with train % in brackets), with a chance row."""
    lines = [f"frozen attentive probe, {train} train / {val} val clips, val top-1 % (train %)",
             "| encoder | " + " | ".join(LABELS) + " |\n|---|" + "---:|" * len(LABELS)]
    for name, cells in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.1f} ({t:.0f})" for v, t in cells.values()) + " |")
    lines.append("| (chance) | " + " | ".join(f"{100.0 / c:.1f}" for c in LABELS.values()) + " |")
    return "\n".join(lines)


def motion_supervised(label: str = "turn", *, steps: int = 600, checkpoint: str = "none", eval_every: int = 100,
                      val: int = 256, lr: float = LR, report: Callable[[str], None] = print) -> list[dict]:
    """Train the demo architecture (``checkpoint`` 'none': from scratch, seeded) plus an attentive head on fresh
    64-px clips every step; every ``eval_every`` steps and at the end, score ``val`` held-out clips and pass a
    line to ``report``. Returns one record per evaluation (step, clips seen, train-loss EMA, val top-1 %)."""
    if label not in SUPERVISED_LABELS:
        raise ConfigError(f"label={label!r}: use one of {', '.join(SUPERVISED_LABELS)}")
    if steps < 1 or eval_every < 1 or val < 1 or not lr > 0:
        raise ConfigError(f"steps={steps}, eval_every={eval_every}, val={val}, lr={lr}: steps, eval_every and val "
                          "must be >= 1 and lr > 0")
    encoder = load_frozen_encoder(checkpoint, arch="custom", embed_dim=192, depth=6, num_heads=3, num_frames=16,
                                  img_size=64)  # 'none': the cpu_demo architecture, seeded
    model = FinetuneModel(encoder, build_head("attentive", encoder, LABELS[label]), drop_path=0.0).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    val_clips, val_labels = render(range(VAL_OFFSET, VAL_OFFSET + val), 64)
    val_x, val_y = torch.stack(val_clips), val_labels[label]
    start, running, history = time.perf_counter(), None, []
    for k in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr * min(1.0, (k + 1) / WARMUP) * 0.5 * (1.0 + math.cos(math.pi * k / steps))
        clips, labels = render(range(k * BATCH, (k + 1) * BATCH), 64)  # fresh items every step
        with torch.autocast("cpu", torch.bfloat16):
            logits = model(torch.stack(clips))
        loss = F.cross_entropy(logits.float(), labels[label])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        value = loss.item()
        running = value if running is None else 0.95 * running + 0.05 * value
        if (k + 1) % eval_every == 0 or k + 1 == steps:
            model.eval()
            with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
                acc = 100.0 * (model(val_x).argmax(dim=1) == val_y).float().mean().item()
            model.train()
            history.append({"step": k + 1, "clips_seen": (k + 1) * BATCH, "train_loss_ema": running, "val_top1": acc})
            report(f"step {k + 1}: {(k + 1) * BATCH} clips seen, train loss (EMA) {running:.3f} "
                   f"(chance ln {LABELS[label]} = {math.log(LABELS[label]):.3f}), val top-1 {acc:.1f} %, "
                   f"{time.perf_counter() - start:.0f} s")
    return history
