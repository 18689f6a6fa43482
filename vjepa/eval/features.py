"""Frozen-encoder features, extracted once and reused: the fast path of every probe protocol.

:func:`extract_features` runs the frozen encoder over a loader (no gradients, eval mode) and keeps, for every
spatial view, the tokens of all temporal segments concatenated along the token axis: ``[V][num_samples, S·N, D]``
-- exactly the probe input of the official multi-clip protocol (:func:`vjepa.eval.protocol.encode_segments`).

**When the cached features equal the on-the-fly protocol.** The encoder is frozen and deterministic, so a probe
trained on cached features is the same function of the same inputs as one trained with the encoder in the loop
*if the clips themselves are deterministic*: eval transforms (centre / evenly spaced crops, fixed segment
positions), no train-time augmentation, and the same sample order and batch composition (the probe trainer draws
its order from its own seeded generator, so this holds). With float32 storage the logits are then bit-identical
(``tests/eval/test_features.py``). It is **not** the official recipe when the official run augments the training
clips (RandAugment, random resized crop, random erasing, random clip sampling: §7.2): the on-the-fly protocol sees
a new augmentation every epoch, the cache sees one fixed view, so accuracies differ (usually slightly lower with
the cache on large sets, higher variance on small ones). Half-precision storage (``storage_dtype``) rounds the
tokens (relative error ~1e-3 for float16) and so is close to, not equal to, the float32 path.

**Memory.** ``num_samples · V · S·N · D`` numbers: 1 000 K400 clips at 16×8×3 with ViT-L take ≈ 77 GB in
float16, so caching suits small and medium sets; large official runs keep the encoder in the loop.

**Disk cache.** :func:`feature_cache_key` hashes the encoder weights (every state-dict tensor's name, dtype, shape
and bytes), a description of the data (e.g. index file + its hash, split, item count) and the protocol (frames,
segments, views, crop, layers, storage dtype); :func:`load_or_extract` stores ``<cache_dir>/<key>.safetensors`` and
reads it back on the next call. Any change of weights, data description or protocol gives a new key, so a stale
cache is never read; the caller must put everything that changes the clips into ``data``/``protocol``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from vjepa.core import formats
from vjepa.core.errors import DataError
from vjepa.core.io import atomic_write
from vjepa.core.progress import progress_bar
from vjepa.core.runtime import autocast
from vjepa.eval.protocol import encode_segments

FORMAT = formats.FEATURES


@dataclass
class FeatureSet:
    """Per-view frozen tokens and labels of a dataset.

    Attributes:
        views: V tensors ``[num_samples, S·N, D]`` (all the same shape); view v of sample i is ``views[v][i]``.
        labels: int64 ``[num_samples]``.
        meta: JSON-serialisable description (encoder heads and width, layers, segments, views, ...).
    """

    views: list[torch.Tensor]
    labels: torch.Tensor
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.views:
            raise DataError("a FeatureSet needs at least one view")
        shapes = {tuple(v.shape) for v in self.views}
        if len(shapes) != 1 or self.views[0].dim() != 3 or self.views[0].shape[0] != self.labels.shape[0]:
            raise DataError(f"FeatureSet views {sorted(shapes)} must all be [num_samples={self.labels.shape[0]}, "
                            "tokens, dim]")

    num_samples = property(lambda self: int(self.labels.shape[0]), doc="Number of samples.")
    num_views = property(lambda self: len(self.views), doc="Number of spatial views V.")
    embed_dim = property(lambda self: int(self.views[0].shape[-1]), doc="Feature dim (D, or D·L for L layers).")

    def subset(self, idx: Sequence[int] | torch.Tensor) -> FeatureSet:
        """The samples ``idx`` (any integer sequence), in that order."""
        idx = torch.as_tensor(idx, dtype=torch.long)
        return FeatureSet([v[idx] for v in self.views], self.labels[idx], dict(self.meta))

    def with_labels(self, labels: torch.Tensor) -> FeatureSet:
        """The same tokens (shared, not copied) under another labelling, e.g. another task of the same clips."""
        return FeatureSet(list(self.views), torch.as_tensor(labels, dtype=torch.long), dict(self.meta))

    def layer(self, i: int) -> FeatureSet:
        """The i-th of the layers extracted together (they are stored side by side on the feature axis)."""
        layers = self.meta.get("layers") or [None]
        if not -len(layers) <= i < len(layers):
            raise DataError(f"layer position {i} out of range: this FeatureSet holds layers {layers}")
        d = self.embed_dim // len(layers)
        i %= len(layers)
        meta = dict(self.meta, layers=[layers[i]] if layers[i] is not None else None)
        return FeatureSet([v[..., i * d:(i + 1) * d] for v in self.views], self.labels, meta)

    def save(self, path: str | os.PathLike) -> Path:
        """Write one safetensors file (``view.<v>`` and ``labels``; ``meta`` as JSON metadata), atomically."""
        path = Path(path)
        tensors = {f"view.{v}": x.contiguous() for v, x in enumerate(self.views)}
        tensors["labels"] = self.labels.contiguous()
        metadata = {"format": FORMAT, "meta": json.dumps(self.meta)}
        atomic_write(path, lambda p: save_file(tensors, p, metadata=metadata))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> FeatureSet:
        """Read a file written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: no such feature file")
        try:
            with safe_open(str(path), framework="pt") as f:
                metadata = f.metadata() or {}
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except (SafetensorError, OSError, ValueError) as e:
            raise DataError(f"{path}: not a readable feature file ({e}); delete it to re-extract") from None
        if formats.canonical(metadata.get("format")) != FORMAT or "labels" not in tensors:
            raise DataError(f"{path}: not a {FORMAT} feature file; delete it to re-extract")
        views = [tensors[f"view.{v}"] for v in range(sum(k.startswith("view.") for k in tensors))]
        return cls(views, tensors["labels"], json.loads(metadata.get("meta", "{}")))


