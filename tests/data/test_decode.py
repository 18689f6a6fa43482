"""Decoding: probing, exact frame access after seeking, every codec/container, odd sizes, broken files."""

import importlib.util

import numpy as np
import pytest
import torch

import vjepa.data.decode as decode
from vjepa.core.errors import DataError
from vjepa.data.decode import BACKENDS, BackendUnavailable, TruncatedVideo, decode_frames, load_image, probe_video

NUM_FRAMES = 30  # frames of every generated codec file (conftest.NUM_FRAMES)


def test_probe_real_clips(sample_clips):
    bikes = probe_video(sample_clips["bikes"])
    assert (bikes.num_frames, bikes.fps, bikes.width, bikes.height, bikes.codec) == (250, 25.0, 640, 272, "h264")
    assert bikes.duration_s == pytest.approx(10.0) and not bikes.frames_estimated
    phone = probe_video(sample_clips["carphone_pristine"])
    assert (phone.num_frames, phone.width, phone.height) == (120, 176, 144)
    assert phone.fps == pytest.approx(30000 / 1001)


def test_real_clip_matches_sequential_decode(sample_clips, reference):
    for name in ("bikes", "carphone_pristine"):
        path = sample_clips[name]
        full = reference(path)
        n = len(full)
        for indices in ([n - 50 + 4 * i for i in range(12)] + [n - 1, n - 1], [0], [n // 2 + 17, 31, 31]):
            clip = decode_frames(path, indices)
            assert clip.dtype == torch.uint8 and clip.shape == (len(indices), *full.shape[1:])
            assert np.array_equal(clip.numpy(), full[indices]), (name, indices)


def test_every_codec_and_container_is_frame_exact(codec_files, reference, codec_name):
    name = codec_name
    if name not in codec_files:
        pytest.skip(f"this PyAV build has no encoder for {name}")
    path = codec_files[name]
    info = probe_video(path)
    assert (info.num_frames, info.fps, info.width, info.height) == (NUM_FRAMES, 25.0, 64, 48)
    assert info.codec == name.split("_")[0]
    full = reference(path)
    assert len(full) == NUM_FRAMES
    for i in range(NUM_FRAMES):  # every frame alone: each one is reached by a seek, then decoded forward
        assert np.array_equal(decode_frames(path, [i]).numpy()[0], full[i]), (name, i)
    rng = np.random.default_rng(0)
    for _ in range(5):  # clips with repeats, in sampler (sorted) and in arbitrary order
        indices = np.sort(rng.integers(0, NUM_FRAMES, 8))
        assert np.array_equal(decode_frames(path, indices).numpy(), full[indices])
        shuffled = rng.permutation(indices)
        assert np.array_equal(decode_frames(path, shuffled).numpy(), full[shuffled])


def test_seek_decodes_only_from_the_keyframe_before(sample_clips, monkeypatch):
    """Frame 245 of bikes.mp4 (keyframes at 0, 30, 76, 137, 187, 242): a few packets, not the whole file."""
    demuxed = []
    real_scan = decode._scan

    class Counting:
        def __init__(self, container):
            self.container = container

        def demux(self, stream):
            for packet in self.container.demux(stream):
                demuxed.append(packet.pts)
                yield packet

    monkeypatch.setattr(decode, "_scan", lambda container, *a: real_scan(Counting(container), *a))
    decode_frames(sample_clips["bikes"], [245, 247])
    assert 0 < len(demuxed) < 20


def test_portrait_odd_and_rotated_sizes(media, reference):
    for name, (height, width) in {"portrait": (80, 48), "odd": (21, 35), "rotated": (80, 48)}.items():
        info = probe_video(media[name])
        assert (info.height, info.width) == (height, width), name
        clip = decode_frames(media[name], [0, 29, 29])
        assert clip.shape == (3, height, width, 3)
        assert np.array_equal(clip.numpy(), reference(media[name])[[0, 29, 29]])
    # the rotated file is stored landscape with a 90 degree (counter-clockwise) display rotation: shown[r, c] is
    # stored[c, W - 1 - r], so the stored left-to-right green ramp runs bottom to top, the top-to-bottom blue
    # ramp left to right
    shown = decode_frames(media["rotated"], [0]).numpy()[0].astype(int)
    assert shown[2, 20, 1] > 200 and shown[-3, 20, 1] < 60
    assert shown[40, 2, 2] < 40 and shown[40, -3, 2] > 200


def test_images(media):
    for name in ("png", "jpg"):
        image = load_image(media[name])
        assert image.dtype == torch.uint8 and image.shape == (20, 30, 3)
    png = load_image(media["png"]).numpy().astype(int)
    assert png[15, -1, 1] > 240 and png[15, 0, 1] < 15  # the green gradient runs left to right


@pytest.mark.parametrize("name, match", [
    ("missing", "file not found"), ("empty", "empty file"), ("text", "not a readable video"),
    ("random", "not a readable video"), ("no_index", "not a readable video"),
])
def test_broken_files_raise_one_line_data_errors(media, name, match):
    for call in (lambda p: probe_video(p), lambda p: decode_frames(p, [0]), lambda p: load_image(p)):
        with pytest.raises(DataError, match=match) as info:
            call(media[name])
        message = str(info.value)
        assert message.startswith(media[name]) and "\n" not in message and message.count(media[name]) == 1


def test_truncated_files(media, reference):
    # the header still claims all 120 frames; what exists decodes, what is missing is reported
    for name in ("truncated", "truncated_mkv"):
        assert probe_video(media[name]).num_frames == 120
        assert np.array_equal(decode_frames(media[name], [0, 5]).numpy(), reference(media["long"])[[0, 5]])
        with pytest.raises(TruncatedVideo, match="truncated"):
            decode_frames(media[name], [110, 119])


def test_indices_slightly_past_the_end_hold_the_last_frame(media, reference):
    full = reference(media["h264_mkv"])
    clip = decode_frames(media["h264_mkv"], [28, 29, 30, 31])  # estimated counts may be off by a frame or two
    assert np.array_equal(clip.numpy(), full[[28, 29, 29, 29]])
    with pytest.raises(TruncatedVideo):
        decode_frames(media["h264_mkv"], [29, 40])


def test_time_bound(media, monkeypatch):
    clock = iter(np.arange(0.0, 1e6, 10.0))  # every clock reading advances 10 s
    monkeypatch.setattr(decode, "monotonic", lambda: next(clock))
    with pytest.raises(DataError, match="longer than timeout_s=5"):
        decode_frames(media["long"], [100], timeout_s=5.0)


def test_backends_and_bad_arguments(media):
    assert {"pyav", "torchcodec", "decord"} <= set(BACKENDS)
    with pytest.raises(BackendUnavailable, match="unknown decoding backend"):
        decode_frames(media["h264_mp4"], [0], backend="nope")
    if importlib.util.find_spec("decord") is None:
        with pytest.raises(BackendUnavailable, match="pip install decord"):
            decode_frames(media["h264_mp4"], [0], backend="decord")
    with pytest.raises(DataError, match="negative"):
        decode_frames(media["h264_mp4"], [-1])
    with pytest.raises(DataError, match="no frame indices"):
        decode_frames(media["h264_mp4"], [])
