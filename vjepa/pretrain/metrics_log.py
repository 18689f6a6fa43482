"""Metrics: one JSON object per line in ``metrics.jsonl``, mirrored to TensorBoard when it is installed, and a
loss-curve PNG at the end of a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vjepa.core.io import write_text_atomic
from vjepa.core.plots import new_figure, save_figure


class MetricsLog:
    """Appends records to ``OUT/metrics.jsonl``; a resumed run drops records past its resume step first."""

    def __init__(self, out_dir: str | Path, resume_step: int = 0, tensorboard: bool = True) -> None:
        self.path = Path(out_dir) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():  # records written after the checkpoint we resume from were lost with the run
            kept = [line for line in self.path.read_text().splitlines() if _step_of(line) <= resume_step]
            write_text_atomic(self.path, "".join(line + "\n" for line in kept))
        self._file = self.path.open("a")
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(Path(out_dir) / "tensorboard"))
            except ImportError:  # optional extra
                self._tb = None

    def write(self, step: int, values: dict[str, Any]) -> None:
        record = {"step": step, **values}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._tb is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._tb.add_scalar(key, value, step)

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def _step_of(line: str) -> int:
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return 1 << 62  # unreadable lines (a kill mid-write) are dropped


def read_metrics(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


_LOSS_NAMES = {"vjepa": ("V-JEPA pretraining", "loss (L1 to the target features)"),
               "pixel": ("pixel-reconstruction pretraining", "loss (MSE on normalised pixels)"),
               "finetune": ("fine-tuning", "loss (soft-target cross-entropy)")}


def plot_loss_curve(metrics_path: str | Path, png_path: str | Path, objective: str = "vjepa") -> Path | None:
    """Loss against step (and lr on a second axis); returns None when there is nothing to plot."""
    rows = [r for r in read_metrics(metrics_path) if "loss" in r]
    if not rows:
        return None
    fig = new_figure(7, 4)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], color="tab:blue", label="loss")
    ax.set_xlabel("step")
    title, ylabel = _LOSS_NAMES[objective]
    ax.set_ylabel(ylabel)
    lr_ax = ax.twinx()
    lr_ax.plot([r["step"] for r in rows], [r["lr"] for r in rows], color="tab:orange", alpha=0.6, label="lr")
    lr_ax.set_ylabel("learning rate")
    ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, png_path)
