"""Keyed randomness: a ``torch.Generator`` that is a pure function of a tuple of integers.

Data order, augmentations, synthetic clips and load retries all draw from generators keyed this way, so results
never depend on the number of loader workers or on what ran before, and a resumed run redraws the same numbers.
"""

from __future__ import annotations

import numpy as np
import torch


def keyed_generator(*key: int) -> torch.Generator:
    """A generator seeded from non-negative integers through numpy's SeedSequence hashing (nearby keys give
    unrelated streams). Callers put a constant tag first to keep their streams apart."""
    state = np.random.SeedSequence(list(key)).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state >> np.uint64(1)))