def image_to_clip(images: torch.Tensor, num_frames: int = 16) -> torch.Tensor:
    """The image protocol's input: each image repeated over ``num_frames`` frames (official: 16).

    Args:
        images: ``(B, C, H, W)``.
        num_frames: T.

    Returns:
        ``(B, C, T, H, W)``, a broadcast view of ``images`` (no copy; the encoder only reads it).
    """
    if images.dim() != 4:
        raise DataError(f"image_to_clip expects images of shape (B, C, H, W), got {list(images.shape)}")
    if num_frames < 1:
        raise DataError(f"image_to_clip num_frames {num_frames} must be >= 1")
    return images.unsqueeze(2).expand(-1, -1, num_frames, -1, -1)


class _LayerTaps(nn.Module):
    """Encoder adapter: the listed blocks' (normed) outputs side by side, ``(B, N, D·L)``."""

    def __init__(self, encoder: nn.Module, layers: Sequence[int]) -> None:
        super().__init__()
        self.encoder, self.layers = encoder, list(layers)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.encoder.forward_intermediates(video, self.layers), dim=-1)


def _as_clips(clips: Any, image_frames: int) -> list[list[torch.Tensor]]:
    """Normalise a batch's ``clips`` to the nested ``clips[segment][view]`` form."""
    if isinstance(clips, torch.Tensor):
        if clips.dim() == 4:  # images: the image protocol
            clips = image_to_clip(clips, image_frames)
        if clips.dim() != 5:
            raise DataError(f"batch 'clips' tensor must be (B, C, T, H, W) or (B, C, H, W), got {list(clips.shape)}")
        return [[clips]]
    if not clips or not all(isinstance(s, (list, tuple)) and s for s in clips):
        raise DataError("batch 'clips' must be a tensor or a nested list clips[segment][view] of tensors")
    return [list(segment) for segment in clips]


