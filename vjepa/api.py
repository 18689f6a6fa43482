"""The user-facing model API: ``vjepa.load(path)`` -> :class:`VJEPAModel` with ``embed`` and ``classify``.

``load`` accepts every weight format the project knows and returns the same object, in eval mode, with gradients
off and its provenance in ``model.config``:

* our export folder (``config.json`` + ``model.safetensors``; the attentive probe too when the folder has one);
* our training checkpoint (``.pt``, ``format: vjepa-train-checkpoint/1``);
* an official ``.pth.tar`` of facebookresearch/jepa (``arch="vit_large"`` …) or facebookresearch/vjepa2
  (``arch="vjepa2_vit_large"`` …): the files do not record their size, so ``arch`` is required;
* a Hugging Face ``VJEPA2Model`` folder (``config.json`` with ``model_type: vjepa2``), or a
  ``VJEPA2ForVideoClassification`` folder (then also its pooler + classifier as the probe, and its label names).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from vjepa.core import formats
from vjepa.core.errors import ConfigError
from vjepa.core.runtime import resolve_dtype
from vjepa.data.hf_transform import hf_video_preprocess
from vjepa.data.transforms import EvalVideoTransform
from vjepa.models.encoder import VideoEncoder
from vjepa.models.predictor import Predictor
from vjepa.models.probe import AttentiveClassifier
from vjepa.tools.embed import Embedding, embed

FORMATS = {"export": formats.EXPORT, "train-checkpoint": formats.TRAIN_CHECKPOINT,
           "finetune-export": formats.FINETUNE_EXPORT, "finetune-checkpoint": formats.FINETUNE_CHECKPOINT,
           "official-pretrain": "official", "hf-vjepa2": "hf-vjepa2"}
"""``model.config["format"]`` of each source kind (:mod:`vjepa.weights.detect`)."""


@dataclass
class Classification:
    """What :meth:`VJEPAModel.classify` returns."""

    logits: torch.Tensor
    """(B, num_classes) float32, CPU."""
    labels: list[str]
    """The top-1 class name of each clip."""
    names: list[str]
    """Every class name, in index order."""


class VJEPAModel(nn.Module):
    """A frozen V-JEPA model: the encoder, the predictor when the source has one, an optional attentive probe.

    Attributes:
        encoder: :class:`~vjepa.models.encoder.VideoEncoder`.
        predictor: :class:`~vjepa.models.predictor.Predictor` or None.
        probe: :class:`~vjepa.models.probe.AttentiveClassifier` or None (needed for ``pool="attentive"``).
        config: Where the weights came from and the module configs (JSON-serialisable).
    """

    def __init__(self, encoder: VideoEncoder, predictor: Predictor | None = None,
                 probe: AttentiveClassifier | None = None, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.encoder, self.predictor, self.probe = encoder, predictor, probe
        self.config = dict(config or {})
        self.config.update(encoder=asdict(encoder.cfg), predictor=asdict(predictor.cfg) if predictor else None,
                           probe=asdict(probe.cfg) if probe else None)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) normalised clips -> (B, N, D) layer-normed tokens."""
        return self.encoder(video)

    def embed(self, video: str | os.PathLike | torch.Tensor, **kwargs: Any) -> Embedding:
        """Embed a video file, an image, frames or clips; keyword arguments as :func:`vjepa.tools.embed.embed`."""
        return embed(self.encoder, video, probe=self.probe, **kwargs)

    @torch.no_grad()
    def classify(self, video: torch.Tensor, *, preprocess: str = "eval") -> Classification:
        """Class scores of the model's probe (e.g. a transformers ``VJEPA2ForVideoClassification``).

        Args:
            video: uint8 frames ``(T, H, W, 3)`` (one clip, preprocessed here) or normalised float clips
                ``(B, C, T, H, W)`` (used as they are).
            preprocess: For uint8 frames: ``eval`` (our official frozen-eval view: short side to
                ``size·256/224`` without antialiasing, centre crop) or ``hf`` (transformers'
                ``VJEPA2VideoProcessor``: the same with antialiasing); ``size`` is the encoder's ``img_size``.

        Returns:
            :class:`Classification`: ``logits`` (B, num_classes) float32 and the top-1 ``labels`` (names from the
            source's ``id2label`` when it has them, else class indices).
        """
        if self.probe is None:
            raise ConfigError("classify needs a model with a classifier: a VJEPA2ForVideoClassification folder, "
                              "or vjepa.load(..., probe=PATH)")
        if video.dtype == torch.uint8:
            size = self.encoder.cfg.img_size
            if preprocess == "hf":
                clip = hf_video_preprocess(video, size)
            elif preprocess == "eval":
                clip = EvalVideoTransform(size)(video)[0]
            else:
                raise ConfigError(f"preprocess {preprocess!r}: use 'eval' or 'hf'")
            video = clip.unsqueeze(0)  # (1, C, T, H, W)
        if video.ndim != 5:
            raise ConfigError(f"video of shape {tuple(video.shape)}: give uint8 frames (T, H, W, 3) or float clips "
                              "(B, C, T, H, W)")
        param = next(self.encoder.parameters())
        logits = self.probe(self.encoder(video.to(param.device, param.dtype))).float().cpu()  # (B, num_classes)
        names = self.config.get("labels") or [str(i) for i in range(logits.shape[1])]
        return Classification(logits, [names[i] for i in logits.argmax(dim=1).tolist()], list(names))

    def surprise(self, video: str | os.PathLike | torch.Tensor, **settings: Any) -> Any:
        """The surprise series of a video file or uint8 (T, H, W, 3) frames: a
        :class:`~vjepa.surprise.score.SurpriseResult` (``.series``, ``.mean``, ``.max``, ``.frame_ranges``).

        Keyword arguments are :class:`~vjepa.surprise.score.SurpriseSettings` fields (``frame_step``, ``window``,
        ``stride``, ``context_frames``, ``batch_size``) and ``dtype``. The first call loads the context encoder,
        predictor and target encoder from the model's source (:func:`vjepa.weights.predictive.load_predictive`;
        a pretraining export holds no predictor: load the run's ``checkpoints/latest.pt``)."""
        from vjepa.surprise.run import prepare, read_video, score_frames
        from vjepa.surprise.score import SurpriseSettings
        from vjepa.weights.predictive import load_predictive

        if getattr(self, "_predictive", None) is None:
            if "source" not in self.config:
                raise ConfigError("surprise needs a model loaded with vjepa.load (its source is unknown)")
            options = self.config.get("load_options", {})
            self._predictive = load_predictive(self.config["source"], arch=self.config.get("arch"), **options)
        dtype = settings.pop("dtype", "float32")
        device = str(next(self.encoder.parameters()).device)
        checked, torch_dtype = prepare(self._predictive, SurpriseSettings(**settings), device, dtype)
        frames = read_video(video) if isinstance(video, (str, os.PathLike)) else torch.as_tensor(video)
        return score_frames(frames, self._predictive, checked, torch_dtype)

    def estimate_memory(self, batch_size: int = 4, frames: int | None = None, size: int | None = None,
                        dtype: str | torch.dtype = "auto", device: str | torch.device = "cpu") -> dict[str, int]:
        """Bytes one :meth:`embed` batch needs; see :func:`estimate_memory`."""
        return estimate_memory(self.encoder, batch_size, frames, size, dtype, device)


