"""Index formats (CSV, class folders, single files) and dataset mixing."""

import os
from collections import Counter

import pytest

from vjepa.core.errors import DataError
from vjepa.data.index import IndexEntry, MixedIndex, class_names, read_index


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return str(path)


def test_csv_official_format_and_paths_with_spaces(tmp_path):
    index = tmp_path / "train.csv"
    index.write_text("/data/a.mp4 0\n\n/data/my clip.mp4 3\nrel/b.mkv\t7\n/data/c.avi  12  \n")
    entries = read_index(str(index))
    assert entries == [IndexEntry("/data/a.mp4", 0), IndexEntry("/data/my clip.mp4", 3),
                       IndexEntry(os.path.join(str(tmp_path), "rel/b.mkv"), 7), IndexEntry("/data/c.avi", 12)]


@pytest.mark.parametrize("text, match", [
    ("/data/a.mp4 0\n/data/b.mp4\n", r"train\.csv:2: no label"),
    ("path label\n/data/a.mp4 0\n", r"train\.csv:1: label 'label' is not an integer"),
    ("/data/a.mp4 1.5\n", r"train\.csv:1: label '1.5'"),
    ("\n\n", "empty index"),
])
def test_csv_errors_name_file_and_line(tmp_path, text, match):
    index = tmp_path / "train.csv"
    index.write_text(text)
    with pytest.raises(DataError, match=match) as info:
        read_index(str(index))
    assert "\n" not in str(info.value)


def test_missing_index_and_binary_csv(tmp_path):
    with pytest.raises(DataError, match="index not found"):
        read_index(str(tmp_path / "nope.csv"))
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(DataError, match="not UTF-8"):
        read_index(str(tmp_path / "bin.csv"))


def test_class_folders_sorted_labels(tmp_path):
    root = tmp_path / "videos"
    b1 = _touch(root / "bird" / "x2.mp4")
    b0 = _touch(root / "bird" / "sub" / "x1.webm")
    c0 = _touch(root / "cat" / "y.jpg")
    _touch(root / "cat" / "notes.txt")  # not media: ignored
    _touch(root / ".hidden" / "z.mp4")  # hidden: not a class
    (root / "dog").mkdir()  # an empty class keeps its label slot
    a0 = _touch(root / "ant" / "z.avi")
    assert class_names(str(root)) == ["ant", "bird", "cat", "dog"]
    assert read_index(str(root)) == [IndexEntry(a0, 0), IndexEntry(b0, 1), IndexEntry(b1, 1), IndexEntry(c0, 2)]


def test_flat_folder_single_file_and_empty_folder(tmp_path):
    a = _touch(tmp_path / "flat" / "a.mp4")
    b = _touch(tmp_path / "flat" / "b.png")
    assert read_index(str(tmp_path / "flat")) == [IndexEntry(a, 0), IndexEntry(b, 0)]
    assert read_index(a) == [IndexEntry(a, 0)]
    (tmp_path / "none").mkdir()
    with pytest.raises(DataError, match="empty index"):
        read_index(str(tmp_path / "none"))


def test_mixed_index_natural_proportions_is_a_concatenation():
    mix = MixedIndex([3, 2])
    assert len(mix) == 5
    assert [mix.locate(p) for p in range(5)] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    assert [mix.flat(p) for p in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(IndexError):
        mix.locate(5)


def test_mixed_index_weighted_with_replacement_deterministic():
    mix = MixedIndex([10, 1000], weights=[3.0, 1.0], seed=7)
    draws = [mix.locate(p) for p in range(len(mix))]
    assert draws == [MixedIndex([10, 1000], [3.0, 1.0], seed=7).locate(p) for p in range(len(mix))]
    share = sum(d == 0 for d, _ in draws) / len(draws)
    assert abs(share - 0.75) < 0.05  # dataset 0 is 1 % of the samples but gets 3/4 of the draws
    counts = Counter(draws)
    assert max(counts.values()) > 1  # with replacement: small dataset samples repeat
    assert all(0 <= i < (10, 1000)[d] for d, i in draws)
    assert [mix.locate(p, epoch=1) for p in range(50)] != draws[:50]  # a new epoch draws anew
    assert [MixedIndex([10, 1000], [3.0, 1.0], seed=8).locate(p) for p in range(50)] != draws[:50]


def test_mixed_index_zero_weight_and_errors():
    mix = MixedIndex([5, 5, 5], weights=[0.0, 1.0, 0.0], seed=0)
    assert {mix.locate(p)[0] for p in range(len(mix))} == {1}
    assert len(MixedIndex([5, 5], weights=[1, 1], length=100)) == 100
    with pytest.raises(DataError, match="weights"):
        MixedIndex([5, 5], weights=[1.0])
    with pytest.raises(DataError, match="weights"):
        MixedIndex([5, 5], weights=[0.0, 0.0])
    with pytest.raises(DataError, match="sizes"):
        MixedIndex([5, 0])
