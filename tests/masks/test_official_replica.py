"""Our block sampler, fed the official collator's random streams, reproduces the official token-count statistics
exactly (mean, std, min and max), untruncated and after the official batch-24 truncation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support.official_replica import OfficialMaskStream

from vjepa.masks import VITL16_MASKS

STATS = json.loads((Path(__file__).parents[1] / "fixtures/official_vjepa_tiny/mask_collator_stats_vitl16_16x224x224.json")
                   .read_text())


def counts(batch_size: int, calls: int) -> dict:
    stream = OfficialMaskStream(VITL16_MASKS, tuple(STATS["setup"]["token_grid_THW"]), seed=0)
    out = {i: {"context_tokens": [], "target_tokens": []} for i in range(len(VITL16_MASKS))}
    for _ in range(calls):
        enc, pred = stream(batch_size)
        for i, (e, p) in enumerate(zip(enc, pred)):
            out[i]["context_tokens"].append(e.shape[1])
            out[i]["target_tokens"].append(p.shape[1])
    return out


@pytest.mark.parametrize("section,batch_size,calls", [("per_sample_untruncated", 1, 2000),
                                                      ("batch24_truncated", 24, 84)])
def test_official_statistics_reproduced_exactly(section, batch_size, calls):
    ours = counts(batch_size, calls)
    for i, expected in enumerate(STATS[section]["per_mask_config"]):
        for kind in ("context_tokens", "target_tokens"):
            values, ref = np.array(ours[i][kind]), expected[kind]
            assert len(values) == ref["n"]
            assert values.mean() == pytest.approx(ref["mean"], rel=1e-12)
            assert values.std() == pytest.approx(ref["std"], rel=1e-9)
            assert (values.min(), values.max()) == (ref["min"], ref["max"])