def estimate_memory(encoder: VideoEncoder, batch_size: int = 4, frames: int | None = None, size: int | None = None,
                    dtype: str | torch.dtype = "auto", device: str | torch.device = "cpu") -> dict[str, int]:
    """Peak memory of one forward pass of ``batch_size`` windows, in bytes (an estimate, see docs/features.md).

    weights = 4·P (float32 parameters); activations = b·B·N·(D·(6 + 2·r) + h·N·s), with b bytes per value (2 under
    bf16 autocast, else 4), B windows of N tokens, width D, MLP ratio r, h heads, and s = 2 when attention is
    computed with explicit scores (``attention="manual"``, or ``auto`` under bf16 autocast on a CPU) else 0
    (fused SDPA kernels keep no N x N matrix). The D·(6 + 2·r) term counts what one block holds at its peak: the
    residual stream, its normed copy, q, k, v and the attention output (6·D), or the MLP's hidden activation
    before and after GELU (2·r·D).
    """
    cfg, device = encoder.cfg, torch.device(device)
    dtype = resolve_dtype(dtype, device)
    frames, size = frames or cfg.num_frames, size or cfg.img_size
    n = (frames // cfg.tubelet_size) * (size // cfg.patch_size) ** 2
    nbytes = 2 if dtype == torch.bfloat16 else 4
    manual = cfg.attention == "manual" or (cfg.attention == "auto" and device.type == "cpu" and nbytes == 2)
    weights = 4 * sum(p.numel() for p in encoder.parameters())
    scores = 2 * cfg.num_heads * n if manual else 0
    activations = nbytes * batch_size * n * (cfg.embed_dim * (6 + 2 * cfg.mlp_ratio) + scores)
    return {"weights": int(weights), "activations": int(activations), "total": int(weights + activations),
            "tokens_per_window": n}


def load_probe(path: str | os.PathLike, num_heads: int) -> AttentiveClassifier:
    """An attentive probe: a ``vjepa eval`` ``probe/`` folder or an official probe ``.pth.tar``."""
    from vjepa.weights.load import load_probe as read_probe

    return read_probe(path, num_heads)


def load(path: str | os.PathLike, *, arch: str | None = None, key: str = "target_encoder",
         probe: str | os.PathLike | None = None, num_frames: int = 16, img_size: int = 224,
         device: str | torch.device = "cpu", **arch_overrides: Any) -> VJEPAModel:
    """Load any V-JEPA weights as an inference-ready :class:`VJEPAModel` (eval mode, no gradients).

    Args:
        path: Export folder, training checkpoint, official ``.pth.tar`` or Hugging Face VJEPA2 folder.
        arch: Size of an official file (``vit_large``, ``vjepa2_vit_giant``, ``custom`` + ``arch_overrides``).
        key: ``target_encoder`` (EMA weights, what official evaluation uses) or ``encoder``.
        probe: Optional attentive probe (for ``pool="attentive"``), when ``path`` does not hold one.
        num_frames, img_size: Pretraining clip size of an official V-JEPA 1 file (its position table).
        device: Where to put the model.

    Raises:
        ConfigError: a missing or wrong ``arch``, a bad key, an HF config that disagrees with its weights.
        CheckpointError: unreadable files, unknown formats, weights that do not fit.
    """
    from vjepa.weights.detect import detect
    from vjepa.weights.load import load_parts

    source = detect(path)
    loaded = load_parts(source, ("encoder", "predictor", "probe"), key=key, arch=arch, num_frames=num_frames,
                        img_size=img_size, **arch_overrides)
    encoder, predictor, probe_module = loaded.encoder, loaded.predictor, loaded.probe
    config: dict[str, Any] = {"source": str(source.path), "key": loaded.key if source.kind == "hf-vjepa2" else key,
                              "arch": arch, "format": FORMATS.get(source.kind, source.kind),
                              "load_options": {"num_frames": num_frames, "img_size": img_size, **arch_overrides}}
    if source.kind == "official-pretrain":
        config["meta"] = loaded.meta
    if loaded.meta.get("labels"):  # class names of a classifier (HF id2label)
        config["labels"] = list(loaded.meta["labels"])
    if probe is not None:
        probe_module = load_probe(probe, encoder.cfg.num_heads)
        config["probe_source"] = str(probe)
    if probe_module is not None and probe_module.cfg.embed_dim != encoder.cfg.embed_dim:
        raise ConfigError(f"the probe is {probe_module.cfg.embed_dim}-wide but the encoder {encoder.cfg.embed_dim}")
    model = VJEPAModel(encoder, predictor, probe_module, config).to(device).eval()
    model.requires_grad_(False)  # inference only: no autograd bookkeeping, no autocast weight-cast cache
    return model
