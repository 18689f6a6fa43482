"""Violation-of-expectation scoring: the CSV reader's errors, the quadruplet rule, Wilson intervals, and a random
model at chance on the physics quadruplets."""

from __future__ import annotations

import copy

import pytest
import torch

from vjepa.core.errors import DataError
from vjepa.data.physics import PROPERTIES, make_quadruplet, make_quadruplets
from vjepa.data.physics_files import write_quadruplets
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.models.registry import create_predictor
from vjepa.surprise.score import SurpriseSettings
from vjepa.surprise.voe import (
    QuadScores,
    accuracy_rows,
    evaluate_quads_csv,
    quad_outcome,
    read_quads_csv,
    score_quadruplets,
    wilson_interval,
)

HEADER = "property,possible_a,possible_b,impossible_c,impossible_d,break_frame\n"
ENC = EncoderConfig(embed_dim=16, depth=1, num_heads=2, patch_size=16, tubelet_size=2, num_frames=4, img_size=32)
SETTINGS = SurpriseSettings(frame_step=1, window=4, stride=2, context_frames=(2,), batch_size=64)


def tiny_model(seed: int = 0):
    torch.manual_seed(seed)
    encoder = VideoEncoder(ENC).eval()
    predictor = create_predictor(ENC, depth=1, embed_dim=16, num_heads=2, zero_init_mask_tokens=False).eval()
    return encoder, predictor, copy.deepcopy(encoder)


def test_surprise_voe_rule_and_ties():
    assert quad_outcome(1.0, 2.0) == 1.0 and quad_outcome(2.0, 1.0) == 0.0 and quad_outcome(1.0, 1.0) == 0.5
    mean = torch.tensor([[1.0], [1.0], [3.0], [0.5]])  # A + B = 2 < C + D = 3.5: right
    peak = torch.tensor([[1.0], [2.0], [1.0], [2.0]])  # 3 = 3: a tie
    rows = accuracy_rows([QuadScores("permanence", (2,), mean, peak)])
    assert [(r.reduction, r.accuracy, r.n) for r in rows] == [("mean", 1.0, 1), ("max", 0.5, 1)]


def test_surprise_wilson_interval():
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    assert wilson_interval(0, 10)[0] == pytest.approx(0.0, abs=1e-12)
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("line, message", [
    ("permanence,a.mp4,b.mp4,c.mp4,7\n", ":2: 5 columns"),
    ("permanence,a.mp4,b.mp4,c.mp4,missing.mp4,7\n", ":2: movie"),
    ("permanence,a.mp4,b.mp4,c.mp4,d.mp4,seven\n", ":2: break_frame 'seven'"),
])
def test_surprise_csv_errors_name_file_and_line(tmp_path, line, message):
    for name in "abcd":
        (tmp_path / f"{name}.mp4").write_bytes(b"x")
    path = tmp_path / "quads.csv"
    path.write_text(HEADER + line)
    with pytest.raises(DataError) as info:
        read_quads_csv(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value) and "\n" not in str(info.value)


def test_surprise_csv_missing_file_and_bad_header(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_quads_csv(tmp_path / "none.csv")
    (tmp_path / "q.csv").write_text("a,b\n")
    with pytest.raises(DataError, match=":1: the header"):
        read_quads_csv(tmp_path / "q.csv")


def test_surprise_csv_round_trip_matches_in_memory_scores(tmp_path):
    quads = [make_quadruplet(p, 1, 0, 8, 32) for p in PROPERTIES]
    csv_path = write_quadruplets(tmp_path, quads)
    model = tiny_model()
    from_files = evaluate_quads_csv(csv_path, *model, settings=SETTINGS)
    in_memory = score_quadruplets([(q.property, [m.video for m in q.movies]) for q in quads], *model,
                                  settings=SETTINGS)
    assert from_files.rows == in_memory.rows  # lossless files: the same frames, the same scores
    for a, b in zip(from_files.quads, in_memory.quads):
        torch.testing.assert_close(a.mean, b.mean, rtol=0, atol=0)


def test_surprise_random_model_is_at_chance():
    """100 quadruplets per property (8 frames of 32 px, 3 windows each): a random model cannot tell the sides
    apart beyond noise with the mean rule, so 50 % lies in each 95 % interval (the seeds are fixed: the test is
    deterministic). The max rule is only balanced where both halves of every movie hold the same content; for
    permanence (A: object in both halves, B: in none) max(C) + max(D) >= max(A) + max(B) for any surprise driven
    by content, so even a random model scores above chance there (see vjepa.surprise.voe)."""
    quads = make_quadruplets(100, seed=11, num_frames=8, size=32)
    report = score_quadruplets([(q.property, [m.video for m in q.movies]) for q in quads], *tiny_model(),
                               settings=SETTINGS)
    for prop in PROPERTIES:
        for reduction in ("mean", "max") if prop != "permanence" else ("mean",):
            row = report.row(prop, 2, reduction)
            assert row.n == 100 and row.ci_low <= 0.5 <= row.ci_high, row
    assert report.row("permanence", 2, "max").accuracy > 0.5  # the known bias of the max rule, documented
