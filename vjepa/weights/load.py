"""The one loader: the parts (encoder, target encoder, predictor, probe, head) of any source :mod:`detect` knows.

Every caller (``vjepa.load``, ``vjepa eval``, ``vjepa pretrain --init``, ``vjepa finetune``) goes through here:

* :func:`read_states`: raw state dicts (wrapper prefixes stripped), for callers that load into modules they built;
* :func:`load_parts`: built modules, loaded strictly (every key maps, every shape agrees).

Our files and Hugging Face folders carry their architecture; official ``.pth.tar`` files do not, so ``arch`` (a
registry name, or ``custom`` with ``embed_dim`` / ``depth`` / ``num_heads``) and the pretraining ``num_frames`` /
``img_size`` must be given for them. An ``arch`` given for a file that carries its own must agree with it (width,
depth and heads of the registry entry; ``custom`` is not compared): :func:`check_arch`. A pretraining export stores only the target encoder, under the name ``encoder``: asking for
``target_encoder`` falls back to ``encoder`` exactly when a file of ours holds no ``target_encoder`` but an
``encoder``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from vjepa.core.errors import CheckpointError, ConfigError, VjepaError
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.models.predictor import Predictor, PredictorConfig
from vjepa.models.probe import AttentiveClassifier, ProbeConfig
from vjepa.models.registry import ARCHS, arch_spec, encoder_config
from vjepa.weights.detect import Source, detect
from vjepa.weights.hf_classifier import load_hf_classifier
from vjepa.weights.io import load_state_strict, load_tensors
from vjepa.weights.keys import split_prefixes, strip_prefixes
from vjepa.weights.official import OfficialPretrain, load_official_pretrain, load_official_probe, official_probe_state

log = logging.getLogger("vjepa")
KEYS = ("target_encoder", "encoder")
OURS = ("export", "train-checkpoint", "finetune-checkpoint", "finetune-export")
State = dict[str, torch.Tensor]


def arch_hint() -> str:
    """``arch=...`` with the valid names, for messages about official files."""
    v1 = ", ".join(a for a in ARCHS if not a.startswith("vjepa2_"))
    v2 = ", ".join(a for a in ARCHS if a.startswith("vjepa2_"))
    return f"pass arch=... ({v1} for V-JEPA 1; {v2} for V-JEPA 2; or custom with embed_dim, depth, num_heads)"


@dataclass
class Loaded:
    """What :func:`load_parts` built; a part the source does not hold (or that was not asked for) is None.

    Attributes:
        encoder: The ``key`` encoder, eval mode.
        key: Which stored encoder ``encoder`` is (after the pretraining-export fallback).
        predictor, probe: Modules, eval mode.
        head: A fine-tuning head's state dict (the head is built by :mod:`vjepa.finetune`).
        meta: The source's metadata (official files: their scalar entries).
    """

    source: Source
    encoder: VideoEncoder | None = None
    key: str = "encoder"
    predictor: Predictor | None = None
    probe: AttentiveClassifier | None = None
    head: State | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def read_states(source: str | os.PathLike | Source, names: Sequence[str]) -> dict[str, State]:
    """The raw state dicts ``names`` (among encoder, target_encoder, predictor, probe, head) of ``source``."""
    source = detect(source)
    if source.kind == "hf-vjepa2":
        raise CheckpointError(f"{source.path}: a Hugging Face VJEPA2 folder has no state dicts of ours; load it with "
                              "vjepa.load or convert it (`vjepa convert hf`)")
    if source.content is None:
        states = split_prefixes(load_tensors(source.weights))
    elif source.kind == "official-probe":
        states = {"probe": official_probe_state(source.path, source.content)[0]}
    elif source.kind == "official-pretrain":
        states = {k: strip_prefixes(v) for k, v in source.content.items() if k in source.parts}
    else:
        states = {k: v for k, v in source.content.items() if k in source.parts}
    missing = [n for n in names if n not in states]
    if missing:
        raise CheckpointError(f"{source.path}: no {', '.join(missing)} (found {', '.join(source.parts) or 'nothing'})")
    return {n: states[n] for n in names}


def _encoder_key(source: Source, key: str) -> str:
    if key not in KEYS:
        raise ConfigError(f"key {key!r}: use target_encoder (the EMA encoder, official) or encoder")
    if (key == "target_encoder" and source.kind in OURS and "target_encoder" not in source.parts
            and "encoder" in source.parts):
        log.info("%s: no 'target_encoder' weights; using 'encoder' (a pretraining export stores the target "
                 "encoder under that name)", source.path)
        return "encoder"
    return key


def _stored_config(source: Source) -> EncoderConfig:
    """The encoder config our export or fine-tuning file stores."""
    where = source.path / "config.json" if source.content is None else f"{source.path} [meta]"
    raw = source.meta.get("encoder")
    try:
        return EncoderConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    except (AttributeError, TypeError, ValueError) as e:
        raise CheckpointError(f"{where}: no valid 'encoder' config ({e})") from None


def check_arch(cfg: EncoderConfig, arch: str | None, where: Any) -> None:
    """A named ``arch`` must describe the stored encoder ``cfg`` (width, depth, heads): one-line error otherwise."""
    if arch is None or arch == "custom":
        return
    spec = arch_spec(arch)
    found, expected = (cfg.embed_dim, cfg.depth, cfg.num_heads), (spec.embed_dim, spec.depth, spec.num_heads)
    if found != expected:
        raise ConfigError(f"arch={arch!r} disagrees with {where}: it holds an encoder of width {found[0]}, "
                          f"{found[1]} blocks, {found[2]} heads, but arch {arch} expects width {expected[0]}, "
                          f"{expected[1]} blocks, {expected[2]} heads; drop arch (the file records its size) or "
                          "give the right file")


def _training_config(source: Source, arch: str | None) -> EncoderConfig:
    """A training checkpoint's encoder config, rebuilt from its stored resolved config."""
    from vjepa.config import config_from_dict

    try:  # the loader's type checks, so a hand-edited config still fails with a one-line message
        cfg = config_from_dict(source.meta.get("config") or {}, f"{source.path} [config]")
    except ConfigError as e:
        raise CheckpointError(f"{e}; the checkpoint's stored config is not valid") from None
    m, d = cfg.model, cfg.data
    if arch is not None and arch != m.arch:
        raise ConfigError(f"arch={arch!r} disagrees with {source.path}, a training checkpoint of model.arch "
                          f"{m.arch}; leave arch unset (training checkpoints store their architecture)")
    return encoder_config(  # the same arguments as vjepa.pretrain.build.build_models
        m.arch, num_frames=d.num_frames, img_size=d.crop_size, tubelet_size=m.tubelet_size,
        uniform_power=m.uniform_power, attention=m.attention, embed_dim=m.embed_dim, depth=m.depth,
        num_heads=m.num_heads, mlp_ratio=m.mlp_ratio, patch_size=m.patch_size)


