"""Top-1 / top-5 / mean per-class accuracy, the confusion matrix and its plot."""

from __future__ import annotations

import pytest
import torch

from vjepa.core.errors import DataError
from vjepa.eval.metrics import classification_metrics, confusion_matrix, per_class_accuracy, plot_confusion


def _one_hot_probs(predictions: list[int], num_classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(predictions), num_classes).float()


def test_top1_and_mean_class_accuracy_on_an_imbalanced_set():
    # class 0: 4 samples, 3 right; class 1: 1 sample, right; class 2: 1 sample, wrong.
    labels = torch.tensor([0, 0, 0, 0, 1, 2])
    probs = _one_hot_probs([0, 0, 0, 1, 1, 0], 3)
    m = classification_metrics(probs, labels, 3)
    assert m["top1"] == pytest.approx(100 * 4 / 6)
    assert m["mean_class_acc"] == pytest.approx(100 * (0.75 + 1.0 + 0.0) / 3)
    assert m["top5"] == 100.0  # C <= 5: every label is among the top min(5, C)


def test_top5_counts_labels_ranked_two_to_five():
    torch.manual_seed(0)
    probs = torch.rand(8, 10)
    labels = probs.argsort(dim=1, descending=True)[:, 4]  # always rank 5
    labels[0] = probs[0].argsort(descending=True)[5]  # rank 6 for one sample
    m = classification_metrics(probs, labels, 10)
    assert m["top1"] == 0.0
    assert m["top5"] == pytest.approx(100 * 7 / 8)


def test_absent_classes_are_left_out_of_the_mean():
    labels = torch.tensor([0, 0, 2])
    m = classification_metrics(_one_hot_probs([0, 1, 2], 4), labels, 4)
    assert m["mean_class_acc"] == pytest.approx(100 * (0.5 + 1.0) / 2)
    recall = per_class_accuracy(confusion_matrix(torch.tensor([0, 1, 2]), labels, 4))
    assert recall[1].isnan() and recall[3].isnan()


def test_confusion_matrix_rows_are_true_classes():
    cm = confusion_matrix(torch.tensor([1, 1, 0, 2]), torch.tensor([0, 1, 0, 0]), 3)
    assert cm.tolist() == [[1, 1, 1], [0, 1, 0], [0, 0, 0]]
    assert cm.dtype == torch.int64


@pytest.mark.parametrize("labels", [torch.tensor([0, 3]), torch.tensor([-1, 0])])
def test_out_of_range_labels_are_user_errors(labels):
    with pytest.raises(DataError, match="num_classes|must be in"):
        classification_metrics(torch.rand(2, 3), labels, 3)
    with pytest.raises(DataError, match="labels must be in"):
        confusion_matrix(torch.tensor([0, 0]), labels, 3)


def test_shape_mismatch_and_empty_set_are_user_errors():
    with pytest.raises(DataError, match="expected probs"):
        classification_metrics(torch.rand(2, 4), torch.tensor([0, 1]), 3)
    with pytest.raises(DataError, match="empty"):
        classification_metrics(torch.rand(0, 3), torch.zeros(0, dtype=torch.long), 3)


def test_plot_confusion_writes_a_png(tmp_path):
    cm = confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3)
    path = plot_confusion(cm, tmp_path / "sub" / "cm.png", class_names=["a", "b", "c"])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(DataError, match="class names"):
        plot_confusion(cm, tmp_path / "x.png", class_names=["a"])
