"""The synthetic dataset: determinism, layout, balanced labels, and a motion label that needs the whole clip."""

import math

import pytest
import torch
from torch.utils.data import default_collate

from vjepa.core.errors import ConfigError
from vjepa.data.synthetic import MOTION_HFLIP, MOTIONS, SyntheticVideos, class_look, clip_labels, render_clip

N = 200  # items rendered for the statistical checks (about half a second)
SIZE = 64


@pytest.fixture(scope="module")
def clips() -> list[dict]:
    return [render_clip(0, i) for i in range(N)]


def _steps(traj: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """Per-frame displacements [T-1, 2] of a wrapped trajectory (undoing the torus wrap)."""
    d = traj[1:] - traj[:-1]
    return torch.remainder(d + size / 2, size) - size / 2


def _turn_degrees(traj: torch.Tensor) -> float:
    """Signed on-screen counter-clockwise angle from the first to the last displacement, in (-180, 180]."""
    s = _steps(traj)
    a0 = math.atan2(-s[0, 1].item(), s[0, 0].item())  # minus: image y points down
    a1 = math.atan2(-s[-1, 1].item(), s[-1, 0].item())
    deg = math.degrees(a1 - a0) % 360.0
    return deg - 360.0 if deg > 180.0 + 1e-6 else deg


def _motion_from_angle(deg: float) -> int:
    quarter = round(deg / 90.0)
    assert abs(deg - 90.0 * quarter) < 1e-3  # turns are exact multiples of 90 degrees
    return {0: 0, 1: 1, -1: 2, 2: 3, -2: 3}[quarter]


def test_same_item_is_identical_across_calls_and_instances():
    a = SyntheticVideos(10, seed=3)[7]
    b = SyntheticVideos(10, seed=3)[7]
    c = render_clip(3, 7)
    assert torch.equal(a["video"], b["video"]) and torch.equal(a["video"], c["video"])
    assert (a["appearance"], a["motion"], a["index"]) == (b["appearance"], b["motion"], 7)


def test_seeds_and_indices_give_different_videos():
    base = render_clip(0, 5)["video"]
    assert not torch.equal(base, render_clip(1, 5)["video"])
    assert not torch.equal(base, render_clip(0, 6)["video"])


def test_layout_and_dtypes():
    ds = SyntheticVideos(8, num_frames=8, size=32, num_classes=6)
    item = ds[3]
    assert set(item) == {"video", "appearance", "motion", "index"}
    assert item["video"].shape == (8, 32, 32, 3) and item["video"].dtype == torch.uint8
    assert item["video"].is_contiguous()
    assert isinstance(item["appearance"], int) and isinstance(item["motion"], int)
    assert len(ds) == 8 and ds.num_appearance_classes == 6 and ds.num_motion_classes == len(MOTIONS) == 4
    batch = default_collate([ds[0], ds[1]])
    assert batch["video"].shape == (2, 8, 32, 32, 3)
    with pytest.raises(IndexError):
        ds[8]


def test_invalid_arguments_raise_config_errors():
    with pytest.raises(ConfigError):
        SyntheticVideos(4, num_classes=0)
    with pytest.raises(ConfigError):
        SyntheticVideos(4, num_classes=25)
    with pytest.raises(ConfigError):
        SyntheticVideos(0)


def test_labels_in_range_balanced_and_independent(clips):
    app = torch.tensor([c["appearance"] for c in clips])
    mot = torch.tensor([c["motion"] for c in clips])
    assert app.min() >= 0 and app.max() < 4 and mot.min() >= 0 and mot.max() < 4
    # Stratified by index: every block of 4·A = 16 items holds each (appearance, motion) pair exactly once.
    assert torch.bincount(app[:192] * 4 + mot[:192], minlength=16).tolist() == [12] * 16
    assert torch.bincount(app, minlength=4).tolist() == [50] * 4
    assert all(48 <= n <= 52 for n in torch.bincount(mot, minlength=4).tolist())
    labels = SyntheticVideos(N).labels()
    assert torch.equal(labels["appearance"], app) and torch.equal(labels["motion"], mot)


def test_appearance_classes_have_distinct_looks():
    looks = [class_look(c) for c in range(24)]
    assert len(set(looks)) == 24
    assert clip_labels(13, 4) == (1, 3)


def test_clips_move():
    video = render_clip(0, 1)["video"].float()
    assert (video[1:] - video[:-1]).abs().mean() > 1.0  # frames change (object and/or background motion)
    assert video.std() > 10.0  # textured, not flat


def test_motion_label_is_the_turn_between_first_and_last_motion(clips):
    for c in clips:
        assert _motion_from_angle(_turn_degrees(c["trajectory"])) == c["motion"]


def test_every_frame_pair_is_a_pure_translation_at_constant_speed(clips):
    # The turn happens on an integer frame: no pair of consecutive frames (no 2-frame tubelet) mixes the two
    # directions, so a single pair shows only "a translation at speed s", whatever the label.
    for c in clips:
        speed = _steps(c["trajectory"]).norm(dim=1)
        assert torch.allclose(speed, speed[0].expand_as(speed), atol=1e-6)
        assert speed[0] >= 2.0 - 1e-6
        assert 4 <= c["turn_frame"] <= 11  # both segments cover at least a quarter of the 16 frames


def test_local_motion_does_not_reveal_the_label(clips):
    # For every motion class, the direction seen in the first half (and in the last pair of frames) covers all
    # four quadrants: the direction of any one window is uniform, independent of the label.
    for m in range(4):
        for which in (0, -1):
            quadrants = set()
            for c in clips:
                if c["motion"] == m:
                    s = _steps(c["trajectory"])[which]
                    quadrants.add(int(math.degrees(math.atan2(-s[1].item(), s[0].item())) % 360.0 // 90.0))
            assert quadrants == {0, 1, 2, 3}, (MOTIONS[m], which)
    # Positions are spread over the whole frame for every class (the motion wraps around the edges).
    for m in range(4):
        pos = torch.stack([c["trajectory"][-1] for c in clips if c["motion"] == m])
        assert pos.min() < 0.2 * SIZE and pos.max() > 0.8 * SIZE


def test_hflip_swaps_left_and_right_turns(clips):
    for c in clips[:40]:
        flipped = c["trajectory"].clone()
        flipped[:, 0] = SIZE - 1 - flipped[:, 0]
        assert _motion_from_angle(_turn_degrees(flipped)) == MOTION_HFLIP[c["motion"]]
