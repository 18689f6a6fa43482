"""Classification metrics of the probe protocols (in percent) and the confusion-matrix plot."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from vjepa.core.errors import DataError
from vjepa.core.plots import new_figure, save_figure
from vjepa.eval.protocol import topk_accuracy


def _check(probs: torch.Tensor, labels: torch.Tensor, num_classes: int) -> None:
    if probs.dim() != 2 or probs.shape[1] != num_classes or labels.shape != probs.shape[:1]:
        raise DataError(f"expected probs (N, {num_classes}) and labels (N,), got {list(probs.shape)} and "
                        f"{list(labels.shape)}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(f"labels must be in [0, {num_classes}), got values in [{int(labels.min())}, "
                        f"{int(labels.max())}]; check num_classes")


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts ``cm[true, predicted]``.

    Args:
        predictions: int ``(N,)`` predicted classes.
        labels: int ``(N,)`` true classes, in ``[0, num_classes)``.
        num_classes: C.

    Returns:
        int64 ``(C, C)``; row c sums to the number of samples of class c.
    """
    labels, predictions = labels.long().cpu().reshape(-1), predictions.long().cpu().reshape(-1)
    for name, x in (("labels", labels), ("predictions", predictions)):
        if x.numel() and (x.min() < 0 or x.max() >= num_classes):
            raise DataError(f"{name} must be in [0, {num_classes}), got values in [{int(x.min())}, {int(x.max())}]")
    flat = labels * num_classes + predictions
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """Recall of every class in percent, ``(C,)``; NaN for classes without samples."""
    totals = cm.sum(dim=1).double()
    return 100.0 * cm.diagonal().double() / totals  # 0/0 -> NaN marks absent classes


def classification_metrics(probs: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict[str, float]:
    """Top-1, top-5 and mean per-class accuracy, all in percent.

    Args:
        probs: ``(N, C)`` class scores (the view-averaged softmax; any monotone score gives the same numbers).
        labels: int64 ``(N,)``.
        num_classes: C.

    Returns:
        ``top1``, ``top5`` (top-min(5, C): 100 when C <= 5) and ``mean_class_acc``: the mean over the classes
        present in ``labels`` of their recall (absent classes are left out rather than counted as 0).
    """
    probs, labels = probs.detach().float().cpu(), labels.long().cpu()
    _check(probs, labels, num_classes)
    if labels.numel() == 0:
        raise DataError("no samples to evaluate: the validation set is empty")
    recall = per_class_accuracy(confusion_matrix(probs.argmax(dim=1), labels, num_classes))
    return {
        "top1": float(topk_accuracy(probs, labels, 1)),
        "top5": float(topk_accuracy(probs, labels, 5)),
        "mean_class_acc": float(recall[~recall.isnan()].mean()),
    }


def plot_confusion(cm: torch.Tensor, path: str | os.PathLike, class_names: Sequence[str] | None = None,
                   title: str = "confusion (rows: true class, colour: row-normalised)") -> Path:
    """Save the confusion matrix as a PNG: colours are row-normalised recall, cells annotated with counts
    when C <= 30; tick labels are ``class_names`` (or indices) when C <= 50.

    Uses matplotlib's object API on the Agg canvas, so no display and no pyplot global state are involved.
    """
    cm = torch.as_tensor(cm).cpu()
    num_classes = cm.shape[0]
    if class_names is not None and len(class_names) != num_classes:
        raise DataError(f"{len(class_names)} class names given for a {num_classes}-class confusion matrix")
    names = list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]
    rows = cm.double() / cm.sum(dim=1, keepdim=True).clamp(min=1).double()
    side = min(4.0 + 0.35 * num_classes, 24.0)
    fig = new_figure(side, side * 0.9)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(rows.numpy(), cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if num_classes <= 50:
        ax.set_xticks(range(num_classes), names, rotation=90, fontsize=8)
        ax.set_yticks(range(num_classes), names, fontsize=8)
    if num_classes <= 30:
        for i in range(num_classes):
            for j in range(num_classes):
                colour = "white" if rows[i, j] > 0.5 else "black"
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=7, color=colour)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)
