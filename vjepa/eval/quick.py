"""Quick protocols on mean-pooled frozen features: a linear probe and a k-NN classifier.

Both pool every view's tokens by their mean (``(N, D)``) and, like the attentive protocol, average the class
probabilities over the views at test time. Hyper-parameters are **selected on a held-out part of the training
set, never on validation**: a stratified ``holdout_fraction`` of the training samples (at least one per class, none
from a class with a single sample) is set aside, every candidate is fitted on the rest and scored (top-1) on the
hold-out; the best candidate (the first in grid order on ties) is refitted on the whole training set and tested
once on the validation set. The validation labels only enter the final metrics.

* Linear: features standardised with the fitting set's mean / std, one ``nn.Linear``, AdamW with a cosine
  learning rate to 0, cross-entropy; the grid is ``lrs × weight_decays``.
* k-NN: cosine similarity of L2-normalised features, the k most similar training samples vote with weight
  ``exp(similarity / temperature)`` (temperature 0.07, as the DINO k-NN eval); probabilities are the normalised
  votes; the grid is ``ks``.

An intermediate layer is probed the same way: extract it with ``extract_features(..., layers=[i])`` (several
layers in one pass, then :meth:`~vjepa.eval.features.FeatureSet.layer`) and pass those features here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vjepa.core.errors import ConfigError
from vjepa.core.rng import keyed_generator
from vjepa.eval.features import FeatureSet
from vjepa.eval.lowshot import stratified_subset
from vjepa.eval.metrics import classification_metrics


def pooled(features: FeatureSet, view: int = 0) -> torch.Tensor:
    """Mean over the tokens of one view: ``(N, D)`` float32."""
    return features.views[view].float().mean(dim=1)


def holdout_split(labels: torch.Tensor, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(fit, holdout)`` positions: a stratified hold-out of the training set (see the module docstring)."""
    if not 0.0 < fraction <= 0.5:
        raise ConfigError(f"holdout_fraction {fraction} must be in (0, 0.5]")
    y = labels.numpy()
    hold = stratified_subset(y, fraction, seed)
    hold = hold[np.bincount(y)[y[hold]] > 1]  # a single-sample class stays in the fitting part
    fit = np.setdiff1d(np.arange(y.size), hold)
    return fit, hold


def check_holdout_sizes(labels: Sequence[int] | np.ndarray | torch.Tensor, protocol: str,
                        label_fraction: float | None = None) -> None:
    """Refuse (one-line ``ConfigError``) a training set, or a low-shot split of it, too small for the hold-out.

    The hold-out needs a class with at least 2 samples (a single-sample class stays in the fitting part); the
    per-class sizes of a low-shot split do not depend on its seed, so this is checked from the labels alone,
    before any feature is extracted or any file written.
    """
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    counts = np.bincount(y) if y.size else np.zeros(0, dtype=np.int64)
    counts = counts[counts > 0]
    kept = counts if label_fraction is None else \
        np.minimum(counts, np.maximum(1, np.floor(label_fraction * counts + 0.5))).astype(np.int64)
    if kept.size and kept.max() > 1:
        return
    choose = "lr and weight decay" if protocol == "linear" else "k"
    need = (f"the {protocol} protocol holds out part of the training set to choose {choose}, which needs a class "
            "with at least 2 training samples")
    if label_fraction is not None and counts.size and counts.max() > 1:
        least = math.ceil(1.5 / counts.max() * 1000) / 1000  # k_c >= 2 <=> fraction * n_c >= 1.5
        raise ConfigError(f"lowshot.label_fraction {label_fraction:g} of the {y.size} training samples keeps "
                          f"{kept.max()} per class ({kept.sum()} in all): {need}; use lowshot.label_fraction >= "
                          f"{least:g}, more training samples, or probe.protocol attentive")
    raise ConfigError(f"the {y.size} training samples have at most 1 per class: {need}; add training samples or use "
                      "probe.protocol attentive")


def _select(train: FeatureSet, val: FeatureSet, num_classes: int, grid: Sequence[dict[str, Any]],
            holdout_fraction: float, seed: int,
            predict: Callable[[FeatureSet, FeatureSet, dict[str, Any]], torch.Tensor]) -> dict[str, Any]:
    """Score every candidate on the hold-out, refit the best on all of ``train``, test it on ``val``."""
    check_holdout_sizes(train.labels, "linear" if "lr" in grid[0] else "knn")
    fit, hold = holdout_split(train.labels, holdout_fraction, seed)
    fit_set, hold_set = train.subset(fit), train.subset(hold)
    scores = []
    for params in grid:
        top1 = classification_metrics(predict(fit_set, hold_set, params), hold_set.labels, num_classes)["top1"]
        scores.append({**params, "top1": top1})
    best = max(range(len(grid)), key=lambda i: (scores[i]["top1"], -i))  # first of the best on ties
    probs = predict(train, val, grid[best])
    return {"metrics": classification_metrics(probs, val.labels, num_classes), "selected": dict(grid[best]),
            "holdout": scores, "num_fit": len(fit), "num_holdout": len(hold), "num_train": train.num_samples,
            "num_val": val.num_samples}


