"""Video transforms: crop-box sampling, the pretraining augmentation and the eval views."""

import math

import pytest
import torch

from vjepa.core.errors import DataError
from vjepa.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    EvalVideoTransform,
    TrainVideoTransform,
    random_resized_crop_params,
)

MEAN = torch.tensor(IMAGENET_MEAN).view(3, 1, 1, 1)
STD = torch.tensor(IMAGENET_STD).view(3, 1, 1, 1)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _random_video(t: int = 4, h: int = 40, w: int = 48, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (t, h, w, 3), dtype=torch.uint8, generator=_gen(seed))


def _column_video(t: int, h: int, w: int) -> torch.Tensor:
    """uint8 [t, h, w, 3] whose red channel is 4·column and green channel 4·row (positions readable back)."""
    v = torch.zeros(t, h, w, 3, dtype=torch.uint8)
    v[..., 0] = (4 * torch.arange(w)).to(torch.uint8)
    v[..., 1] = (4 * torch.arange(h)).to(torch.uint8)[:, None]
    return v


def _unnormalise(x: torch.Tensor) -> torch.Tensor:
    return (x * STD + MEAN) * 255.0


def test_crop_params_within_bounds_and_ranges():
    gen = _gen(0)
    for _ in range(300):
        top, left, h, w = random_resized_crop_params(60, 80, (0.3, 1.0), (0.75, 1.35), gen)
        assert 0 < h <= 60 and 0 < w <= 80 and 0 <= top <= 60 - h and 0 <= left <= 80 - w
        # Up to rounding, the box respects the sampled area and aspect-ratio ranges.
        assert 0.3 * 4800 * 0.85 <= h * w <= 4800
        assert 0.75 * 0.9 <= w / h <= 1.35 * 1.1


def test_crop_params_are_a_function_of_the_generator():
    a = [random_resized_crop_params(64, 64, (0.3, 1.0), (0.75, 1.35), _gen(5)) for _ in range(2)]
    assert a[0] == a[1]
    assert len({random_resized_crop_params(64, 64, (0.3, 1.0), (0.75, 1.35), _gen(s)) for s in range(10)}) > 1


def test_crop_params_fallback_is_the_clamped_central_crop():
    impossible = (2.0, 3.0)  # every try asks for more than the frame area, so all 10 tries fail
    assert random_resized_crop_params(64, 64, impossible, (0.75, 1.35), _gen(0)) == (0, 0, 64, 64)
    # Wide frame (ratio 4 > 1.35): full height, width round(32·1.35) = 43, centred.
    assert random_resized_crop_params(32, 128, impossible, (0.75, 1.35), _gen(0)) == (0, 42, 32, 43)
    # Tall frame (ratio 0.25 < 0.75): full width, height round(32 / 0.75) = 43, centred.
    assert random_resized_crop_params(128, 32, impossible, (0.75, 1.35), _gen(0)) == (42, 0, 43, 32)
    with pytest.raises(DataError):
        random_resized_crop_params(64, 64, (1.0, 0.5), (0.75, 1.35), _gen(0))


def test_train_transform_shape_dtype_and_determinism():
    video = _random_video()
    tr = TrainVideoTransform(32)
    out = tr(video, _gen(1))
    assert out.shape == (3, 4, 32, 32) and out.dtype == torch.float32
    assert torch.equal(out, tr(video, _gen(1)))
    assert not torch.equal(out, tr(video, _gen(2)))
    with pytest.raises(DataError):
        tr(video[..., :2], _gen(1))


def test_train_transform_full_frame_is_layout_and_normalisation_only():
    # scale = ratio = 1 on a square frame: the box is the whole frame and the resize to the same size is exact.
    video = _random_video(h=24, w=24)
    out = TrainVideoTransform(24, scale=(1.0, 1.0), ratio=(1.0, 1.0), hflip=False)(video, _gen(0))
    expected = (video.permute(3, 0, 1, 2).float() / 255.0 - MEAN) / STD
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_train_transform_crop_matches_the_sampled_box():
    video = _random_video(h=40, w=48)
    top, left, h, w = random_resized_crop_params(40, 48, (0.3, 1.0), (0.75, 1.35), _gen(3))
    out = TrainVideoTransform(20, hflip=False)(video, _gen(3))
    box = video[:, top:top + h, left:left + w].permute(3, 0, 1, 2).float()
    resized = torch.nn.functional.interpolate(box, size=(20, 20), mode="bilinear", align_corners=False)
    torch.testing.assert_close(_unnormalise(out), resized, atol=1e-3, rtol=0)


