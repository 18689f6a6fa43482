"""Writing an evaluation's outputs: ``metrics.json``, the probe checkpoint, the confusion-matrix PNG, one line.

Layout of ``out_dir``::

    metrics.json          top1, top5, mean_class_acc, num_train, num_val, settings, per-epoch history
    probe/model.safetensors, probe/config.json    the trained probe (``vjepa.weights.io.save_modules``; keys
                          ``probe.<AttentiveClassifier parameter>``), its architecture, recipe and feature meta
    confusion.png         row-normalised confusion matrix of the validation set
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vjepa.core import formats
from vjepa.core.io import atomic_write
from vjepa.eval.metrics import confusion_matrix, per_class_accuracy, plot_confusion
from vjepa.eval.probe_train import ProbeResult
from vjepa.weights.io import save_modules


def protocol_tag(settings: Mapping[str, Any]) -> str:
    """``frames x segments x views`` (e.g. ``16x8x3``) from ``num_frames`` / ``num_segments`` / ``num_views``,
    or '' when ``num_frames`` is not given."""
    if "num_frames" not in settings:
        return ""
    return f"{settings['num_frames']}x{settings.get('num_segments', 1)}x{settings.get('num_views', 1)}"


def summary_line(metrics: Mapping[str, float], num_train: int, num_val: int, settings: Mapping[str, Any]) -> str:
    """``top1 83.1  top5 99.0  mean-class 82.7  (train 512, val 256, 16x2x3)``."""
    tag = protocol_tag(settings)
    extra = f", {tag}" if tag else ""
    return (f"top1 {metrics['top1']:.1f}  top5 {metrics['top5']:.1f}  mean-class {metrics['mean_class_acc']:.1f}  "
            f"(train {num_train}, val {num_val}{extra})")


def json_safe(value: Any) -> Any:
    """Plain JSON values: NaN becomes null, tuples lists, other objects their ``str``."""
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def write_eval_outputs(out_dir: str | os.PathLike, result: ProbeResult, settings: Mapping[str, Any],
                       class_names: Sequence[str] | None = None) -> str:
    """Write ``metrics.json``, ``probe/`` and ``confusion.png`` into ``out_dir``; return the summary line.

    Args:
        out_dir: Output folder (created).
        result: The trained probe and its validation predictions.
        settings: Protocol settings recorded verbatim (e.g. checkpoint, checkpoint_key, num_frames,
            num_segments, num_views, crop_size, layers, cached); ``num_frames``/``num_segments``/``num_views``
            also give the ``FxSxV`` tag of the summary.
        class_names: Optional names for the confusion-matrix axes and the per-class accuracies.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    num_classes = result.config.num_classes
    cm = confusion_matrix(result.val_probs.argmax(dim=1), result.val_labels, num_classes)
    per_class = per_class_accuracy(cm).tolist()
    names = list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]
    metrics = {
        **result.metrics,
        "num_train": result.num_train,
        "num_val": result.num_val,
        "num_classes": num_classes,
        "per_class_acc": dict(zip(names, per_class)),
        "settings": dict(settings),
        "probe": result.config_dict(),
        "history": result.history,
    }
    text = json.dumps(json_safe(metrics), indent=1) + "\n"
    atomic_write(out_dir / "metrics.json", lambda p: Path(p).write_text(text))
    save_modules(out_dir / "probe", {"probe": result.probe}, json_safe({"format": formats.EVAL_PROBE, **result.config_dict()}))
    plot_confusion(cm, out_dir / "confusion.png", class_names=class_names)
    return summary_line(result.metrics, result.num_train, result.num_val, settings)