def _official(source: Source, arch: str | None, num_frames: int, img_size: int,
              overrides: dict[str, Any]) -> OfficialPretrain:
    if arch is None:
        raise ConfigError(f"{source.path} is an official V-JEPA checkpoint, which does not record its size: "
                          f"{arch_hint()}; and, if not pretrained at 16x224, num_frames and img_size")
    try:
        return load_official_pretrain(source.path, arch, num_frames=num_frames, img_size=img_size,
                                      ckpt=source.content, **overrides)
    except VjepaError:
        raise
    except (TypeError, ValueError) as e:  # e.g. a width the heads do not divide
        raise ConfigError(f"{source.path}: cannot build arch={arch!r} with {overrides}: {e}") from None


def _built(module: torch.nn.Module, state: State, what: str) -> Any:
    load_state_strict(module, state, what)
    return module.eval()


def _ours(out: Loaded, parts: Sequence[str], key: str, arch: str | None) -> None:
    """Fill ``out`` from one of our files or folders (they store every module's config)."""
    source = out.source
    wanted = {key if p == "encoder" else p for p in parts}
    states = read_states(source, [p for p in source.parts if p in wanted])
    where = (lambda name: f"{source.weights} [{name}]") if source.content is None else \
        (lambda name: f"{source.path} [{name}]")
    if "encoder" in parts:
        if key not in states:
            found = ", ".join(source.parts) or "nothing"
            if source.kind == "train-checkpoint":
                raise CheckpointError(f"{source.path}: no '{key}' state dict in this training checkpoint")
            raise CheckpointError(f"{source.weights if source.content is None else source.path}: no '{key}' "
                                  f"weights (found {found})")
        cfg = _training_config(source, arch) if source.kind == "train-checkpoint" else _stored_config(source)
        check_arch(cfg, arch, source.path)
        out.encoder, out.key = _built(VideoEncoder(cfg), states[key], where(key)), key
    pred_cfg, probe_cfg = source.meta.get("predictor"), source.meta.get("probe")
    if "predictor" in parts and "predictor" in states and isinstance(pred_cfg, dict) and source.kind == "export":
        cfg = PredictorConfig(**{**pred_cfg, "grid": tuple(pred_cfg["grid"])})
        out.predictor = _built(Predictor(cfg), states["predictor"], where("predictor"))
    if "probe" in parts and "probe" in states and isinstance(probe_cfg, dict):
        out.probe = _built(AttentiveClassifier(ProbeConfig(**probe_cfg)), states["probe"], where("probe"))
    if "head" in parts and "head" in states:
        out.head = states["head"]


