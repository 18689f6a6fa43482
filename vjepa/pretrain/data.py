"""The pretraining input pipeline: a pure function from (seed, step) to clips, whatever the number of workers.

Global sample position p = step · batch_size + i. Position p belongs to data pass p // len(dataset), within which
the order is a permutation seeded by (seed, pass); its augmentation draws from a generator seeded by (seed, p).
Rank r of W takes a contiguous 1/W of every global batch, cut into micro-batches ("slots") whose masks are keyed by
(step, slot) (``vjepa/masks/collate.py``). Resuming at step k therefore continues exactly where the run stopped, the
stored step is the whole data position, and with the same micro-batch size every world size sees the same
micro-batches.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from vjepa.config.schema import PretrainConfig
from vjepa.core.errors import ConfigError
from vjepa.core.rng import keyed_generator


class PositionDataset(Dataset):
    """Maps a global sample position to ``{"video": (C, T, H, W) float32, "position", "failures"}``."""

    def __init__(self, dataset: Dataset, transform, seed: int) -> None:
        self.dataset, self.transform, self.seed = dataset, transform, seed
        self._perm: tuple[int, torch.Tensor] | None = None

    def index_at(self, position: int) -> int:
        data_pass, offset = divmod(position, len(self.dataset))
        if self._perm is None or self._perm[0] != data_pass:
            self._perm = (data_pass, torch.randperm(len(self.dataset), generator=keyed_generator(self.seed, data_pass)))
        return int(self._perm[1][offset])

    def __getitem__(self, position: int) -> dict:
        index = self.index_at(position)
        if hasattr(self.dataset, "set_epoch"):  # runs in the loader worker, on its own copy of the dataset
            self.dataset.set_epoch(position // len(self.dataset))
        item = self.dataset[index]
        video = self.transform(item["video"], keyed_generator(self.seed, 1 << 32, position))
        return {"video": video, "position": position, "failures": item.get("failures", [])}


class PositionSampler(Sampler[int]):
    """Infinite stream of this rank's sample positions, starting at ``start_step``."""

    def __init__(self, start_step: int, batch_size: int, world_size: int = 1, rank: int = 0) -> None:
        if batch_size % world_size:
            raise ConfigError(f"optim.batch_size {batch_size} is not divisible by the world size {world_size}")
        self.start_step, self.batch_size, self.world_size, self.rank = start_step, batch_size, world_size, rank

    def __iter__(self) -> Iterator[int]:
        per_rank = self.batch_size // self.world_size
        step = self.start_step
        while True:
            first = step * self.batch_size + self.rank * per_rank
            yield from range(first, first + per_rank)
            step += 1


def build_dataset(cfg: PretrainConfig) -> Dataset:
    """The clip source named by ``data.dataset``."""
    from vjepa.data.synthetic import SyntheticVideos  # data modules are only needed when training

    data = cfg.data
    if data.dataset == "synthetic":
        syn = data.synthetic
        return SyntheticVideos(num_videos=syn.num_videos, num_frames=data.num_frames, size=syn.size,
                               num_classes=syn.num_classes, seed=syn.seed)
    if data.dataset == "physics":
        from vjepa.data.physics import PhysicsVideos

        phy = data.physics
        return PhysicsVideos(num_videos=phy.num_videos, num_frames=data.num_frames, size=phy.size, seed=phy.seed,
                             object_scale=phy.object_scale)
    if data.dataset == "videos":
        from vjepa.data.index import read_index
        from vjepa.data.video_dataset import VideoDataset

        return VideoDataset.mixed(
            [read_index(path) for path in data.paths], data.weights, frames_per_clip=data.num_frames,
            frame_step=data.frame_step, duration=data.clip_duration, filter_short_videos=data.filter_short_videos, short_video=data.short_video,
            max_retries=data.max_retries, timeout_s=data.decode_timeout_s, max_bad_fraction=data.max_bad_fraction,
            seed=cfg.run.seed, frame_cache=data.frame_cache,
        )
    raise ConfigError(f"data.dataset '{data.dataset}' is unknown; use 'synthetic', 'physics' or 'videos'")


def build_loader(cfg: PretrainConfig, dataset: Dataset, start_step: int, micro_batch_size: int, world_size: int = 1,
                 rank: int = 0, pin_memory: bool = False) -> DataLoader:
    """Infinite loader of this rank's micro-batches from ``start_step`` on: dicts with ``video`` (B, C, T, H, W),
    ``ctx_idx`` / ``tgt_idx`` (per mask configuration, (B, K_i) / (B, M_i)), ``step`` and ``failures``."""
    from vjepa.data.transforms import TrainVideoTransform
    from vjepa.masks import MaskCollator, MaskGenerator, grid_for
    from vjepa.masks.tube import TubeMaskGenerator

    data = cfg.data
    transform = TrainVideoTransform(data.crop_size, scale=tuple(data.random_resize_scale),
                                    ratio=tuple(data.random_resize_aspect_ratio), hflip=data.horizontal_flip)
    samples = PositionDataset(dataset, transform, cfg.run.seed)
    sampler = PositionSampler(start_step, cfg.optim.batch_size, world_size, rank)
    grid = grid_for(data.num_frames, data.crop_size, cfg.model.patch_size, cfg.model.tubelet_size)
    masks = (TubeMaskGenerator(grid, cfg.pixel.mask_ratio, seed=cfg.run.seed) if cfg.objective == "pixel"
             else MaskGenerator(cfg.masks.blocks, grid, seed=cfg.run.seed, equalize=cfg.masks.equalize))
    collate = MaskCollator(masks, cfg.optim.batch_size, micro_batch_size, world_size)
    return DataLoader(samples, batch_size=micro_batch_size, sampler=sampler, num_workers=data.num_workers,
                      collate_fn=collate,
                      pin_memory=pin_memory, persistent_workers=data.num_workers > 0,
                      prefetch_factor=4 if data.num_workers > 0 else None)
