"""Video decoding: probe a file, decode the frames at given indices exactly, read an image.

The default backend is PyAV (FFmpeg in the wheel). Other decoders plug into :data:`BACKENDS` (name -> function
``(path, indices, timeout_s) -> uint8 [N, H, W, 3]``); ``torchcodec`` and ``decord`` are registered and imported
only when used.

Frame ``i`` of a video is the frame shown at time ``i / fps`` from the stream start (``fps`` = the average frame
rate). For constant-frame-rate files this is exactly the ``i``-th frame of a sequential decode; for variable
rate files it is the frame on screen at that time. :func:`decode_frames` seeks to the keyframe before the first
wanted frame and decodes forward only as far as the last one. The display rotation stored in the file (phone
videos) is applied, so portrait videos come out portrait.
"""

from __future__ import annotations

import importlib
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from time import monotonic
from typing import Callable, Sequence

import av
import numpy as np
import torch

from vjepa.core.errors import DataError

END_SLACK = 2
"""Wanted indices at most this many frames past the last decodable one get the last frame (frame counts from
duration x fps are estimates); further than that the file is :class:`TruncatedVideo`."""
_SEEK_BACKOFF_S = (0.0, 3.0, None)  # seek at the target, then 3 s earlier, then from the start (None)
# Codecs whose FFmpeg decoders skip exactly the frames no other frame references (not AV1/VP9: hidden frames).
_SKIP_NONREF_CODECS = frozenset({"h264", "hevc", "mpeg4", "mpeg2video", "mpeg1video"})


class TruncatedVideo(DataError):
    """The file holds fewer frames than it claims (cut-off download or copy)."""


class BackendUnavailable(DataError):
    """The decoding backend is not installed: a setup problem, never retried as a bad file."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video; sizes as displayed, ``num_frames`` exact unless estimated."""

    num_frames: int
    fps: float
    duration_s: float
    width: int
    height: int
    codec: str
    container: str
    frames_estimated: bool = False


def _open(path: str, timeout_s: float):
    """Open ``path`` with PyAV, turning every failure into a one-line DataError."""
    if not os.path.exists(path):
        raise DataError(f"{path}: file not found; fix the path in the index or remove the line")
    if os.path.getsize(path) == 0:
        raise DataError(f"{path}: empty file (0 bytes); re-copy or remove it")
    try:
        # `timeout` bounds each blocking read (FFmpeg interrupt callback): a stalled network file cannot hang us.
        return av.open(path, timeout=timeout_s)
    except Exception as e:  # FFmpeg raises many error types; all mean "not readable"
        raise DataError(f"{path}: not a readable video or image ({_reason(e)})") from None


def _reason(e: Exception) -> str:
    """A short cause: FFmpeg's error text without the repeated file name."""
    text = getattr(e, "strerror", None) or str(e)
    return (text.splitlines() or [type(e).__name__])[0][:200]


def _video_stream(container, path: str):
    if not container.streams.video:
        raise DataError(f"{path}: no video stream (format {container.format.name}); not a video")
    return container.streams.video[0]


