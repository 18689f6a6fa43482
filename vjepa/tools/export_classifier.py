"""``vjepa convert to-hf-classifier``: a ``vjepa eval`` or ``vjepa finetune`` output folder -> a transformers
``VJEPA2ForVideoClassification`` folder (encoder + attentive probe / head + label names).

* eval output (``metrics.json`` + ``probe/``): the probe of ``probe/``; the encoder is the one the evaluation
  recorded (``settings.checkpoint``, ``checkpoint_key``, ``arch``) unless ``encoder`` is given; the label names
  are the ``per_class_acc`` keys (class folder names, or indices for CSV lists).
* finetune output (``model/``, or that folder itself): the fine-tuned encoder and its ``attentive`` head.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vjepa.core.errors import CheckpointError, ConfigError
from vjepa.models.probe import AttentiveClassifier, ProbeConfig
from vjepa.weights.detect import detect
from vjepa.weights.hf_classifier import export_hf_classifier
from vjepa.weights.io import load_state_strict
from vjepa.weights.load import load_encoder, load_parts, load_probe


def _finetune(folder: Path) -> tuple[Any, AttentiveClassifier, list[str] | None]:
    source = detect(folder)
    loaded = load_parts(source, ("encoder", "head"), key="encoder")
    if source.meta.get("head") != "attentive" or loaded.head is None:
        raise ConfigError(f"{folder}: a {source.meta.get('head')!r} head has no VJEPA2ForVideoClassification form; "
                          "only the attentive head (vjepa finetune's default) exports")
    e = loaded.encoder.cfg
    probe = AttentiveClassifier(ProbeConfig(embed_dim=e.embed_dim, num_heads=e.num_heads,
                                            num_classes=int(loaded.head["linear.weight"].shape[0])))
    load_state_strict(probe, loaded.head, f"{folder} [head]")
    return loaded.encoder, probe.eval(), None


def _eval(folder: Path, encoder_path: str | None, arch: str | None) -> tuple[Any, AttentiveClassifier,
                                                                            list[str] | None]:
    metrics_path = folder / "metrics.json"
    try:
        metrics = json.loads(metrics_path.read_text())
        settings = metrics.get("settings") or {}
    except (OSError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{metrics_path}: not a readable vjepa eval metrics.json ({e})") from None
    checkpoint = encoder_path or settings.get("checkpoint")
    if not checkpoint or checkpoint == "none":
        raise ConfigError(f"{metrics_path} records no encoder checkpoint; pass encoder=PATH")
    encoder = load_encoder(checkpoint, key=settings.get("checkpoint_key") or "target_encoder",
                           arch=arch or settings.get("arch"))
    probe = load_probe(folder / "probe", encoder.cfg.num_heads)
    names = list(metrics.get("per_class_acc") or {})
    return encoder, probe, names if len(names) == probe.cfg.num_classes else None


def export_classifier(source: str | os.PathLike, out_dir: str | os.PathLike, *, encoder: str | None = None,
                      arch: str | None = None) -> Path:
    """Write ``out_dir`` (``config.json`` + ``model.safetensors``) from a ``vjepa eval`` / ``vjepa finetune``
    output folder; ``encoder`` / ``arch`` override the encoder an evaluation recorded."""
    folder = Path(source)
    if (folder / "probe").is_dir() and (folder / "metrics.json").is_file():
        enc, probe, labels = _eval(folder, encoder, arch)
    elif (folder / "model" / "config.json").is_file():
        enc, probe, labels = _finetune(folder / "model")
    elif (folder / "config.json").is_file() and detect(folder).kind == "finetune-export":
        enc, probe, labels = _finetune(folder)
    else:
        raise CheckpointError(f"{folder}: neither a vjepa eval output (metrics.json + probe/) nor a vjepa finetune "
                              "output (model/)")
    return export_hf_classifier(enc, None, probe, out_dir, labels)
