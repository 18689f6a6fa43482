"""Training and validation data of ``vjepa finetune``: CSV lists, class folders, or the embedded synthetic set.

Training items are keyed ``(epoch, index)`` and draw their clip window and augmentation from a generator keyed by
(seed, epoch, index), so a step's batch is a pure function of (seed, step): resuming redraws the same batches.
Validation items are ``{"clips": clips[segment][view], "label"}`` cut with the deterministic eval transform (the
multi-view protocol of :mod:`vjepa.eval.protocol`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch.utils.data import Dataset

from vjepa.core.errors import ConfigError
from vjepa.core.rng import keyed_generator
from vjepa.data.synthetic import MOTIONS, VAL_OFFSET, SyntheticVideos
from vjepa.data.transforms import EvalVideoTransform, TrainVideoTransform
from vjepa.data.video_dataset import VideoDataset
from vjepa.eval.splits import read_split
from vjepa.eval.synthetic_probe import TASKS
from vjepa.finetune.config import FinetuneConfig

_AUG_TAG = 0xF1A7  # keeps the synthetic augmentation streams apart from the other keyed generators


@dataclass
class FinetuneData:
    train: Dataset
    """``train[(epoch, i)]`` -> ``{"video": (C, T, H, W) float, "label": int}``."""
    val: Dataset
    """``val[i]`` -> ``{"clips": [[(C, T, H, W)] * views] * segments, "label": int}``."""
    num_train: int
    num_val: int
    describe: dict[str, Any]


class _SyntheticTrain(Dataset):
    def __init__(self, videos: SyntheticVideos, n: int, task: str, transform: TrainVideoTransform, seed: int):
        self.videos, self.n, self.task, self.transform, self.seed = videos, n, task, transform, seed

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key: tuple[int, int]) -> dict:
        epoch, i = key
        item = self.videos[i]
        video = self.transform(item["video"], keyed_generator(_AUG_TAG, self.seed, epoch, i))
        return {"video": video, "label": item[self.task]}


class _SyntheticVal(Dataset):
    def __init__(self, videos: SyntheticVideos, n: int, task: str, transform: EvalVideoTransform):
        self.videos, self.n, self.task, self.transform = videos, n, task, transform

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        item = self.videos[VAL_OFFSET + i]
        return {"clips": [self.transform(item["video"])], "label": item[self.task]}


class _FileTrain(Dataset):
    """A :class:`VideoDataset` with the training transform, keyed ``(epoch, index)``."""

    def __init__(self, dataset: VideoDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        item = self.dataset[key]
        return {"video": item["video"], "label": item["label"]}


class _FileVal(Dataset):
    def __init__(self, dataset: VideoDataset, segments: int):
        self.dataset, self.segments = dataset, segments

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> dict:
        item = self.dataset[(0, i)]
        video = item["video"]  # one segment: a list over views; several: a list over segments of such lists
        return {"clips": video if self.segments > 1 else [video], "label": item["label"]}


def synthetic_data(cfg: FinetuneConfig, task: str, num_train: int, num_val: int, size: int = 64,
                   num_classes: int = 4) -> FinetuneData:
    """The embedded dataset: train indices [0, num_train), val [VAL_OFFSET, VAL_OFFSET + num_val), as the
    demo's probe table (vjepa/eval/synthetic_probe.py)."""
    if task not in TASKS:
        raise ConfigError(f"synthetic task {task!r}: use one of {', '.join(TASKS)}")
    if not 1 <= num_train <= VAL_OFFSET or num_val < 1:
        raise ConfigError(f"synthetic num_train {num_train} must be in 1..{VAL_OFFSET} and num_val {num_val} >= 1")
    clip = cfg.clip
    videos = SyntheticVideos(VAL_OFFSET + num_val, num_frames=clip.num_frames, size=size,
                             num_classes=num_classes, seed=0)
    # A horizontal flip swaps turn_left and turn_right, so the motion task trains without flips.
    train_tf = TrainVideoTransform(clip.crop_size, scale=cfg.regularization.random_resize_scale,
                                   hflip=task != "motion")
    val_tf = EvalVideoTransform(clip.crop_size, clip.num_views)
    classes = len(MOTIONS) if task == "motion" else num_classes
    return FinetuneData(_SyntheticTrain(videos, num_train, task, train_tf, cfg.runtime.seed),
                        _SyntheticVal(videos, num_val, task, val_tf), num_train, num_val,
                        {"train": f"synthetic:{task}[0,{num_train})", "val": f"synthetic:{task}[{VAL_OFFSET},"
                         f"{VAL_OFFSET + num_val})", "synthetic_classes": classes})


def file_data(cfg: FinetuneConfig, num_classes: int, sources: dict[str, str]) -> FinetuneData:
    """CSV lists or class folders (``train_csv``/``val_csv`` or ``train_dir``/``val_dir``), checked as ``vjepa eval``
    checks them. Images become clips of ``clip.num_frames`` repeated frames."""
    train = read_split("train", sources.get("train_csv"), sources.get("train_dir"), num_classes)
    val = read_split("val", sources.get("val_csv"), sources.get("val_dir"), num_classes)
    clip = cfg.clip
    segments = 1 if val.images else clip.num_segments
    common = {"frames_per_clip": clip.num_frames, "frame_step": clip.frame_step, "seed": cfg.runtime.seed,
              "image_frames": clip.num_frames}
    train_tf = TrainVideoTransform(clip.crop_size, scale=cfg.regularization.random_resize_scale)
    train_ds = VideoDataset(train.entries, num_clips=1, random_clip_sampling=True, transform=train_tf, **common)
    val_ds = VideoDataset(val.entries, num_clips=segments, random_clip_sampling=False, allow_clip_overlap=True,
                          transform=EvalVideoTransform(clip.crop_size, clip.num_views), **common)
    return FinetuneData(_FileTrain(train_ds), _FileVal(val_ds, segments), len(train.entries), len(val.entries),
                        {"train": train.source, "val": val.source, "num_segments": segments})
