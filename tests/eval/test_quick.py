"""Quick protocols: pooled features, linear probe and k-NN with selection on a training hold-out only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vjepa.core.errors import ConfigError
from vjepa.eval.features import FeatureSet
from vjepa.eval.lowshot import stratified_subset
from vjepa.eval.quick import check_holdout_sizes, holdout_split, knn_probe, knn_probs, linear_probe, pooled


def _clusters(n: int, seed: int, num_classes: int = 3, tokens: int = 4, dim: int = 8, noise: float = 1.0
              ) -> FeatureSet:
    """Gaussian clusters in the token mean: separable after pooling."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(num_classes, dim, generator=torch.Generator().manual_seed(123)) * 2.0
    labels = torch.arange(n) % num_classes
    x = centres[labels][:, None, :] + noise * torch.randn(n, tokens, dim, generator=g)
    return FeatureSet([x], labels, {})


def test_pooled_is_the_token_mean():
    fs = _clusters(6, 0)
    torch.testing.assert_close(pooled(fs), fs.views[0].mean(dim=1))
    assert pooled(fs).shape == (6, 8)


def test_holdout_is_stratified_and_disjoint():
    labels = torch.tensor([0] * 10 + [1] * 5 + [2])
    fit, hold = holdout_split(labels, 0.2, seed=0)
    assert not set(fit) & set(hold) and len(fit) + len(hold) == 16
    assert np.bincount(labels.numpy()[hold], minlength=3).tolist() == [2, 1, 0]  # the lone class-2 sample stays
    with pytest.raises(ConfigError, match="holdout_fraction"):
        holdout_split(labels, 0.9, seed=0)


def _garbage_labels(fs: FeatureSet) -> FeatureSet:
    return fs.with_labels(torch.randint(0, 3, (fs.num_samples,), generator=torch.Generator().manual_seed(7)))


def test_linear_probe_selects_on_train_holdout_only():
    train, val = _clusters(60, 1), _clusters(30, 2)
    kwargs = dict(lrs=(1e-3, 1e-1), weight_decays=(0.0, 1e-2), epochs=8, batch_size=64)
    good = linear_probe(train, val, 3, **kwargs)
    assert good["metrics"]["top1"] >= 90.0
    assert set(good["selected"]) == {"lr", "weight_decay"} and len(good["holdout"]) == 4
    assert good["num_fit"] + good["num_holdout"] == 60 and good["num_val"] == 30
    bad = linear_probe(train, _garbage_labels(val), 3, **kwargs)
    # Val labels never enter the selection: same scores, same choice; only the final metrics move.
    assert bad["holdout"] == good["holdout"] and bad["selected"] == good["selected"]
    assert bad["metrics"]["top1"] < good["metrics"]["top1"]


def test_knn_probe_selects_on_train_holdout_only():
    train, val = _clusters(60, 1, noise=2.0), _clusters(30, 2, noise=2.0)
    good = knn_probe(train, val, 3, ks=(1, 5, 20))
    assert good["metrics"]["top1"] >= 70.0 and good["selected"]["k"] in (1, 5, 20)
    bad = knn_probe(train, _garbage_labels(val), 3, ks=(1, 5, 20))
    assert bad["holdout"] == good["holdout"] and bad["selected"] == good["selected"]
    with pytest.raises(ConfigError, match="ks"):
        knn_probe(train, val, 3, ks=())


def test_knn_votes_are_weighted_by_cosine_similarity():
    bank = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    probs = knn_probs(bank, torch.tensor([0, 1, 1]), torch.tensor([[2.0, 0.1]]), k=2, num_classes=2)
    # Neighbours: [1, 0] (class 0, cos ~1.0) and [1, 1] (class 1, cos ~0.74): class 0 dominates.
    assert probs.shape == (1, 2) and probs[0, 0] > 0.95 and probs.sum().item() == pytest.approx(1.0)
    assert torch.equal(knn_probs(bank, torch.tensor([0, 1, 1]), bank, k=1, num_classes=2).argmax(1),
                       torch.tensor([0, 1, 1]))


def test_multi_view_val_features_average_the_views():
    train, val = _clusters(30, 1), _clusters(12, 2)
    two = FeatureSet([val.views[0], val.views[0] + 0.01], val.labels, {})
    out = knn_probe(train, two, 3, ks=(5,))
    assert out["num_val"] == 12 and out["metrics"]["top1"] >= 90.0


def test_a_training_set_too_small_to_hold_out_is_one_line():
    one_each = _clusters(3, 0)  # 1 sample per class: nothing to hold out
    for probe in (knn_probe, linear_probe):
        with pytest.raises(ConfigError, match=r"the 3 training samples have at most 1 per class: .* hold") as e:
            probe(one_each, _clusters(6, 1), 3)
        assert "\n" not in str(e.value)
    check_holdout_sizes([0, 0, 1, 1], "knn")  # 2 per class: fine
    with pytest.raises(ConfigError, match=r"label_fraction 0\.2 of the 14 .* keeps 1 per class \(2 in all\).*"
                                          r"label_fraction >= 0\.215"):
        check_holdout_sizes([0] * 7 + [1] * 7, "linear", label_fraction=0.2)
    assert len(stratified_subset([0] * 7 + [1] * 7, 0.215, 0)) == 4  # the suggested fraction is enough