def _fit_linear(x: torch.Tensor, y: torch.Tensor, num_classes: int, lr: float, wd: float, epochs: int,
                batch_size: int, seed: int) -> nn.Module:
    """A standardising linear classifier ``(N, D) -> (N, C)`` trained with AdamW (cosine lr)."""
    mean, std = x.mean(dim=0), x.std(dim=0, unbiased=False).clamp(min=1e-6)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        linear = nn.Linear(x.shape[1], num_classes)
    optimizer = torch.optim.AdamW(linear.parameters(), lr=lr, weight_decay=wd)
    n = x.shape[0]
    total, k = epochs * math.ceil(n / batch_size), 0
    xs = (x - mean) / std
    for epoch in range(epochs):
        order = torch.randperm(n, generator=keyed_generator(seed, epoch))
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            for group in optimizer.param_groups:
                group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * k / total))
            k += 1
            loss = F.cross_entropy(linear(xs[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model = nn.Sequential(_Standardise(mean, std), linear)
    return model.eval()


class _Standardise(nn.Module):
    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def linear_probe(train: FeatureSet, val: FeatureSet, num_classes: int, *,
                 lrs: Sequence[float] = (1e-3, 1e-2, 1e-1), weight_decays: Sequence[float] = (0.0, 1e-4, 1e-2),
                 epochs: int = 50, batch_size: int = 256, holdout_fraction: float = 0.2,
                 seed: int = 0) -> dict[str, Any]:
    """Linear classifier on pooled features, lr and weight decay chosen on a training hold-out.

    Args:
        train: Training features (view 0 is fitted; the hold-out is scored on all its views).
        val: Validation features (all views, softmax averaged).
        num_classes: C.
        lrs, weight_decays: The grid.
        epochs, batch_size: AdamW training length and batch.
        holdout_fraction: Share of each training class held out for the selection.
        seed: Seeds the hold-out, the initialisation and the sample order.

    Returns:
        ``metrics`` (val top1/top5/mean_class_acc), ``selected`` (lr, weight_decay), ``holdout`` (the score of
        every candidate), ``num_fit``, ``num_holdout``, ``num_train``, ``num_val``.
    """
    if epochs < 1 or batch_size < 1 or not lrs or not weight_decays:
        raise ConfigError("linear probe needs epochs >= 1, batch_size >= 1 and non-empty lr / weight-decay grids")

    def predict(fit_set: FeatureSet, test_set: FeatureSet, params: dict[str, Any]) -> torch.Tensor:
        model = _fit_linear(pooled(fit_set), fit_set.labels, num_classes, params["lr"], params["weight_decay"],
                            epochs, batch_size, seed)
        with torch.no_grad():
            return sum(F.softmax(model(pooled(test_set, v)), dim=1) for v in range(test_set.num_views)) / \
                test_set.num_views

    grid = [{"lr": float(lr), "weight_decay": float(wd)} for lr in lrs for wd in weight_decays]
    return _select(train, val, num_classes, grid, holdout_fraction, seed, predict)


def knn_probs(bank: torch.Tensor, bank_labels: torch.Tensor, queries: torch.Tensor, k: int, num_classes: int,
              temperature: float = 0.07, chunk: int = 1024) -> torch.Tensor:
    """Weighted k-NN class probabilities.

    Args:
        bank: ``(M, D)`` training features; bank_labels: ``(M,)``.
        queries: ``(Q, D)``.
        k: Neighbours (clamped to M).
        num_classes: C.
        temperature: Votes weigh ``exp(cosine / temperature)``.
        chunk: Queries per similarity block (bounds the ``chunk × M`` memory).

    Returns:
        ``(Q, C)`` normalised vote mass.
    """
    bank, k = F.normalize(bank.float(), dim=1), min(k, bank.shape[0])
    out = []
    for start in range(0, queries.shape[0], chunk):
        sims = F.normalize(queries[start:start + chunk].float(), dim=1) @ bank.T  # (q, M)
        top, idx = sims.topk(k, dim=1)
        weights = torch.exp((top - 1.0) / temperature)  # shifted by the max possible cosine: no overflow
        votes = torch.zeros(sims.shape[0], num_classes).scatter_add_(1, bank_labels[idx], weights)
        out.append(votes / votes.sum(dim=1, keepdim=True))
    return torch.cat(out)


def knn_probe(train: FeatureSet, val: FeatureSet, num_classes: int | None = None, *,
              ks: Sequence[int] = (1, 5, 10, 20), temperature: float = 0.07, holdout_fraction: float = 0.2,
              seed: int = 0) -> dict[str, Any]:
    """k-NN on pooled features, k chosen on a training hold-out (same outputs as :func:`linear_probe`, with
    ``selected = {"k": ...}``). ``num_classes`` defaults to 1 + the largest training label."""
    if not ks or min(ks) < 1 or temperature <= 0:
        raise ConfigError(f"k-NN needs ks >= 1 (got {list(ks)}) and temperature > 0 (got {temperature})")
    num_classes = num_classes or int(train.labels.max()) + 1

    def predict(fit_set: FeatureSet, test_set: FeatureSet, params: dict[str, Any]) -> torch.Tensor:
        bank = pooled(fit_set)
        views = [knn_probs(bank, fit_set.labels, pooled(test_set, v), params["k"], num_classes, temperature)
                 for v in range(test_set.num_views)]
        return sum(views) / len(views)

    return _select(train, val, num_classes, [{"k": int(k)} for k in ks], holdout_fraction, seed, predict)
