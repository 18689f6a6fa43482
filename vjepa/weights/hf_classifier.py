"""Hugging Face ``VJEPA2ForVideoClassification`` interop: the backbone (:mod:`.hf`), the attentive pooler and the
linear classifier, with the label names of ``config.json``'s ``id2label``.

HF's pooler is our V-JEPA 2 probe (``variant="vjepa2"``): ``num_pooler_layers`` self-attention layers over the
tokens, then one cross-attention layer, i.e. ``depth = num_pooler_layers + 1``; it uses the encoder's heads and
``layer_norm_eps``, and an MLP ratio of 4 whatever the encoder's (``VJEPA2MLP``'s default). Names (ours → HF; ``i`` = block index):

=======================================================  ================================================
``pooler.query_tokens``                                  ``pooler.query_tokens``
``pooler.blocks.i.norm{1,2}.*``                          ``pooler.self_attention_layers.i.layer_norm{1,2}.*``
``pooler.blocks.i.attn.qkv.*``                           ``...self_attn.{q,k,v}_proj.*`` (rows split in thirds)
``pooler.blocks.i.attn.proj.*``                          ``...self_attn.out_proj.*``
``pooler.blocks.i.mlp.fc{1,2}.*``                        ``...mlp.fc{1,2}.*``
``pooler.cross_attention_block.norm{1,2}.*``             ``pooler.cross_attention_layer.layer_norm{1,2}.*``
``pooler.cross_attention_block.xattn.q.*``               ``pooler.cross_attention_layer.cross_attn.q_proj.*``
``pooler.cross_attention_block.xattn.kv.*``              ``...cross_attn.{k,v}_proj.*`` (rows split in halves)
``pooler.cross_attention_block.mlp.fc{1,2}.*``           ``pooler.cross_attention_layer.mlp.fc{1,2}.*``
``linear.*``                                             ``classifier.*``
=======================================================  ================================================

``pooler.cross_attention_block.xattn.proj`` has no HF counterpart: neither the official module nor HF applies it
(see :class:`vjepa.models.layers.CrossAttention`); an import sets it to the identity, an export leaves it out.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from vjepa.core.errors import CheckpointError, ConfigError
from vjepa.core.io import atomic_write
from vjepa.models.encoder import VideoEncoder
from vjepa.models.predictor import Predictor, PredictorConfig
from vjepa.models.probe import AttentiveClassifier, ProbeConfig
from vjepa.weights.hf import HFModel, hf_config, load_hf, to_hf_state
from vjepa.weights.io import load_state_strict

POOLER_MLP_RATIO = 4.0
UNUSED = "pooler.cross_attention_block.xattn.proj."
_BLOCK = {"norm1.": "layer_norm1.", "norm2.": "layer_norm2.", "attn.proj.": "self_attn.out_proj.",
          "mlp.fc1.": "mlp.fc1.", "mlp.fc2.": "mlp.fc2."}
_CROSS = {"norm1.": "layer_norm1.", "norm2.": "layer_norm2.", "xattn.q.": "cross_attn.q_proj.",
          "mlp.fc1.": "mlp.fc1.", "mlp.fc2.": "mlp.fc2."}


def hf_probe_names(ours: str) -> list[str]:
    """HF names of one probe tensor (three for a fused ``qkv``, two for ``kv``, none for the unused ``proj``)."""
    if ours == "pooler.query_tokens":
        return [ours]
    if ours.startswith("linear."):
        return ["classifier." + ours[len("linear."):]]
    if ours.startswith(UNUSED):
        return []
    m = re.fullmatch(r"pooler\.blocks\.(\d+)\.(.+)", ours)
    if m is not None:
        layer, inner = f"pooler.self_attention_layers.{m.group(1)}.", m.group(2)
        if inner.startswith("attn.qkv."):
            return [f"{layer}self_attn.{n}_proj.{inner.rsplit('.', 1)[1]}" for n in "qkv"]
        table, prefix = _BLOCK, layer
    elif ours.startswith("pooler.cross_attention_block."):
        inner, prefix = ours[len("pooler.cross_attention_block."):], "pooler.cross_attention_layer."
        if inner.startswith("xattn.kv."):
            return [f"{prefix}cross_attn.{n}_proj.{inner.rsplit('.', 1)[1]}" for n in "kv"]
        table = _CROSS
    else:
        table, inner, prefix = {}, ours, ""
    for src, dst in table.items():
        if inner.startswith(src):
            return [prefix + dst + inner[len(src):]]
    raise CheckpointError(f"no Hugging Face name for probe tensor {ours}")


def labels_from_hf(cfg: dict[str, Any], num_classes: int, where: str) -> list[str]:
    """Class names in index order from ``id2label`` (HF's default ``LABEL_i`` where it is absent)."""
    raw = cfg.get("id2label") or {}
    try:
        names = {int(k): str(v) for k, v in raw.items()}
    except (AttributeError, TypeError, ValueError):
        raise ConfigError(f"{where}: id2label is not a mapping of class indices to names") from None
    if names and set(names) != set(range(num_classes)):
        raise ConfigError(f"{where}: id2label has {len(names)} entries but the classifier has {num_classes} "
                          "classes; fix id2label so that it names classes 0..num_labels-1")
    return [names.get(i, f"LABEL_{i}") for i in range(num_classes)]


def probe_from_hf(cfg: dict[str, Any], heads: dict[str, torch.Tensor], where: str) -> AttentiveClassifier:
    """Our V-JEPA 2 probe from a classifier's ``pooler.*`` and ``classifier.*`` tensors, loaded strictly."""
    if "classifier.weight" not in heads or "pooler.query_tokens" not in heads:
        raise CheckpointError(f"{where}: the weights have no classifier.weight / pooler.query_tokens; not a "
                              "VJEPA2ForVideoClassification")
    layers = {int(m.group(1)) for k in heads if (m := re.match(r"pooler\.self_attention_layers\.(\d+)\.", k))}
    depth = max(layers) + 1 if layers else 0
    if cfg.get("num_pooler_layers", 3) != depth:
        raise ConfigError(f"{where}: num_pooler_layers is {cfg.get('num_pooler_layers', 3)} but the weights hold "
                          f"{depth} pooler self-attention layers; this config.json does not belong to these weights")
    dim = heads["pooler.query_tokens"].shape[-1]
    probe_cfg = ProbeConfig(embed_dim=dim, num_heads=cfg.get("num_attention_heads", 16),
                            num_classes=heads["classifier.weight"].shape[0], depth=depth + 1,
                            mlp_ratio=POOLER_MLP_RATIO, qkv_bias=True,
                            norm_eps=cfg.get("layer_norm_eps", 1e-6),
                            num_queries=heads["pooler.query_tokens"].shape[1], variant="vjepa2")
    probe = AttentiveClassifier(probe_cfg)
    state, used = {}, set()
    for key, value in probe.state_dict().items():
        names = hf_probe_names(key)
        if not names:  # the unused output projection: the identity, so that it is harmless if ever applied
            state[key] = torch.eye(dim) if key.endswith("weight") else torch.zeros(dim)
            continue
        missing = [n for n in names if n not in heads]
        if missing:
            raise CheckpointError(f"{where}: the weights have no {', '.join(missing)}")
        state[key] = torch.cat([heads[n] for n in names]) if len(names) > 1 else heads[names[0]]
        used.update(names)
    unexpected = sorted(set(heads) - used)
    if unexpected:
        raise CheckpointError(f"{where}: classifier tensors that map onto nothing: {', '.join(unexpected[:8])}")
    load_state_strict(probe, state, f"{where} [probe]")
    return probe.eval()


@dataclass
class HFClassifier:
    encoder: VideoEncoder
    predictor: Predictor
    probe: AttentiveClassifier | None
    """None when the folder is a plain ``VJEPA2Model``."""
    labels: list[str] | None
    config: dict[str, Any]


def load_hf_classifier(folder: str | os.PathLike) -> HFClassifier:
    """Encoder, predictor, probe and label names of a ``VJEPA2ForVideoClassification`` folder (a plain
    ``VJEPA2Model`` folder gives ``probe=None``). Raises ConfigError / CheckpointError naming the key or file."""
    folder = Path(folder)
    hf: HFModel = load_hf(folder)
    if not hf.heads:
        return HFClassifier(hf.encoder, hf.predictor, None, None, hf.config)
    where = str(folder)
    probe = probe_from_hf(hf.config, hf.heads, where)
    if probe.cfg.embed_dim != hf.encoder.cfg.embed_dim:
        raise CheckpointError(f"{where}: the pooler is {probe.cfg.embed_dim}-wide, the encoder "
                              f"{hf.encoder.cfg.embed_dim}")
    return HFClassifier(hf.encoder, hf.predictor, probe, labels_from_hf(hf.config, probe.cfg.num_classes, where),
                        hf.config)


def check_exportable(encoder: VideoEncoder, probe: AttentiveClassifier) -> None:
    """ConfigError naming every probe setting HF's pooler cannot represent (it takes them from the encoder)."""
    p, e = probe.cfg, encoder.cfg
    problems = []
    if p.variant != "vjepa2" and p.depth > 1:
        problems.append(f"a V-JEPA 1 probe of depth {p.depth} runs its blocks after the pooling; HF's pooler runs "
                        "them before (only depth 1 or variant vjepa2 maps)")
    if p.num_queries != 1:
        problems.append(f"num_queries is {p.num_queries}; HF's pooler has 1 query")
    for name, ours, theirs in (("embed_dim", p.embed_dim, e.embed_dim), ("num_heads", p.num_heads, e.num_heads)):
        if ours != theirs:
            problems.append(f"the probe's {name} {ours} differs from the encoder's {theirs} (HF shares it)")
    if p.mlp_ratio != POOLER_MLP_RATIO:
        problems.append(f"the probe's mlp_ratio is {p.mlp_ratio}; HF's pooler MLP is always 4x wide")
    if not p.qkv_bias:
        problems.append("the probe has no qkv bias; HF's pooler always has one")
    if problems:
        raise ConfigError("cannot export to VJEPA2ForVideoClassification: " + "; ".join(problems))


def to_hf_classifier_state(encoder: VideoEncoder, predictor: Predictor | None, probe: AttentiveClassifier
                           ) -> dict[str, torch.Tensor]:
    """HF ``VJEPA2ForVideoClassification`` tensors of our modules (contiguous CPU copies)."""
    out = {f"vjepa2.{k}": v for k, v in to_hf_state(encoder, predictor).items()}
    for key, value in probe.state_dict().items():
        names = hf_probe_names(key)
        for name, chunk in zip(names, value.detach().cpu().chunk(len(names) or 1)):
            out[name] = chunk.contiguous()
    return out


def export_hf_classifier(encoder: VideoEncoder, predictor: Predictor | None, probe: AttentiveClassifier,
                         out_dir: str | os.PathLike, labels: list[str] | None = None) -> Path:
    """Write a folder that ``VJEPA2ForVideoClassification.from_pretrained(out_dir)`` loads, with ``id2label``.

    Without a predictor, the backbone's predictor is written randomly initialised (transformers would otherwise
    initialise it and warn); classification never runs it. HF's pooler uses the encoder's ``layer_norm_eps``
    (1e-6 for V-JEPA 2) where the official probe uses 1e-5: the logits then differ by the measured amount
    reported in docs/vjepa2.md. Nothing is written when the model cannot be represented.
    """
    config = hf_config(encoder, predictor)  # raises (before anything is written) for sin-cos encoders
    check_exportable(encoder, probe)
    n = probe.cfg.num_classes
    labels = list(labels) if labels is not None else [str(i) for i in range(n)]
    if len(labels) != n:
        raise ConfigError(f"{len(labels)} label names for a {n}-class probe; give one name per class")
    if predictor is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            predictor = Predictor(default_predictor_config(config))
    config.update(architectures=["VJEPA2ForVideoClassification"], num_pooler_layers=probe.cfg.depth - 1,
                  id2label={str(i): name for i, name in enumerate(labels)},
                  label2id={name: i for i, name in enumerate(labels)})
    tensors = to_hf_classifier_state(encoder, predictor, probe)
    out_dir = Path(out_dir)
    atomic_write(out_dir / "model.safetensors", lambda p: save_file(tensors, p, metadata={"format": "pt"}))
    atomic_write(out_dir / "config.json", lambda p: Path(p).write_text(json.dumps(config, indent=2) + "\n"))
    return out_dir


def default_predictor_config(config: dict[str, Any]) -> PredictorConfig:
    """The predictor an HF config describes (for exports whose source has none)."""
    grid = (config["frames_per_clip"] // config["tubelet_size"], config["crop_size"] // config["patch_size"],
            config["crop_size"] // config["patch_size"])
    return PredictorConfig(embed_dim=config["hidden_size"], predictor_embed_dim=config["pred_hidden_size"],
                           depth=config["pred_num_hidden_layers"], num_heads=config["pred_num_attention_heads"],
                           mlp_ratio=config["pred_mlp_ratio"], num_mask_tokens=config["pred_num_mask_tokens"],
                           qkv_bias=config["qkv_bias"], norm_eps=config["layer_norm_eps"], use_rope=True,
                           rope_layout="tiled", grid=grid)
