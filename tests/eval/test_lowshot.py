"""Low-shot splits: stratified, seeded, nested across fractions, disjoint from validation; split files."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vjepa.core.errors import ConfigError, DataError
from vjepa.eval.lowshot import lowshot_runs, make_splits, mean_std, read_splits, stratified_subset, write_splits

# Imbalanced classes: 100, 40, 7 and 1 samples, shuffled.
LABELS = np.random.default_rng(0).permutation(np.repeat([0, 1, 2, 3], [100, 40, 7, 1]))


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.5, 1.0])
def test_per_class_counts_follow_the_documented_rounding(fraction):
    subset = stratified_subset(LABELS, fraction, seed=0)
    counts = np.bincount(LABELS[subset], minlength=4)
    expected = [min(n, max(1, math.floor(fraction * n + 0.5))) for n in (100, 40, 7, 1)]
    assert counts.tolist() == expected
    assert len(np.unique(subset)) == len(subset) and np.all(np.diff(subset) > 0)


def test_seeded_and_nested_across_fractions():
    a = stratified_subset(LABELS, 0.1, seed=3)
    assert np.array_equal(a, stratified_subset(LABELS, 0.1, seed=3))
    assert not np.array_equal(a, stratified_subset(LABELS, 0.1, seed=4))
    small, large = stratified_subset(LABELS, 0.05, seed=3), stratified_subset(LABELS, 0.5, seed=3)
    assert set(small) <= set(a) <= set(large)


def test_splits_never_touch_validation():
    # A validation part carved from the same pool is excluded; splits index the training set only.
    val = stratified_subset(LABELS, 0.2, seed=99)
    for split in make_splits(LABELS, 0.5, num_splits=3, seed=0, exclude=val):
        assert not set(split) & set(val)
        assert split.max() < len(LABELS)
    splits = make_splits(LABELS, 0.1, num_splits=3, seed=0)
    assert len({tuple(s) for s in splits}) == 3
    assert np.array_equal(splits[1], stratified_subset(LABELS, 0.1, seed=1))


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_split_files_round_trip(tmp_path, suffix):
    splits = make_splits(LABELS, 0.1, num_splits=2, seed=5)
    meta = {"fraction": 0.1, "seed": 5}
    path = write_splits(tmp_path / f"splits{suffix}", splits, meta)
    back, back_meta = read_splits(path)
    assert back_meta == meta
    assert len(back) == 2 and all(np.array_equal(x, y) for x, y in zip(back, splits))


def test_bad_inputs_are_user_errors(tmp_path):
    with pytest.raises(ConfigError, match="fraction"):
        stratified_subset(LABELS, 0.0, seed=0)
    with pytest.raises(ConfigError, match="num_splits"):
        make_splits(LABELS, 0.1, num_splits=0)
    bad = tmp_path / "bad.json"
    bad.write_text('{"splits": []}')
    with pytest.raises(DataError, match="not a low-shot split file"):
        read_splits(bad)
    with pytest.raises(DataError, match="no such"):
        read_splits(tmp_path / "missing.json")


def test_mean_std_and_runs_summary(tmp_path):
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_std([5.0]) == (5.0, 0.0)
    summary = lowshot_runs(LABELS, 0.1, 3, seed=0, run=lambda idx: {"top1": float(len(idx)), "k": 1.0},
                           split_file=tmp_path / "s.json")
    assert summary["top1_mean"] == float(len(stratified_subset(LABELS, 0.1, 0))) and summary["top1_std"] == 0.0
    assert len(summary["per_split"]) == 3 and len(read_splits(tmp_path / "s.json")[0]) == 3
