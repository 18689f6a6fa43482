"""The analytic memory estimate: its parameter counts are those of the real models, and activation checkpointing
shrinks only the activation term."""

from __future__ import annotations

import pytest

from vjepa.models.registry import count_parameters, create_predictor, encoder_config
from vjepa.tools.memory import estimate_memory_gb, predictor_parameters


@pytest.mark.parametrize("arch,depth,dim", [("vit_tiny", 2, 96), ("vit_small", 3, 384)])
def test_parameter_counts_match_the_models(arch, depth, dim):
    enc = encoder_config(arch)
    pred = create_predictor(enc, depth=depth, embed_dim=dim, num_mask_tokens=2)
    assert predictor_parameters(enc.embed_dim, depth, dim, 2) == sum(p.numel() for p in pred.parameters())
    est = estimate_memory_gb(arch, 2, [50, 20], [100, 150], pred_depth=depth, pred_dim=dim)
    p_enc = count_parameters(arch)
    p_all = p_enc + predictor_parameters(enc.embed_dim, depth, dim, 2)
    assert est["params_m"] == pytest.approx(p_all / 1e6)
    assert est["states_gb"] == pytest.approx((18 * p_all + 4 * p_enc) / 1e9)


def test_checkpointing_shrinks_activations_only():
    full = estimate_memory_gb("vit_huge", 24, [358, 86], [751, 1101])
    ckpt = estimate_memory_gb("vit_huge", 24, [358, 86], [751, 1101], checkpointing=True)
    assert ckpt["states_gb"] == full["states_gb"] and ckpt["activations_gb"] < full["activations_gb"] / 4
    assert full["total_gb"] == pytest.approx(full["states_gb"] + full["activations_gb"])