def test_flip_happens_about_half_the_time_and_mirrors_the_clip():
    video = _random_video()
    flipped = 0
    for seed in range(40):
        plain = TrainVideoTransform(16, hflip=False)(video, _gen(seed))
        maybe = TrainVideoTransform(16, hflip=True)(video, _gen(seed))  # same crop: the flip is drawn after it
        if torch.equal(maybe, plain):
            continue
        assert torch.equal(maybe, plain.flip(-1))
        flipped += 1
    assert 10 <= flipped <= 30


def test_mean_colour_clip_normalises_to_zero():
    mean_clip = (torch.tensor(IMAGENET_MEAN) * 255.0).expand(4, 16, 16, 3)
    out = TrainVideoTransform(8)(mean_clip, _gen(0))
    assert out.abs().max() < 1e-5
    out_u8 = TrainVideoTransform(8)(mean_clip.round().to(torch.uint8), _gen(0))
    assert out_u8.abs().max() < 0.5 / 255.0 / min(IMAGENET_STD) + 1e-6  # only the uint8 rounding remains
    views = EvalVideoTransform(16, num_views=3)(mean_clip)  # 16 × 16 at crop 16: no resize, no rounding
    assert len(views) == 3 and max(v.abs().max().item() for v in views) < 1e-5
    views = EvalVideoTransform(8, num_views=3)(mean_clip)  # resized, then rounded to uint8 levels
    assert max(v.abs().max().item() for v in views) < 0.5 / 255.0 / min(IMAGENET_STD) + 1e-6


def test_eval_three_views_along_the_long_side():
    # 32 × 64 landscape, crop 32: the short side is already 32 (no resize); step (64 − 32) // 2 = 16.
    video = _column_video(2, 32, 64)
    ev = EvalVideoTransform(32, num_views=3)
    views = ev(video)
    assert len(views) == 3 and all(v.shape == (3, 2, 32, 32) and v.dtype == torch.float32 for v in views)
    assert ev.view_offsets(32, 64) == [(0, 0), (0, 16), (0, 32)]
    for i, v in enumerate(views):
        raw = _unnormalise(v)
        assert raw[0, 0, 0, 0].round() == 4 * 16 * i and raw[1, 0, 0, 0].round() == 0
    # Portrait: the views move down instead.
    tall = ev(_column_video(2, 64, 32))
    assert [round(_unnormalise(v)[1, 0, 0, 0].item()) for v in tall] == [0, 64, 128]


def test_eval_views_after_a_short_side_resize():
    ev = EvalVideoTransform(16, num_views=3)
    assert ev.resized_size(40, 60) == (16, 24)  # long side floored: int(16 · 60 / 40)
    assert ev.view_offsets(40, 60) == [(0, 0), (0, 4), (0, 8)]
    views = ev(_random_video(h=40, w=60))
    assert len(views) == 3 and all(v.shape == (3, 4, 16, 16) for v in views)
    raw = _unnormalise(views[0])
    torch.testing.assert_close(raw, raw.round(), atol=1e-3, rtol=0)  # uint8 levels, as OpenCV's uint8 resize


def test_eval_single_view_is_a_centre_crop_of_the_256_over_224_resize():
    ev = EvalVideoTransform(28)
    assert ev.short_side == int(28 * 256 / 224) == 32
    # 32 × 48: already at the short side, so only the centre crop at (round(4/2), round(20/2)) = (2, 10).
    views = ev(_column_video(2, 32, 48))
    assert len(views) == 1 and views[0].shape == (3, 2, 28, 28)
    raw = _unnormalise(views[0])
    assert round(raw[0, 0, 0, 0].item()) == 4 * 10 and round(raw[1, 0, 0, 0].item()) == 4 * 2
    big = EvalVideoTransform(224)(_random_video(t=2, h=64, w=64))
    assert big[0].shape == (3, 2, 224, 224) and EvalVideoTransform(224).view_offsets(64, 64) == [(16, 16)]
    assert math.isfinite(big[0].sum().item())
