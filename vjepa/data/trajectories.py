"""Trajectory data for action-conditioned world models: episodes of video with per-frame states and actions.

Format. An episode ``NAME`` is three files side by side:

* ``NAME.mp4``: the video, T frames (any container and codec PyAV decodes; the writer uses H.264 in mp4);
* ``NAME.states.npy``: float array (T, A), the state at every frame (A = the model's action_dim);
* ``NAME.actions.npy`` (optional): float array (T-1, A), the action taken between frame t and t+1. Without it the
  actions are the state differences ``states[t+1] - states[t]``, as the official V-JEPA 2 DROID loader does.

A source is either a folder (every ``*.mp4`` in it, sorted by name, with its ``.states.npy``) or a CSV file with
the header ``video,states,actions`` and one episode a line (paths relative to the CSV's folder; ``actions`` may be
empty).

Writing. :func:`write_episode` saves one episode (H.264 yuv420p at crf 12 in mp4, so colour edges blur by about a
pixel; the arrays exactly), every file through ``atomic_write``; :func:`write_world_episodes` saves a set of
action-world exploration episodes.

Reading. :func:`scan_episodes` checks every episode without decoding it (the video's header, the arrays' shapes
and values) and names each bad one with a reason: unreadable video, length mismatch between frames and states
(or actions; the video's frame count is the container's, exact in mp4), NaN or inf in the states or actions, too short for a window. Bad episodes are skipped; only when
every episode is bad does it raise a one-line DataError naming the source. :class:`TrajectoryWindows` yields
fixed-length windows of the good episodes for training.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from torch.utils.data import Dataset

from vjepa.core.errors import DataError
from vjepa.core.io import atomic_write
from vjepa.data.action_world import ActionWorld
from vjepa.data.decode import decode_frames, probe_video
from vjepa.data.transforms import IMAGENET_MEAN, IMAGENET_STD

STATES_SUFFIX, ACTIONS_SUFFIX = ".states.npy", ".actions.npy"
CSV_COLUMNS = ("video", "states", "actions")


def normalize_frames(frames: torch.Tensor) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> float32 (..., 3, H, W) in [0, 1] normalised with the ImageNet statistics."""
    x = frames.float().div(255.0).movedim(-1, -3)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (x - mean) / std


# --- writing ------------------------------------------------------------------------------------------------


def _encode_mp4(path: str, frames: np.ndarray, fps: int) -> None:
    """H.264 (yuv420p, crf 12: nearly lossless on flat synthetic frames) mp4 at ``fps`` frames/s."""
    with av.open(path, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12", "preset": "veryfast"}
        for array in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")))
        container.mux(stream.encode())  # flush the encoder


def _save_npy(path: Path, array: np.ndarray) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: np.save would append ".npy" to the temporary name
            np.save(f, array)
    atomic_write(path, write)


def write_episode(folder: str | os.PathLike, name: str, frames: torch.Tensor, states: torch.Tensor,
                  actions: torch.Tensor | None = None, fps: int = 10) -> Path:
    """Write one episode in the trajectory format, each file atomically; returns the video's path.

    Args:
        frames: uint8 (T, H, W, 3), H and W even (H.264 4:2:0); states: (T, A); actions: (T-1, A) or None.
    """
    frames_np = np.ascontiguousarray(torch.as_tensor(frames).numpy().astype(np.uint8))
    states_np = torch.as_tensor(states).float().numpy()
    if frames_np.ndim != 4 or frames_np.shape[-1] != 3 or states_np.shape[:1] != frames_np.shape[:1]:
        raise DataError(f"episode {name}: frames {frames_np.shape} and states {states_np.shape} do not match "
                        "(T, H, W, 3) and (T, A)")
    folder = Path(folder)
    video = folder / f"{name}.mp4"
    atomic_write(video, lambda tmp: _encode_mp4(tmp, frames_np, fps))
    _save_npy(folder / f"{name}{STATES_SUFFIX}", states_np)
    if actions is not None:
        _save_npy(folder / f"{name}{ACTIONS_SUFFIX}", torch.as_tensor(actions).float().numpy())
    return video


def write_world_episodes(world: ActionWorld, folder: str | os.PathLike, count: int, num_frames: int, seed: int = 0,
                         fps: int = 10) -> list[Path]:
    """Exploration episodes 0 … count-1 of ``world`` (seed ``seed``) as ``episode_00000`` …, with their actions."""
    videos = []
    for index in range(count):
        ep = world.episode(seed, index, num_frames)
        videos.append(write_episode(folder, f"episode_{index:05d}", ep["frames"], ep["states"], ep["actions"], fps))
    return videos


# --- reading ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Episode:
    name: str
    video: str
    states: np.ndarray
    """float32 (T, A)."""
    actions: np.ndarray
    """float32 (T-1, A): given, or the state differences."""

    @property
    def num_frames(self) -> int:
        return self.states.shape[0]


@dataclass(frozen=True)
class BadEpisode:
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def episode_files(source: str | os.PathLike) -> list[tuple[str, str, str | None]]:
    """(video, states, actions or None) paths of every episode a folder or CSV lists."""
    source = Path(source)
    if source.is_dir():
        rows = []
        for video in sorted(source.glob("*.mp4")):
            stem = video.with_suffix("")
            actions = Path(f"{stem}{ACTIONS_SUFFIX}")
            rows.append((str(video), f"{stem}{STATES_SUFFIX}", str(actions) if actions.exists() else None))
        return rows
    if not source.is_file():
        raise DataError(f"{source}: no such folder or CSV of episodes")
    with open(source, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"video", "states"} <= set(reader.fieldnames):
            raise DataError(f"{source}: a CSV of episodes needs the header {','.join(CSV_COLUMNS)}")
        return [(str(source.parent / row["video"]), str(source.parent / row["states"]),
                 str(source.parent / row["actions"]) if row.get("actions") else None) for row in reader]


def _load_array(path: str, what: str) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"unreadable {what} file {Path(path).name} ({str(e).splitlines()[0][:120]})") from None
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{what} of shape {array.shape} and type {array.dtype}: expected a numeric (T, A) array")
    if not np.isfinite(array).all():
        bad = int(np.argwhere(~np.isfinite(array))[0][0])
        raise DataError(f"NaN or inf in the {what} (first at row {bad})")
    return array.astype(np.float32)