def _rate(stream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return Fraction(rate) if rate else Fraction(0)


def probe_video(path: str, timeout_s: float = 30.0, read_frame: bool = True) -> VideoInfo:
    """Read a video's header (no decoding, except one frame to learn the display rotation).

    Args:
        path: Video file.
        timeout_s: Bound on each blocking read.
        read_frame: Decode the first frame to learn the display rotation (else ``width``/``height`` are the
            stored sizes; the loader skips it as it only needs the frame count and rate).

    Returns:
        :class:`VideoInfo`. ``num_frames`` is the container's count when it stores one (mp4, avi), else
        round(duration x fps) with ``frames_estimated`` True (mkv, webm).

    Raises:
        DataError: missing, empty or unreadable file, or no video stream.
    """
    with _open(path, timeout_s) as container:
        stream = _video_stream(container, path)
        fps = _rate(stream)
        duration = _duration_s(container, stream)
        estimated = not stream.frames
        num_frames = int(stream.frames) if stream.frames else int(math.floor(duration * fps + 0.5))
        width, height = stream.codec_context.width, stream.codec_context.height
        try:  # the rotation lives on decoded frames in PyAV; one frame is cheap
            frame = next(container.decode(stream)) if read_frame else None
            if frame is not None and round(frame.rotation / 90) % 2:
                width, height = height, width
        except Exception:  # undecodable first frame: reported by decode_frames instead
            pass
        if fps <= 0 or num_frames <= 0:
            raise DataError(f"{path}: the video stream has no frame rate or no frames; re-encode it")
        return VideoInfo(num_frames=num_frames, fps=float(fps), duration_s=float(duration), width=width,
                         height=height, codec=stream.codec_context.codec.canonical_name,
                         container=container.format.name, frames_estimated=estimated)


def _duration_s(container, stream) -> float:
    """The video stream's duration in seconds: its own field, the mkv ``DURATION`` tag, else the container's."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    try:  # "HH:MM:SS.nnnnnnnnn", written by FFmpeg's matroska muxer
        h, m, s = stream.metadata["DURATION"].split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    except (KeyError, ValueError):
        return container.duration / 1e6 if container.duration else 0.0


def _to_rgb(frame) -> np.ndarray:
    """uint8 ``[H, W, 3]`` of a decoded frame, turned as the file asks it to be displayed."""
    array = frame.to_ndarray(format="rgb24")
    quarter_turns = round(frame.rotation / 90) % 4 if frame.rotation else 0
    return np.ascontiguousarray(np.rot90(array, quarter_turns)) if quarter_turns else array


def _decode_pyav(path: str, indices: Sequence[int], timeout_s: float) -> np.ndarray:
    deadline = monotonic() + timeout_s
    wanted = sorted(set(int(i) for i in indices))
    with _open(path, timeout_s) as container:
        stream = _video_stream(container, path)
        stream.codec_context.thread_count = 1  # parallelism comes from loader workers, one clip each
        fps, tb = _rate(stream), stream.time_base
        if fps <= 0 or not tb:
            raise DataError(f"{path}: the video stream has no frame rate; re-encode it")
        start = stream.start_time or 0

        def index_of(pts: int) -> int:  # frame index shown at a timestamp: round((pts - start) * tb * fps)
            return math.floor((pts - start) * tb * fps + Fraction(1, 2))

        for backoff in _SEEK_BACKOFF_S:
            target_s = None if backoff is None else wanted[0] / fps - Fraction(backoff)
            from_start = target_s is None or target_s <= 0
            try:
                if not from_start or backoff != 0.0:  # a fresh container needs no seek to its start
                    container.seek(start + (0 if from_start else int(target_s / tb)), stream=stream, backward=True)
            except Exception as e:
                raise DataError(f"{path}: cannot seek to frame {wanted[0]} ({_reason(e)})") from None
            got = _scan(container, stream, wanted, index_of, deadline, timeout_s, path, from_start)
            if got is not None:  # always the case from the start
                break
    return np.stack([got[int(i)] for i in indices])


def _scan(container, stream, wanted: list[int], index_of: Callable[[int], int], deadline: float, timeout_s: float,
          path: str, from_start: bool) -> dict[int, np.ndarray] | None:
    """Decode forward from the current position and pick the wanted frames (sorted, unique).

    Returns None when a seek landed after the first wanted frame (the caller seeks earlier). From the start of
    the stream, indices before the first frame's timestamp get the first frame.
    """
    got: dict[int, np.ndarray] = {}
    j, prev, prev_idx, prev_rgb, skipping = 0, None, -1, None, False
    wanted_set, last_needed = set(wanted), wanted[-1] - END_SLACK
    can_skip = stream.codec_context.codec.canonical_name in _SKIP_NONREF_CODECS

    def rgb_of_prev() -> np.ndarray:  # one conversion per frame, however many indices map to it
        nonlocal prev_rgb
        if prev_rgb is None:
            prev_rgb = _to_rgb(prev)
        return prev_rgb

    try:
        for packet in container.demux(stream):
            if monotonic() > deadline:
                raise DataError(f"{path}: decoding took longer than timeout_s={timeout_s:g}; re-encode the file")
            # Unwanted non-reference frames (most B-frames) need not be decoded: no other frame depends on them.
            skip = (can_skip and packet.pts is not None and index_of(packet.pts) < last_needed
                    and index_of(packet.pts) not in wanted_set)
            if skip != skipping:
                stream.codec_context.skip_frame, skipping = ("NONREF" if skip else "DEFAULT"), skip
            for frame in packet.decode():
                # Position from the timestamp; frames without one follow their predecessor.
                idx = prev_idx + 1 if frame.pts is None else index_of(frame.pts)
                if prev is None and idx > wanted[0]:
                    if not from_start:
                        return None  # landed after the first wanted frame: seek earlier
                    prev, prev_idx = frame, idx  # the stream starts late: earlier indices show its first frame
                while j < len(wanted) and wanted[j] < idx:
                    got[wanted[j]] = rgb_of_prev()  # a gap in variable-rate video: the frame still on screen
                    j += 1
                if frame is not prev:
                    prev, prev_idx, prev_rgb = frame, idx, None
                while j < len(wanted) and wanted[j] == idx:
                    got[wanted[j]] = rgb_of_prev()
                    j += 1
                if j == len(wanted):
                    return got
    except (av.error.FFmpegError, ValueError, OSError) as e:  # corrupt data that FFmpeg cannot conceal
        raise DataError(f"{path}: decoding failed after frame {prev_idx} ({_reason(e)})") from None
    if prev is None:
        raise TruncatedVideo(f"{path}: truncated or corrupt: frame {wanted[0]} and the frames around it do not "
                             "decode; re-copy or remove the file")
    if wanted[-1] - prev_idx > END_SLACK:
        raise TruncatedVideo(f"{path}: truncated: frame {wanted[j]} requested but decoding ends at frame "
                             f"{prev_idx}; re-copy or remove the file")
    got.update({w: rgb_of_prev() for w in wanted[j:]})  # within the slack of an estimated count: the last frame
    return got


def _external(name: str, module: str, read: Callable) -> Callable[[str, Sequence[int], float], np.ndarray]:
    """A backend around an optional package, imported on first use."""
    def decode(path: str, indices: Sequence[int], timeout_s: float) -> np.ndarray:
        try:
            lib = importlib.import_module(module)
        except Exception as e:  # ImportError, or OSError from a wheel built for another torch/CUDA
            raise BackendUnavailable(f"decoding backend {name!r} is not usable ({_reason(e)}); "
                                     f"pip install {name}, or use backend 'pyav'") from None
        _open(path, timeout_s).close()  # the same missing/empty/unreadable checks and messages as PyAV
        try:
            return np.asarray(read(lib, path, [int(i) for i in indices]))
        except Exception as e:
            raise DataError(f"{path}: {name} cannot decode it ({_reason(e)})") from None
    return decode


BACKENDS: dict[str, Callable[[str, Sequence[int], float], np.ndarray]] = {
    "pyav": _decode_pyav,
    "torchcodec": _external("torchcodec", "torchcodec.decoders", lambda lib, path, idx: lib.VideoDecoder(
        path, dimension_order="NHWC", seek_mode="exact", num_ffmpeg_threads=1).get_frames_at(idx).data.numpy()),
    "decord": _external("decord", "decord", lambda lib, path, idx: lib.VideoReader(
        path, num_threads=1, ctx=lib.cpu(0)).get_batch(idx).asnumpy()),
}
"""Decoding backends: name -> ``fn(path, indices, timeout_s) -> uint8 ndarray [N, H, W, 3]``."""


def decode_frames(path: str, indices: Sequence[int], *, backend: str = "pyav", timeout_s: float = 30.0
                  ) -> torch.Tensor:
    """Decode the frames at ``indices`` of a video, seeking to the keyframe before the first one.

    Args:
        path: Video file.
        indices: Frame indices (>= 0, any order, repeats allowed).
        backend: Key of :data:`BACKENDS`.
        timeout_s: Bound on the whole call (checked between packets) and on each blocking read.

    Returns:
        uint8 ``[len(indices), H, W, 3]``, frames in the order of ``indices``.

    Raises:
        DataError: missing, empty, unreadable, corrupt or too slow file; :class:`TruncatedVideo` when an index
            lies past the frames the file really holds; :class:`BackendUnavailable` for a missing backend.
    """
    if backend not in BACKENDS:
        raise BackendUnavailable(f"unknown decoding backend {backend!r}; use one of {sorted(BACKENDS)}")
    if len(indices) == 0:
        raise DataError(f"{path}: no frame indices to decode")
    if min(int(i) for i in indices) < 0:
        raise DataError(f"{path}: negative frame index in {list(indices)[:8]}")
    return torch.from_numpy(BACKENDS[backend](path, indices, timeout_s))


def load_image(path: str, timeout_s: float = 30.0) -> torch.Tensor:
    """Read an image (png, jpg, bmp, webp, ...) with PyAV.

    Args:
        path: Image file.
        timeout_s: Bound on each blocking read.

    Returns:
        uint8 ``[H, W, 3]`` (grey and alpha images are converted to RGB; EXIF orientation is not applied).
    """
    with _open(path, timeout_s) as container:
        stream = _video_stream(container, path)
        try:
            frame = next(container.decode(stream))
        except StopIteration:
            raise DataError(f"{path}: truncated or corrupt image (no picture decodes)") from None
        except Exception as e:
            raise DataError(f"{path}: corrupt image ({_reason(e)})") from None
        return torch.from_numpy(_to_rgb(frame))
