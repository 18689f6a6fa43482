"""Training the attentive probe on frozen features with the official recipe (spec §7.2-7.3).

Recipe (official ``evals/video_classification_frozen`` and ``image_classification_frozen`` configs): AdamW with
torch's default betas/eps, parameter groups {weights: decayed} and {biases and 1-D tensors: no decay}; per step,
before the forward, lr = cosine from ``lr`` (1e-3) to ``final_lr`` (0) over ``epochs · steps_per_epoch`` steps with
no warmup, weight decay = cosine from ``weight_decay`` (0.01 video, 0.001 image) to ``final_weight_decay`` (1e-6);
grad-norm clipping at 1.0 on every step; 20 epochs; the last epoch's probe is the result. The official batch sizes
are per GPU (video 4 × 64 GPUs = 256 for K400; image 16 per GPU); ``batch_size`` here is the whole batch of one
process.

Training uses view 0 of the training features (the official train loader has one view per segment); the test
prediction is the mean over all views of the softmax (:func:`vjepa.eval.protocol.aggregate_views`).
Everything random -- the probe's initialisation and each epoch's sample order -- comes from generators seeded by
``seed``, so a run is a pure function of (features, recipe) on a given machine and leaves the global RNG alone.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from vjepa.core.errors import ConfigError, DataError
from vjepa.core.progress import progress_bar
from vjepa.core.rng import keyed_generator
from vjepa.core.runtime import autocast
from vjepa.core.schedules import learning_rate, weight_decay
from vjepa.eval.features import FeatureSet
from vjepa.eval.metrics import classification_metrics
from vjepa.eval.protocol import aggregate_views, multiview_loss
from vjepa.models.probe import AttentiveClassifier, ProbeConfig
from vjepa.pretrain.optim import is_decayed, set_hparams


@dataclass(frozen=True)
class ProbeRecipe:
    """Attentive-probe optimisation; defaults are the official video eval config (vitl16_k400_16x8x3)."""

    epochs: int = 20
    batch_size: int = 16
    lr: float = 1e-3
    """Peak (= start, no warmup) learning rate, cosine-decayed to ``final_lr``."""
    final_lr: float = 0.0
    weight_decay: float = 0.01
    """Official video: 0.01; image: 0.001. Cosine-decayed to ``final_weight_decay``."""
    final_weight_decay: float = 1e-6
    """The official ``init_opt`` default (the decay towards it is unintended upstream, spec §10.20; kept)."""
    clip_grad: float | None = 1.0
    seed: int = 0
    num_heads: int | None = None
    """None: the encoder's heads, recorded in the features' ``meta`` (official)."""
    depth: int = 1
    variant: str = "vjepa1"
    """Where the ``depth - 1`` self-attention blocks run (:class:`~vjepa.models.probe.ProbeConfig`)."""
    val_every_epoch: bool = True
    """Also record the validation top-1 after every epoch (as the official log); the result is the last epoch."""

    def __post_init__(self) -> None:
        checks = [
            ("epochs", self.epochs >= 1, ">= 1"), ("batch_size", self.batch_size >= 1, ">= 1"),
            ("lr", self.lr > 0, "> 0"), ("final_lr", 0 <= self.final_lr <= self.lr, "in [0, lr]"),
            ("weight_decay", self.weight_decay >= 0, ">= 0"),
            ("final_weight_decay", self.final_weight_decay >= 0, ">= 0"),
            ("clip_grad", self.clip_grad is None or self.clip_grad > 0, "> 0 or None"),
            ("seed", self.seed >= 0, ">= 0"), ("depth", self.depth >= 1, ">= 1"),
            ("num_heads", self.num_heads is None or self.num_heads >= 1, ">= 1 or None"),
        ]
        for key, ok, rule in checks:
            if not ok:
                raise ConfigError(f"probe.{key} {getattr(self, key)!r} must be {rule}")


def probe_hparams(recipe: ProbeRecipe, k: int, total_steps: int) -> tuple[float, float]:
    """``(lr, weight_decay)`` of 1-based step ``k`` of ``total_steps`` (official: schedulers stepped before the
    forward, so step k uses the k-th value; k = total_steps reaches the final values)."""
    lr = learning_rate(k, start_lr=recipe.lr, lr=recipe.lr, final_lr=recipe.final_lr, warmup_steps=0,
                       schedule_steps=total_steps)
    wd = weight_decay(k, weight_decay=recipe.weight_decay, final_weight_decay=recipe.final_weight_decay,
                      schedule_steps=total_steps)
    return lr, wd


@dataclass
class ProbeResult:
    """A trained probe and its evaluation.

    Attributes:
        probe: The trained classifier (eval mode, CPU).
        config: Its architecture.
        recipe: The recipe it was trained with.
        history: One dict per epoch: ``epoch``, ``train_loss``, ``train_acc`` (percent), ``lr``, ``weight_decay``
            (of the epoch's last step) and, with ``val_every_epoch``, ``val_top1``.
        metrics: :func:`~vjepa.eval.metrics.classification_metrics` of the final probe on the validation set.
        val_probs: ``(num_val, C)`` view-averaged softmax.
        val_labels: ``(num_val,)``.
        num_train, num_val: Sample counts.
        meta: The training features' ``meta`` (segments, views, layers, ...).
    """

    probe: AttentiveClassifier
    config: ProbeConfig
    recipe: ProbeRecipe
    history: list[dict[str, float]]
    metrics: dict[str, float]
    val_probs: torch.Tensor
    val_labels: torch.Tensor
    num_train: int
    num_val: int
    meta: dict[str, Any] = field(default_factory=dict)

    def config_dict(self) -> dict[str, Any]:
        """Probe architecture + recipe, JSON-serialisable (stored next to the probe weights)."""
        return {"probe": asdict(self.config), "recipe": asdict(self.recipe), "features": self.meta}


@torch.no_grad()
def predict_probs(probe: torch.nn.Module, features: FeatureSet, *, batch_size: int = 64,
                  device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Test-time prediction of every sample: mean over views of softmax(probe(tokens)), ``(N, C)`` float32 CPU."""
    device = torch.device(device)
    was_training = probe.training
    probe.eval()
    out = []
    for start in range(0, features.num_samples, batch_size):
        with autocast(device, dtype):
            logits = [probe(v[start:start + batch_size].to(device, torch.float32)).float() for v in features.views]
        out.append(aggregate_views(logits).cpu())
    probe.train(was_training)
    return torch.cat(out)


def _check_inputs(train: FeatureSet, val: FeatureSet, num_classes: int, recipe: ProbeRecipe) -> int:
    """Validate the data against each other and the recipe; return the number of heads."""
    if train.embed_dim != val.embed_dim:
        raise DataError(f"train features have dim {train.embed_dim} but val features {val.embed_dim}; extract both "
                        "with the same encoder and layers")
    for name, fs in (("train", train), ("val", val)):
        if fs.num_samples == 0:
            raise DataError(f"the {name} set is empty")
        if fs.labels.min() < 0 or fs.labels.max() >= num_classes:
            raise DataError(f"{name} labels span [{int(fs.labels.min())}, {int(fs.labels.max())}] but num_classes is "
                            f"{num_classes}; fix num_classes or the labels")
    heads = recipe.num_heads or train.meta.get("num_heads")
    if not heads:
        raise ConfigError("probe.num_heads is not set and the features do not record the encoder's heads; set it")
    if train.embed_dim % heads:
        raise ConfigError(f"probe.num_heads {heads} does not divide the feature dim {train.embed_dim}; choose a "
                          "divisor")
    return int(heads)


def train_attentive_probe(train: FeatureSet, val: FeatureSet, num_classes: int, recipe: ProbeRecipe | None = None,
                          *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                          progress: bool = True) -> ProbeResult:
    """Train an attentive probe on cached features and evaluate it with the multi-view protocol.

    Args:
        train: Training features (view 0 is used); tokens ``[N_train, S·N, D]``.
        val: Validation features (all views); tokens ``[N_val, S·N, D]``.
        num_classes: C.
        recipe: Optimisation settings (default: the official ones).
        device: Where the probe trains.
        dtype: float32, or bfloat16 autocast (float16 would need a grad scaler and is refused).
        progress: Show a tqdm bar over epochs.

    Returns:
        The :class:`ProbeResult` of the last epoch's probe.
    """
    recipe = recipe or ProbeRecipe()
    if dtype not in (torch.float32, torch.bfloat16):
        raise ConfigError(f"probe dtype {dtype} is not supported; use float32 or bfloat16")
    heads = _check_inputs(train, val, num_classes, recipe)
    device = torch.device(device)
    cfg = ProbeConfig(embed_dim=train.embed_dim, num_heads=heads, num_classes=num_classes, depth=recipe.depth,
                      variant=recipe.variant)
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
        torch.manual_seed(recipe.seed)
        probe = AttentiveClassifier(cfg)
    probe.to(device)
    named = list(probe.named_parameters())
    optimizer = torch.optim.AdamW([
        {"params": [p for n, p in named if is_decayed(n, p)]},
        {"params": [p for n, p in named if not is_decayed(n, p)], "weight_decay": 0.0, "WD_exclude": True},
    ], lr=recipe.lr, weight_decay=recipe.weight_decay)

    n, bs = train.num_samples, recipe.batch_size
    steps_per_epoch = math.ceil(n / bs)  # drop_last=False, as the official loaders
    total = recipe.epochs * steps_per_epoch
    tokens, labels = train.views[0], train.labels
    history: list[dict[str, float]] = []
    k = 0
    bar = progress_bar(range(recipe.epochs), desc="probe", enabled=progress, leave=False)
    for epoch in bar:
        probe.train()
        order = torch.randperm(n, generator=keyed_generator(recipe.seed, epoch))
        loss_sum, correct = 0.0, 0
        for start in range(0, n, bs):
            k += 1
            lr, wd = probe_hparams(recipe, k, total)
            set_hparams(optimizer, lr, wd)
            idx = order[start:start + bs]
            x, y = tokens[idx].to(device, torch.float32), labels[idx].to(device)
            with autocast(device, dtype):
                logits = probe(x).float()
            loss = multiview_loss([logits], y)  # one training view: plain cross-entropy
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if recipe.clip_grad is not None:
                torch.nn.utils.clip_grad_norm_(probe.parameters(), recipe.clip_grad)
            optimizer.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(dim=1) == y).sum())
        row = {"epoch": epoch + 1, "train_loss": loss_sum / n, "train_acc": 100.0 * correct / n, "lr": lr,
               "weight_decay": wd}
        if recipe.val_every_epoch and epoch + 1 < recipe.epochs:  # the last epoch's is the final evaluation
            probs = predict_probs(probe, val, batch_size=bs, device=device, dtype=dtype)
            row["val_top1"] = classification_metrics(probs, val.labels, num_classes)["top1"]
        history.append(row)
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", acc=f"{row['train_acc']:.1f}")
    probs = predict_probs(probe, val, batch_size=bs, device=device, dtype=dtype)
    metrics = classification_metrics(probs, val.labels, num_classes)
    if recipe.val_every_epoch:
        history[-1]["val_top1"] = metrics["top1"]
    probe.cpu().eval()
    return ProbeResult(probe, cfg, recipe, history, metrics, probs, val.labels.clone(), train.num_samples,
                       val.num_samples, dict(train.meta))