def load_episode(video: str, states_path: str, actions_path: str | None, min_frames: int = 2) -> Episode:
    """Check and load one episode (arrays read, video probed not decoded); DataError with the reason if bad."""
    name = Path(video).name.removesuffix(".mp4")
    states = _load_array(states_path, "states")
    T = states.shape[0]
    try:
        frames = probe_video(video, read_frame=False).num_frames
    except DataError as e:
        raise DataError(f"unreadable video ({str(e).split(': ', 1)[-1]})") from None
    if frames != T:
        raise DataError(f"length mismatch: the video has {frames} frames but the states {T} rows")
    if actions_path is None:
        actions = np.diff(states, axis=0)  # official DROID: actions are the state differences
    else:
        actions = _load_array(actions_path, "actions")
        if actions.shape != (T - 1, states.shape[1]):
            raise DataError(f"length mismatch: actions of shape {actions.shape}, expected ({T - 1}, "
                            f"{states.shape[1]}) for {T} states")
    if T < min_frames:
        raise DataError(f"too short: {T} frames, a window needs {min_frames}")
    return Episode(name, video, states, actions)


def scan_episodes(source: str | os.PathLike, min_frames: int = 2) -> tuple[list[Episode], list[BadEpisode]]:
    """The good episodes of a source and the bad ones with their reasons; DataError when none is good."""
    good, bad = [], []
    for video, states, actions in episode_files(source):
        try:
            good.append(load_episode(video, states, actions, min_frames))
        except DataError as e:
            bad.append(BadEpisode(Path(video).name.removesuffix(".mp4"), str(e)))
    if not good:
        detail = f"; first: {bad[0]}" if bad else ""
        raise DataError(f"{source}: no usable episode ({len(bad)} bad{detail})")
    return good, bad


class TrajectoryWindows(Dataset):
    """Fixed-length windows of the good episodes of a source.

    Each item: ``frames`` float32 (3, T, H, W) normalised (see :func:`normalize_frames`), ``states`` (T, A),
    ``actions`` (T-1, A), ``episode`` (its name) and ``start`` (first frame index). Windows start every
    ``stride`` frames (default: ``num_frames``, no overlap). ``skipped`` lists the bad episodes.
    """

    def __init__(self, source: str | os.PathLike, num_frames: int, stride: int | None = None) -> None:
        if num_frames < 2:
            raise DataError(f"num_frames = {num_frames}: a window needs at least 2 frames")
        self.num_frames, self.stride = num_frames, stride or num_frames
        self.episodes, self.skipped = scan_episodes(source, min_frames=num_frames)
        self.windows = [(e, start) for e, ep in enumerate(self.episodes)
                        for start in range(0, ep.num_frames - num_frames + 1, self.stride)]

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict:
        e, start = self.windows[index]
        episode = self.episodes[e]
        stop = start + self.num_frames
        frames = decode_frames(episode.video, list(range(start, stop)))  # uint8 (T, H, W, 3)
        return {"frames": normalize_frames(frames).movedim(0, 1),  # (3, T, H, W)
                "states": torch.from_numpy(episode.states[start:stop]),
                "actions": torch.from_numpy(episode.actions[start:stop - 1]),
                "episode": episode.name, "start": start}
