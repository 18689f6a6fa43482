"""The physics world: quadruplets balanced by construction (same frames on both sides), impossible movies that
really are impossible, determinism, training clips and the files."""

from __future__ import annotations

import csv
from collections import Counter

import pytest
import torch

from vjepa.core.errors import ConfigError
from vjepa.data.decode import decode_frames
from vjepa.data.physics import EXTENT, PROPERTIES, PhysicsVideos, make_quadruplet, make_quadruplets
from vjepa.data.physics_files import CSV_HEADER, write_quadruplets
from vjepa.surprise.voe import quad_outcome

N, T, S = 20, 16, 32


@pytest.fixture(scope="module")
def quads():
    return make_quadruplets(N, seed=7, num_frames=T, size=S)


def frame_counter(*movies) -> Counter:
    return Counter(bytes(frame.numpy().tobytes()) for m in movies for frame in m.video)


def test_both_sides_hold_the_same_multiset_of_frames(quads):
    for q in quads:
        a, b, c, d = q.movies
        assert frame_counter(a, b) == frame_counter(c, d)
        assert torch.equal(c.video, torch.cat([a.video[: q.break_frame], b.video[q.break_frame :]]))
        assert torch.equal(d.video, torch.cat([b.video[: q.break_frame], a.video[q.break_frame :]]))


@pytest.mark.parametrize("statistic", ["whole movie", "after the break"])
def test_content_only_scores_get_exactly_half(quads, statistic):
    """Any per-frame statistic summed over a movie ties on every quadruplet: exact integer sums of intensity."""
    def score(movie, b):
        frames = movie.video if statistic == "whole movie" else movie.video[b:]
        return int(frames.to(torch.int64).sum())  # exact: no rounding can break the tie

    for prop in PROPERTIES:
        group = [q for q in quads if q.property == prop]
        outcomes = [quad_outcome(score(q.movies[0], q.break_frame) + score(q.movies[1], q.break_frame),
                                 score(q.movies[2], q.break_frame) + score(q.movies[3], q.break_frame))
                    for q in group]
        assert len(group) == N and sum(outcomes) / len(outcomes) == 0.5


def by_property(quads, prop):
    return [q for q in quads if q.property == prop]


def test_permanence_objects_vanish_or_appear(quads):
    for q in by_property(quads, "permanence"):
        b, (a, empty, c, d) = q.break_frame, q.movies
        assert a.visible[:b].max() > 0 and a.visible[b + 1 :].max() > 0 and a.visible[b] == 0  # hidden at b
        assert (empty.look == -1).all()
        assert c.visible[:b].max() > 0 and (c.look[b:] == -1).all()  # went behind the screen, never came out
        assert (d.look[:b] == -1).all() and d.visible[b:].max() > 0  # came out, never went in


def test_continuity_objects_teleport_in_view(quads):
    for q in by_property(quads, "continuity"):
        b = q.break_frame
        for m in q.movies[:2]:  # possible: one row, steps of the constant speed
            assert m.centre[:, 1].unique().numel() == 1
        step = (q.movies[0].centre[1, 0] - q.movies[0].centre[0, 0]).abs()
        for m in q.movies[2:]:
            jump = (m.centre[b] - m.centre[b - 1]).abs()
            assert jump[1] > 2 * EXTENT * 2.0 and jump[0] == pytest.approx(float(step))
            assert m.visible[b - 1] > 0 and m.visible[b] > 0  # in view on both sides of the jump


def test_constancy_objects_change_behind_the_screen(quads):
    for q in by_property(quads, "constancy"):
        b, (a, other, c, d) = q.break_frame, q.movies
        assert a.look.unique().numel() == 1 and other.look.unique().numel() == 1 and a.look[0] != other.look[0]
        assert a.visible[b] == 0 and other.visible[b] == 0
        assert torch.equal(a.video[b], other.video[b])  # the swap frame shows the screen only: seamless
        for m in (c, d):
            assert m.look[b - 1] != m.look[b] and torch.equal(m.centre, a.centre)


def test_dynamics_objects_change_speed_without_cause(quads):
    for q in by_property(quads, "dynamics"):
        b = q.break_frame
        speeds = [m.centre[1:, 0] - m.centre[:-1, 0] for m in q.movies]  # (T - 1,) per movie
        for v in speeds[:2]:
            torch.testing.assert_close(v, v[:1].expand_as(v))
        for v, m in zip(speeds[2:], q.movies[2:]):
            ratio = (v[b] / v[b - 2]).abs()
            assert max(ratio, 1 / ratio) >= 2.5 - 1e-9 and m.visible[b] > 0


def test_quadruplets_and_training_clips_are_deterministic():
    one, two = make_quadruplet("dynamics", 3, 5, T, S), make_quadruplet("dynamics", 3, 5, T, S)
    assert all(torch.equal(x.video, y.video) for x, y in zip(one.movies, two.movies))
    assert not torch.equal(one.movies[0].video, make_quadruplet("dynamics", 4, 5, T, S).movies[0].video)
    data = PhysicsVideos(4, num_frames=T, size=S, seed=1)
    item = data[2]
    assert item["video"].shape == (T, S, S, 3) and item["video"].dtype == torch.uint8 and item["index"] == 2
    assert torch.equal(item["video"], PhysicsVideos(4, num_frames=T, size=S, seed=1)[2]["video"])
    assert not torch.equal(data[0]["video"], data[1]["video"])
    with pytest.raises(IndexError):
        data[4]


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(ConfigError, match="'gravity'"):
        make_quadruplet("gravity", 0, 0)
    with pytest.raises(ConfigError, match="16"):
        make_quadruplet("permanence", 0, 0, num_frames=16, size=16)
    with pytest.raises(ConfigError, match="0"):
        PhysicsVideos(0)


def test_written_quadruplets_decode_to_the_rendered_frames(tmp_path):
    quads = [make_quadruplet(p, 0, 0, T, S) for p in PROPERTIES]
    csv_path = write_quadruplets(tmp_path, quads)
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == CSV_HEADER and len(rows) == 1 + len(PROPERTIES)
    for row, q in zip(rows[1:], quads):
        assert row[0] == q.property and int(row[5]) == q.break_frame
        for name, movie in zip(row[1:5], q.movies):
            assert not name.startswith("/")
            frames = decode_frames(str(tmp_path / name), list(range(T)))
            assert torch.equal(frames, movie.video)  # lossless: the balance holds for the files too
