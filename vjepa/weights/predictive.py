"""The predictive parts of a model: context encoder, predictor and target encoder, from any source that has them.

What scoring a clip's surprise needs (:mod:`vjepa.surprise`). :func:`load_predictive` takes:

* ``"none"`` with ``arch``: a seeded random encoder and predictor; the target encoder is a copy of the encoder (the
  state of a V-JEPA run at step 0), the random-init baseline;
* our training checkpoint (``.pt``): encoder, predictor and target encoder, sizes from its stored config; a
  checkpoint of ``objective: pixel`` gives its pixel decoder in the predictor slot and no target encoder;
* our export folder holding ``predictor`` (``vjepa convert`` writes encoder, target_encoder and predictor). A
  pretraining export (``OUT/export``) stores only the target encoder: it is refused, naming the checkpoint to use;
* an official V-JEPA / V-JEPA 2 ``.pth.tar`` (``arch`` and sizes as for :func:`~vjepa.weights.load.load_parts`);
* a Hugging Face ``VJEPA2Model`` folder: it holds one encoder, used as context and target encoder.

Mask token: the predictor is run with ``mask_index`` 1 for every source, the default of the official predictors
(``forward(..., mask_index=1)`` in facebookresearch/jepa and vjepa2, which the intuitive-physics scripts keep) and the
only token transformers' ``VJEPA2Model`` ever uses. Our predictors hold one token per mask configuration; with the
official two-configuration recipe, token 1 is the long-range (large block) one, the closer of the two to predicting
whole future frames. Predictors with one token use it whatever the index (``index mod count``).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any

import torch

from vjepa.core.errors import CheckpointError, ConfigError
from vjepa.models.encoder import VideoEncoder
from vjepa.models.pixel_decoder import PixelDecoder, pixel_decoder_config
from vjepa.models.predictor import Predictor
from vjepa.models.registry import create_encoder, create_predictor, predictor_config
from vjepa.weights.detect import Source, detect
from vjepa.weights.io import load_state_strict
from vjepa.weights.load import load_parts, read_states

MASK_INDEX = 1
"""The predictor's mask token for surprise (see the module docstring)."""


@dataclass
class PredictiveModel:
    """Attributes:
        encoder: The context encoder (eval mode).
        predictor: A :class:`Predictor`, or a :class:`PixelDecoder` for pixel-objective models.
        target_encoder: The encoder of the targets; None for pixel models (their targets are pixels).
        kind: What it was loaded from (a :data:`vjepa.weights.detect.KINDS` entry, or ``none``).
        mask_index: The predictor's mask token to use.
    """

    encoder: VideoEncoder
    predictor: Predictor | PixelDecoder
    target_encoder: VideoEncoder | None
    kind: str
    mask_index: int = MASK_INDEX

    @property
    def objective(self) -> str:
        return "pixel" if isinstance(self.predictor, PixelDecoder) else "latent"

    def to(self, device: str | torch.device) -> PredictiveModel:
        for module in (self.encoder, self.predictor, self.target_encoder):
            if module is not None:
                module.to(device)
        return self


def random_predictive(arch: str | None, *, num_frames: int = 16, img_size: int = 224, seed: int = 0,
                      pred_depth: int | None = None, pred_embed_dim: int | None = None,
                      **arch_overrides: Any) -> PredictiveModel:
    """A seeded random encoder and predictor (V-JEPA 1 sizes: predictor 12 x 384 unless given), target = a copy."""
    if arch is None:
        raise ConfigError("checkpoint 'none' (random init) needs an arch, e.g. arch='vit_large'")
    overrides = {k: v for k, v in arch_overrides.items() if v is not None}
    with torch.random.fork_rng(devices=[]):  # leaves the caller's RNG alone
        torch.manual_seed(seed)
        encoder = create_encoder(arch, num_frames=num_frames, img_size=img_size, **overrides).eval()
        predictor = create_predictor(encoder.cfg, depth=pred_depth or 12, embed_dim=pred_embed_dim or 384).eval()
    return PredictiveModel(encoder, predictor, copy.deepcopy(encoder), "none")


def _training_checkpoint(source: Source) -> PredictiveModel:
    """Encoder, predictor (or pixel decoder) and target encoder of one of our training checkpoints."""
    from vjepa.config import config_from_dict

    encoder = load_parts(source, ("encoder",), key="encoder").encoder  # checks the stored config first
    cfg = config_from_dict(source.meta.get("config") or {}, f"{source.path} [config]")
    pixel = cfg.objective == "pixel"
    if pixel:
        p = cfg.pixel
        predictor: torch.nn.Module = PixelDecoder(pixel_decoder_config(
            encoder.cfg, depth=p.decoder_depth, embed_dim=p.decoder_embed_dim, num_heads=p.decoder_num_heads))
        target = None
    else:
        m = cfg.model
        predictor = Predictor(predictor_config(
            encoder.cfg, depth=m.pred_depth, embed_dim=m.pred_embed_dim, num_heads=m.pred_num_heads,
            num_mask_tokens=len(cfg.masks.blocks), zero_init_mask_tokens=m.zero_init_mask_tokens))
        target = load_parts(source, ("encoder",), key="target_encoder").encoder
    state = read_states(source, ["predictor"])["predictor"]
    load_state_strict(predictor, state, f"{source.path} [predictor]")
    return PredictiveModel(encoder, predictor.eval(), target, source.kind)


def load_predictive(source: str | os.PathLike | Source, *, arch: str | None = None, num_frames: int = 16,
                    img_size: int = 224, seed: int = 0, **arch_overrides: Any) -> PredictiveModel:
    """Context encoder, predictor and target encoder of ``source`` (see the module docstring), in eval mode.

    Args:
        source: ``"none"`` or anything :func:`~vjepa.weights.detect.detect` recognises.
        arch, num_frames, img_size, arch_overrides: The size of an official file or of ``"none"``.
        seed: Initialisation seed of ``"none"``.

    Raises:
        ConfigError: a missing or wrong ``arch``; CheckpointError: a source without a predictor, unreadable files.
    """
    if str(source) == "none":
        return random_predictive(arch, num_frames=num_frames, img_size=img_size, seed=seed, **arch_overrides)
    source = detect(source)
    sizes = dict(arch=arch, num_frames=num_frames, img_size=img_size, **arch_overrides)
    if source.kind == "train-checkpoint":
        if arch is not None:
            raise ConfigError(f"{source.path} is a training checkpoint, which stores its architecture; drop arch")
        return _training_checkpoint(source)
    if source.kind == "hf-vjepa2":
        loaded = load_parts(source, ("encoder", "predictor"), arch=arch)
        return PredictiveModel(loaded.encoder, loaded.predictor, loaded.encoder, source.kind)
    if "predictor" not in source.parts:
        hint = (" (a pretraining export stores only the target encoder; give the run's training checkpoint, "
                "OUT/checkpoints/latest.pt)" if source.kind == "export" else "")
        raise CheckpointError(f"{source.path}: no predictor (found {', '.join(source.parts) or 'nothing'}); "
                              f"surprise needs the encoder, predictor and target encoder{hint}")
    context = load_parts(source, ("encoder", "predictor"), key="encoder", **sizes)
    if context.predictor is None:
        raise CheckpointError(f"{source.path}: its predictor has no stored config ('predictor' in config.json)")
    if source.kind == "official-pretrain" or "target_encoder" in source.parts:
        target = load_parts(source, ("encoder",), key="target_encoder", **sizes).encoder
    else:
        target = context.encoder
    return PredictiveModel(context.encoder, context.predictor, target, source.kind)
