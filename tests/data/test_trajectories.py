"""The trajectory format: action-world episodes written and read back as windows; every kind of bad episode is
named with its reason and skipped; a source with no good episode is a one-line DataError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vjepa.core.errors import DataError
from vjepa.data.action_world import ActionWorld
from vjepa.data.trajectories import (
    TrajectoryWindows,
    normalize_frames,
    scan_episodes,
    write_episode,
    write_world_episodes,
)

WORLD = ActionWorld(size=32, state_dim=3)  # small frames keep encoding fast
T = 8


def write(folder: Path, name: str, index: int = 0, with_actions: bool = True, frames: int = T) -> dict:
    ep = WORLD.episode(seed=0, index=index, num_frames=frames)
    write_episode(folder, name, ep["frames"], ep["states"], ep["actions"] if with_actions else None)
    return ep


def test_written_episodes_read_back_as_windows(tmp_path):
    ep = write(tmp_path, "a")
    write(tmp_path, "b", index=1, with_actions=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.actions.npy", "a.mp4", "a.states.npy", "b.mp4",
                                                            "b.states.npy"]  # no temporary files left
    data = TrajectoryWindows(tmp_path, num_frames=4, stride=2)
    assert len(data) == 2 * 3 and data.skipped == []
    item = data[1]  # episode a, frames 2..5
    assert item["episode"] == "a" and item["start"] == 2
    assert item["frames"].shape == (3, 4, 32, 32) and item["frames"].dtype == torch.float32
    torch.testing.assert_close(item["states"], ep["states"][2:6])
    torch.testing.assert_close(item["actions"], ep["actions"][2:5])
    expected = normalize_frames(ep["frames"][2:6]).movedim(0, 1)
    assert (item["frames"] - expected).abs().mean() < 0.05  # H.264 is lossy, but nearly so here


def test_without_actions_they_are_the_state_differences(tmp_path):
    ep = write(tmp_path, "b", with_actions=False)
    [episode], _ = scan_episodes(tmp_path)
    np.testing.assert_allclose(episode.actions, np.diff(ep["states"].numpy(), axis=0), atol=1e-6)


def test_world_episodes_are_written_with_their_actions(tmp_path):
    videos = write_world_episodes(WORLD, tmp_path, count=2, num_frames=5, seed=3)
    assert [v.name for v in videos] == ["episode_00000.mp4", "episode_00001.mp4"]
    good, bad = scan_episodes(tmp_path)
    assert bad == [] and [e.num_frames for e in good] == [5, 5]
    np.testing.assert_array_equal(good[1].actions, WORLD.episode(3, 1, 5)["actions"].numpy())


def test_a_csv_lists_episodes_relative_to_its_folder(tmp_path):
    write(tmp_path / "eps", "a")
    write(tmp_path / "eps", "b", index=1, with_actions=False)
    csv = tmp_path / "list.csv"
    csv.write_text("video,states,actions\neps/a.mp4,eps/a.states.npy,eps/a.actions.npy\n"
                   "eps/b.mp4,eps/b.states.npy,\n")
    good, bad = scan_episodes(csv)
    assert [e.name for e in good] == ["a", "b"] and bad == []


def bad_reason(tmp_path: Path, name: str) -> str:
    write(tmp_path, "good", index=9)
    data = TrajectoryWindows(tmp_path, num_frames=4)
    assert [e.name for e in data.episodes] == ["good"]
    [bad] = data.skipped
    assert bad.name == name and "\n" not in bad.reason
    return bad.reason


def test_an_unreadable_video_is_skipped(tmp_path):
    write(tmp_path, "x")
    (tmp_path / "x.mp4").write_bytes(b"not a video at all" * 10)
    assert bad_reason(tmp_path, "x").startswith("unreadable video")


def test_a_missing_states_file_is_skipped(tmp_path):
    write(tmp_path, "x")
    (tmp_path / "x.states.npy").unlink()
    assert "unreadable states" in bad_reason(tmp_path, "x")


def test_frames_and_states_of_different_lengths_are_skipped(tmp_path):
    ep = write(tmp_path, "x")
    np.save(tmp_path / "x.states.npy", ep["states"][:-1].numpy())
    np.save(tmp_path / "x.actions.npy", ep["actions"][:-1].numpy())
    assert bad_reason(tmp_path, "x") == f"length mismatch: the video has {T} frames but the states {T - 1} rows"


def test_actions_of_the_wrong_length_are_skipped(tmp_path):
    ep = write(tmp_path, "x")
    np.save(tmp_path / "x.actions.npy", ep["actions"][:-2].numpy())
    assert bad_reason(tmp_path, "x").startswith("length mismatch: actions of shape (5, 3)")


@pytest.mark.parametrize("what, value", [("states", np.nan), ("actions", np.inf)])
def test_nan_or_inf_values_are_skipped(tmp_path, what, value):
    ep = write(tmp_path, "x")
    array = ep[what].numpy().copy()
    array[3, 1] = value
    np.save(tmp_path / f"x.{what}.npy", array)
    assert bad_reason(tmp_path, "x") == f"NaN or inf in the {what} (first at row 3)"


def test_too_short_episodes_are_skipped(tmp_path):
    write(tmp_path, "x", frames=3)
    assert bad_reason(tmp_path, "x") == "too short: 3 frames, a window needs 4"


def test_a_source_of_only_bad_episodes_is_one_line_data_error(tmp_path):
    write(tmp_path, "x", frames=3)
    with pytest.raises(DataError) as info:
        TrajectoryWindows(tmp_path, num_frames=4)
    message = str(info.value)
    assert message.startswith(f"{tmp_path}: no usable episode (1 bad; first: x: too short") and "\n" not in message
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no usable episode \\(0 bad\\)"):
        scan_episodes(empty)
    with pytest.raises(DataError, match="no such folder or CSV"):
        scan_episodes(tmp_path / "missing")