@torch.no_grad()  # not inference_mode: its tensors could not be saved for the probe's backward
def extract_features(
    encoder: nn.Module, loader: Iterable[Mapping[str, Any]], *, layers: Sequence[int] | None = None,
    device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
    storage_dtype: torch.dtype = torch.float32, image_frames: int = 16, progress: bool = True,
) -> FeatureSet:
    """Run the frozen encoder once over ``loader``.

    Args:
        encoder: A :class:`~vjepa.models.encoder.VideoEncoder` (put in eval mode for the call, then restored).
        loader: Yields dicts with ``clips`` -- a nested list ``clips[segment][view]`` of ``(B, C, T, H, W)`` float
            tensors, or one ``(B, C, T, H, W)`` tensor (1 segment × 1 view), or ``(B, C, H, W)`` images (repeated
            over ``image_frames`` frames) -- and ``label`` ``(B,)`` int64.
        layers: None for the encoder output; otherwise block indices (0-based, negative from the end) whose
            outputs, normed by the final norm, are stored side by side (``D·L`` features; :meth:`FeatureSet.layer`
            takes one out).
        device: Where the encoder runs (it is moved there).
        dtype: Compute precision (bfloat16 runs under autocast).
        storage_dtype: Precision of the stored tokens (float16 / bfloat16 halve the memory).
        image_frames: Frames per clip for image batches (official image protocol: 16).
        progress: Show a tqdm bar.

    Returns:
        The :class:`FeatureSet`, on the CPU.
    """
    device = torch.device(device)
    was_training = encoder.training
    encoder.eval().to(device)
    model = encoder if layers is None else _LayerTaps(encoder, layers)
    views: list[list[torch.Tensor]] = []
    labels: list[torch.Tensor] = []
    shape: tuple[int, int] | None = None
    try:
        for batch in progress_bar(loader, desc="features", enabled=progress, leave=False):
            if "clips" not in batch or "label" not in batch:
                raise DataError(f"feature loader batches need keys 'clips' and 'label', got {sorted(batch)}")
            clips = _as_clips(batch["clips"], image_frames)
            if shape is None:
                shape = (len(clips), len(clips[0]))
                views = [[] for _ in range(shape[1])]
            if (len(clips), len(clips[0])) != shape or any(len(s) != shape[1] for s in clips):
                raise DataError(f"every batch must have {shape[0]} segments x {shape[1]} views")
            clips = [[c.to(device, non_blocking=True) for c in segment] for segment in clips]
            with autocast(device, dtype):
                tokens = encode_segments(model, clips)  # V × (B, S·N, D)
            for v, x in enumerate(tokens):
                views[v].append(x.to("cpu", storage_dtype))
            labels.append(torch.as_tensor(batch["label"], dtype=torch.long).reshape(-1))
    finally:
        encoder.train(was_training)
    if shape is None:
        raise DataError("the feature loader yielded no batches; check the dataset is not empty")
    cfg = getattr(encoder, "cfg", None)
    meta = {"num_segments": shape[0], "num_views": shape[1], "layers": None if layers is None else list(layers),
            "num_heads": getattr(cfg, "num_heads", None), "encoder_dim": getattr(cfg, "embed_dim", None),
            "storage_dtype": str(storage_dtype).removeprefix("torch.")}
    return FeatureSet([torch.cat(v) for v in views], torch.cat(labels), meta)


def feature_cache_key(encoder: nn.Module, data: Mapping[str, Any], protocol: Mapping[str, Any]) -> str:
    """A 24-hex-digit key from the encoder weights, the data description and the protocol settings.

    ``data`` and ``protocol`` must be JSON-serialisable; include everything that changes the clips.
    """
    h = hashlib.sha256()
    for name, tensor in sorted(encoder.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    h.update(json.dumps({"data": data, "protocol": protocol}, sort_keys=True, default=str).encode())
    return h.hexdigest()[:24]


def load_or_extract(cache_dir: str | os.PathLike | None, key: str, extract: Callable[[], FeatureSet]) -> FeatureSet:
    """``<cache_dir>/<key>.safetensors`` if it exists, else ``extract()`` saved there (no cache when None)."""
    if cache_dir is None:
        return extract()
    path = Path(cache_dir) / f"{key}.safetensors"
    if path.is_file():
        return FeatureSet.load(path)
    features = extract()
    features.save(path)
    return features