def load_parts(source: str | os.PathLike | Source, parts: Sequence[str] = ("encoder",), *,
               key: str = "target_encoder", arch: str | None = None, num_frames: int = 16, img_size: int = 224,
               probe_heads: int | None = None, **arch_overrides: Any) -> Loaded:
    """Build and strictly load ``parts`` (among encoder, predictor, probe, head) of ``source``.

    ``encoder`` is required (the stored ``key`` encoder); the other parts are None when the source holds none.

    Args:
        source: A path :func:`~vjepa.weights.detect.detect` recognises, or its :class:`Source`.
        key: ``target_encoder`` (the EMA encoder, what official evaluation uses) or ``encoder``.
        arch, num_frames, img_size, arch_overrides: The size of an official file (see the module docstring).
        probe_heads: Heads of an official probe (the encoder's in the official evals).

    Raises:
        ConfigError: a bad ``key``, a missing or disagreeing ``arch``; CheckpointError: unreadable or unknown
            files, missing parts, weights that do not fit.
    """
    source = detect(source)
    key = _encoder_key(source, key)
    overrides = {k: v for k, v in arch_overrides.items() if v is not None}
    out = Loaded(source, meta=dict(source.meta))
    if source.kind == "hf-vjepa2":
        hf = load_hf_classifier(source.path)
        check_arch(hf.encoder.cfg, arch, source.path)
        out.encoder, out.predictor, out.key = hf.encoder, hf.predictor, "encoder"  # HF ports hold one encoder
        if "probe" in parts and hf.probe is not None:  # a VJEPA2ForVideoClassification: pooler + classifier
            out.probe, out.meta["labels"] = hf.probe, hf.labels
    elif source.kind == "official-pretrain":
        official = _official(source, arch, num_frames, img_size, overrides)
        out.encoder, out.predictor, out.meta = getattr(official, key), official.predictor, official.meta
        out.key = key
    elif source.kind in ("official-probe", "eval-probe") and "encoder" in parts:
        raise CheckpointError(f"{source.path}: a probe checkpoint ({source.kind}) holds no encoder; give the "
                              "encoder's weights, and the probe separately")
    elif source.kind == "official-probe":
        if probe_heads is None:
            raise ConfigError(f"{source.path}: an official probe does not record its heads; pass probe_heads")
        out.probe = load_official_probe(source.path, num_heads=probe_heads, ckpt=source.content).eval()
    else:
        _ours(out, parts, key, arch)
    if "predictor" not in parts:
        out.predictor = None
    return out


def load_encoder(source: str | os.PathLike | Source, **kwargs: Any) -> VideoEncoder:
    """The encoder of ``source`` (eval mode); keyword arguments as :func:`load_parts`."""
    encoder = load_parts(source, ("encoder",), **kwargs).encoder
    assert encoder is not None  # load_parts raises when there is none
    return encoder


def load_probe(source: str | os.PathLike | Source, num_heads: int) -> AttentiveClassifier:
    """An attentive probe: a ``vjepa eval`` ``probe/`` folder, an export holding one, or an official probe file."""
    source = detect(source)
    if source.kind not in ("official-probe", "eval-probe", "export"):
        raise CheckpointError(f"{source.path}: no probe weights (found {', '.join(source.parts) or 'nothing'}); "
                              "give a vjepa eval probe/ folder or an official probe .pth.tar")
    probe = load_parts(source, ("probe",), probe_heads=num_heads).probe
    if probe is None:
        raise CheckpointError(f"{source.path}: no probe weights (expected a vjepa eval probe/ folder)")
    return probe
